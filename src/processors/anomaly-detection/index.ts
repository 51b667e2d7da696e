export { alertIdOf, type BurstRule, severityOf } from './bursts.ts';
export { duplicateKeyOf, normaliseContent, type SenderMessage } from './processor.ts';
export {
  ANOMALY_DEFAULT_COMMIT_INTERVAL_MS,
  ANOMALY_DETECTION_APPLICATION_ID,
  type AnomalyDetectionDeps,
  type AnomalyDetectionOptions,
  anomalyDetectionTopology,
  createAnomalyDetection,
} from './topology.ts';

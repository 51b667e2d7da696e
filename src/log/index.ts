export {
  type EmbeddedLog,
  type EmbeddedLogOptions,
  type FsyncPolicy,
  type MaintenanceReport,
  openEmbeddedLog,
  type RecoveryReport,
} from './embedded/index.ts';
export { KafkaLog, type KafkaLogOptions, openKafkaLog } from './kafka/index.ts';
export { murmur2, partitionForKey } from './partitioner.ts';
export * from './types.ts';

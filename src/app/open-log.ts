import type { Config } from '../config/index.ts';
import { type Log, openEmbeddedLog, openKafkaLog } from '../log/index.ts';
import { createLogger } from './logger.ts';

/**
 * The Log the configuration asks for: the embedded log under DATA_DIR, or Apache Kafka. Every
 * recovery action of the embedded log (a torn tail cut, a partition refused or quarantined) is
 * logged at warn. `readOnly` opens the embedded log for reading only (commands that only read).
 */
export async function openLog(config: Config, options: { readOnly?: boolean } = {}): Promise<Log> {
  if (config.log.kind === 'embedded') {
    const logger = createLogger(config.logLevel);
    return openEmbeddedLog({
      dataDir: config.dataDir,
      fsync: config.log.fsync,
      fsyncIntervalMs: config.log.fsyncIntervalMs,
      onCorruption: config.log.onCorruption,
      onRecoveryEvent: (e) => logger.warn(`embedded log recovery: ${e.message}`),
      ...(options.readOnly === true ? { readOnly: true } : {}),
    });
  }
  const { brokers, clientId, compression, replicationFactor, minInsyncReplicas, fetch, tls, sasl } =
    config.log;
  return openKafkaLog({
    brokers,
    clientId,
    compression,
    replicationFactor,
    minInsyncReplicas,
    fetch,
    tls,
    sasl,
  });
}

import type { Config } from '../config/index.ts';
import { type Log, openEmbeddedLog, openKafkaLog } from '../log/index.ts';

/** The Log the configuration asks for: the embedded log under DATA_DIR, or Apache Kafka. */
export async function openLog(config: Config): Promise<Log> {
  if (config.log.kind === 'embedded') {
    return openEmbeddedLog({
      dataDir: config.dataDir,
      fsync: config.log.fsync,
      fsyncIntervalMs: config.log.fsyncIntervalMs,
    });
  }
  return openKafkaLog({ brokers: config.log.brokers, clientId: 'msgtrack' });
}

import type { Config } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { type Log, openEmbeddedLog } from '../log/index.ts';

/** The Log the configuration asks for: the embedded log under DATA_DIR, or Apache Kafka. */
export async function openLog(config: Config): Promise<Log> {
  if (config.log.kind === 'embedded') {
    return openEmbeddedLog({
      dataDir: config.dataDir,
      fsync: config.log.fsync,
      fsyncIntervalMs: config.log.fsyncIntervalMs,
    });
  }
  throw new AppError(
    ErrorCode.CONFIG_INVALID,
    'KAFKA_BROKERS is set, but this build has no Kafka adapter yet: unset it to use the embedded log',
    { context: { variable: 'KAFKA_BROKERS' } },
  );
}

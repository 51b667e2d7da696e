/**
 * The Kafka broker the tests use: KAFKA_TEST_BROKERS (default 127.0.0.1:19092, what
 * `bash scripts/kafka.sh start` gives). Tests that need it FAIL when it does not answer; never skip.
 */

import { isAppError } from '../../../src/errors/index.ts';
import { openKafkaLog } from '../../../src/log/index.ts';

export const brokers = (process.env.KAFKA_TEST_BROKERS ?? '127.0.0.1:19092').split(',').map((b) => b.trim());

let probe: Promise<string | undefined> | undefined;

/** Why the broker is unreachable, or undefined when it answers (probed once per process). */
export function unreachable(): Promise<string | undefined> {
  probe ??= openKafkaLog({ brokers, connectTimeoutMs: 5_000 }).then(
    async (log) => {
      await log.close();
      return undefined;
    },
    (err: unknown) => (isAppError(err) ? err.message : String(err)),
  );
  return probe;
}

/** Throw a clear error when no broker answers. */
export async function requireBroker(): Promise<void> {
  const why = await unreachable();
  if (why !== undefined) {
    throw new Error(
      `no Apache Kafka broker answers at ${brokers.join(',')} (${why}). ` +
        'Start one with `bash scripts/kafka.sh start`, or point KAFKA_TEST_BROKERS at a cluster.',
    );
  }
}

/**
 * The Kafka broker the tests use: KAFKA_TEST_BROKERS (default 127.0.0.1:19092, what
 * `bash scripts/kafka.sh start` gives). Tests that need it FAIL when it does not answer; never skip.
 */

import { isAppError } from '../../../src/errors/index.ts';
import { type Log, openKafkaLog } from '../../../src/log/index.ts';
import { waitUntil } from '../../helpers/wait.ts';

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

export { pollRecords, uniqueName } from '../helpers.ts';

/** scripts/kafka.sh's `log.cleaner.max.compaction.lag.ms`: a compacted topic's segment rolls on an append this long after its first record. */
const COMPACTED_ROLL_MS = 500;
/** How long the broker may take to apply retention or compaction (its cleaner runs on its own schedule). */
const MAINTENANCE_TIMEOUT_MS = 30_000;

/**
 * The conformance suite's `runMaintenance` on a broker that scripts/kafka.sh started: the broker runs
 * retention and compaction by itself, so wait — until `until()` holds (polled, failing after
 * MAINTENANCE_TIMEOUT_MS), or without `until` long enough that the next append rolls the segment.
 */
export async function brokerMaintenance(_log: Log, until?: () => Promise<boolean>): Promise<void> {
  if (until === undefined) {
    await new Promise((r) => setTimeout(r, COMPACTED_ROLL_MS + 100));
    return;
  }
  await waitUntil('the broker to run retention/compaction', MAINTENANCE_TIMEOUT_MS, until, {
    intervalMs: 250,
  });
}

/**
 * The `Log` conformance suite against a real Apache Kafka broker (`bash scripts/kafka.sh start`, or
 * any cluster named by KAFKA_TEST_BROKERS). Without a broker this file FAILS, it never skips.
 *
 * Retention and compaction run in the broker's background threads: scripts/kafka.sh makes them
 * quick (retention checked every 500 ms, compacted topics roll segments after 500 ms, cleaner backoff
 * 200 ms, any dirty ratio cleanable), and `runMaintenance` waits, bounded, for the suite's condition.
 */

import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import { openKafkaLog } from '../../src/log/index.ts';
import { describeLogConformance } from './conformance.ts';

const brokers = (process.env.KAFKA_TEST_BROKERS ?? '127.0.0.1:19092').split(',').map((b) => b.trim());
/** scripts/kafka.sh's `log.cleaner.max.compaction.lag.ms`: a compacted topic's segment rolls on an append this long after its first record. */
const COMPACTED_ROLL_MS = 500;
const MAINTENANCE_TIMEOUT_MS = 30_000;

const unreachable = await openKafkaLog({ brokers, connectTimeoutMs: 5_000 }).then(
  async (log) => {
    await log.close();
    return undefined;
  },
  (err: unknown) => (isAppError(err) ? err.message : String(err)),
);

function noBroker(): Error {
  return new Error(
    `no Apache Kafka broker answers at ${brokers.join(',')} (${unreachable}). ` +
      'Start one with `bash scripts/kafka.sh start`, or point KAFKA_TEST_BROKERS at a cluster.',
  );
}

test('a Kafka broker answers', () => {
  if (unreachable !== undefined) throw noBroker();
});

describeLogConformance('kafka', {
  async makeLog(t) {
    if (unreachable !== undefined) throw noBroker();
    const log = await openKafkaLog({ brokers, clientId: 'conformance' });
    t.after(() => log.close());
    return log;
  },
  async runMaintenance(_log, until) {
    if (until === undefined) {
      await new Promise((r) => setTimeout(r, COMPACTED_ROLL_MS + 100));
      return;
    }
    const deadline = performance.now() + MAINTENANCE_TIMEOUT_MS;
    while (!(await until())) {
      if (performance.now() > deadline) {
        throw new Error(`the broker did not run retention/compaction within ${MAINTENANCE_TIMEOUT_MS} ms`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  },
});

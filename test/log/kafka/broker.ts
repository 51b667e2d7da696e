/**
 * The Kafka broker the tests use: KAFKA_TEST_BROKERS (default 127.0.0.1:19092, what
 * `bash scripts/kafka.sh start` gives). Tests that need it FAIL when it does not answer; never skip.
 */

import { randomUUID } from 'node:crypto';
import { isAppError } from '../../../src/errors/index.ts';
import { type Consumer, type LogRecord, openKafkaLog } from '../../../src/log/index.ts';

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

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Poll until `count` records arrived or `timeoutMs` passed; returns what arrived. */
export async function pollRecords(consumer: Consumer, count: number, timeoutMs = 5000): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  const deadline = performance.now() + timeoutMs;
  while (out.length < count && performance.now() < deadline) {
    out.push(...(await consumer.poll(Math.min(deadline - performance.now(), 200))));
  }
  return out;
}

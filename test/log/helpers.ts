/** What the log tests share, whatever the adapter: unique names, readers and polling for records. */
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { Consumer, Log, LogRecord, TopicPartition } from '../../src/log/index.ts';

/** `prefix-` and 8 random hex digits: topics and groups of one test never meet another's. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Poll until `count` records arrived or `timeoutMs` passed; returns what arrived. */
export async function pollRecords(consumer: Consumer, count: number, timeoutMs = 5000): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  const deadline = performance.now() + timeoutMs;
  while (out.length < count) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    out.push(...(await consumer.poll(Math.min(left, 200))));
  }
  return out;
}

/** Poll for a while and return everything (to check that nothing more arrives). */
export async function drain(consumer: Consumer, ms = 300): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) out.push(...(await consumer.poll(50)));
  return out;
}

/** True when the consumer is assigned `tp` and its next offset there is `offset`. */
export function positionedAt(consumer: Consumer, tp: TopicPartition, offset: number): boolean {
  if (!consumer.assignment().some((a) => a.topic === tp.topic && a.partition === tp.partition)) return false;
  try {
    return consumer.position(tp) === offset;
  } catch {
    return false;
  }
}

export const str = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));

export const allPartitions = (topic: string, n: number): TopicPartition[] =>
  Array.from({ length: n }, (_, partition) => ({ topic, partition }));

/** A consumer outside any group's assignment reading all `n` partitions of `topic`; closed after the test. */
export function readerFor(
  log: Log,
  t: TestContext,
  topic: string,
  n: number,
  isolation?: 'read_uncommitted',
): Consumer {
  const c = log.consumer({
    groupId: uniqueName('reader'),
    ...(isolation === undefined ? {} : { isolationLevel: isolation }),
  });
  t.after(() => c.close());
  c.assign(allPartitions(topic, n));
  return c;
}

/** What the log tests share, whatever the adapter: unique names and polling for records. */
import { randomUUID } from 'node:crypto';
import type { Consumer, LogRecord } from '../../src/log/index.ts';

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

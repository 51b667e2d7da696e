/** Embedded-log helpers for streams integration tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Log, type LogRecord, openEmbeddedLog } from '../../../src/log/index.ts';
import { waitUntil } from '../../helpers/wait.ts';

export async function tempDir(t: TestContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function tempLog(t: TestContext, prefix = 'streams-'): Promise<Log> {
  const dir = await tempDir(t, prefix);
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  t.after(() => log.close());
  return log;
}

/** Every committed record of a topic (all partitions, up to the last stable offset), per partition in order. */
export async function readCommitted(log: Log, topic: string): Promise<LogRecord[][]> {
  const { partitions } = await log.describeTopic(topic);
  const consumer = log.consumer({
    groupId: `reader-${topic}-${Math.random()}`,
    isolationLevel: 'read_committed',
  });
  const out: LogRecord[][] = [];
  try {
    for (let p = 0; p < partitions; p++) {
      const tp = { topic, partition: p };
      const end = (await log.partitionOffsets(topic, p)).lastStable;
      consumer.assign([tp]);
      await consumer.seekToBeginning([tp]);
      const list: LogRecord[] = [];
      while (consumer.position(tp) < end) {
        const records = await consumer.poll(100);
        list.push(...records);
      }
      out.push(list);
    }
  } finally {
    await consumer.close();
  }
  return out;
}

/** Poll `check` every 50 ms until it returns true; fail after `timeoutMs` (see ../../helpers/wait.ts). */
export function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  return waitUntil(what, timeoutMs, check);
}

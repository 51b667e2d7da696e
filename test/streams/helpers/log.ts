/** Embedded-log helpers for streams integration tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Log, type LogRecord, openEmbeddedLog } from '../../../src/log/index.ts';
import { waitUntil } from '../../helpers/wait.ts';

/**
 * A temporary directory removed after the test. node:test runs `t.after` hooks in the order they were
 * registered, so this removal runs before the cleanups of what the test opened in it later (a chDB
 * engine's background merges may still add files): the removal retries (ENOTEMPTY) instead of failing.
 */
export async function tempDir(t: TestContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
  return dir;
}

/** An embedded log in a temporary directory; after the test, closed, then the directory removed. */
export async function tempLog(t: TestContext, prefix = 'streams-'): Promise<Log> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' }).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  t.after(async () => {
    await log.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });
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

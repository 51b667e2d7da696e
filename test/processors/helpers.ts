/** Helpers for processor integration tests: the embedded log, generated traffic, catching up. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { platformTopics } from '../../src/app/index.ts';
import type { GeneratedEvent } from '../../src/generator/index.ts';
import type { Log, LogRecord, ProducerRecord } from '../../src/log/index.ts';
import { type ClickHouse, openChdb } from '../../src/storage/index.ts';
import { waitUntil } from '../helpers/wait.ts';
import { readCommitted, tempDir, waitFor } from '../streams/helpers/log.ts';

export { tempDir, waitFor };

/** A raw record to put on a topic as it is (valid or not). */
export interface RawEvent {
  readonly topic: string;
  readonly key: string | null;
  readonly value: string;
  readonly timestamp?: number;
}

export function rawOf(e: GeneratedEvent): RawEvent {
  return { topic: e.topic, key: e.key, value: JSON.stringify(e.value), timestamp: e.timeMs };
}

/** Create the platform's topics and append the events in order (batches per topic). */
export async function produce(log: Log, events: readonly RawEvent[]): Promise<void> {
  await log.createTopics(platformTopics());
  const producer = log.producer();
  const byTopic = new Map<string, ProducerRecord[]>();
  const flush = async () => {
    for (const [topic, records] of byTopic) await producer.send(topic, records);
    byTopic.clear();
  };
  let n = 0;
  for (const e of events) {
    const list = byTopic.get(e.topic) ?? [];
    list.push({
      key: e.key,
      value: e.value,
      ...(e.timestamp === undefined ? {} : { timestamp: e.timestamp }),
    });
    byTopic.set(e.topic, list);
    if (++n % 5000 === 0) await flush();
  }
  await flush();
  await producer.close();
}

/** True when the group has committed every partition of `topics` up to its last stable offset. */
export async function caughtUp(log: Log, groupId: string, topics: readonly string[]): Promise<boolean> {
  const group = (await log.listGroups()).find((g) => g.groupId === groupId);
  for (const topic of topics) {
    const { partitions } = await log.describeTopic(topic);
    for (let p = 0; p < partitions; p++) {
      const { lastStable, earliest } = await log.partitionOffsets(topic, p);
      if (lastStable === earliest) continue;
      const committed = group?.offsets.find((o) => o.topic === topic && o.partition === p)?.offset ?? -1;
      if (committed < lastStable) return false;
    }
  }
  return true;
}

/** Wait until the group has committed every partition of `topics` (see `caughtUp`). */
export function waitCaughtUp(
  log: Log,
  groupId: string,
  topics: readonly string[],
  timeoutMs = 60_000,
  intervalMs = 50,
): Promise<void> {
  return waitUntil(
    `${groupId} to catch up with ${topics.join(', ')}`,
    timeoutMs,
    () => caughtUp(log, groupId, topics),
    {
      intervalMs,
    },
  );
}

/** Every committed record of a topic, all partitions, in partition then offset order. */
export async function readTopic(log: Log, topic: string): Promise<LogRecord[]> {
  return (await readCommitted(log, topic)).flat();
}

/**
 * One chDB engine shared by every test of a file (one engine per process), on a temporary data dir:
 * opened before the first test (handed to `set`), closed and removed after the last.
 */
export function fileChdb(prefix: string, set: (ch: ClickHouse) => void): void {
  let ch: ClickHouse | undefined;
  let dir: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    ch = await openChdb({ dataDir: dir });
    set(ch);
  });
  after(async () => {
    await ch?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });
}

import assert from 'node:assert/strict';
import { cpSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { type Log, type LogRecord, openEmbeddedLog } from '../../../src/log/index.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'log-purge-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function readAll(log: Log, topic: string): Promise<number[]> {
  const c = log.consumer({ groupId: `read-${Math.random()}`, maxPollRecords: 100_000 });
  c.assign([{ topic, partition: 0 }]);
  const out: LogRecord[] = [];
  for (let rs = await c.poll(0); rs.length > 0; rs = await c.poll(0)) out.push(...rs);
  await c.close();
  return out.map((r) => r.offset);
}

const segmentNames = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort();
const baseOf = (name: string | undefined): number =>
  name === undefined ? Infinity : Number(name.slice(0, -4));
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

test('deleteRecords: segments wholly below the start offset go; the start offset survives reopen and a crash before the deletion', async (t) => {
  const dataDir = await tempDir(t);
  const backup = await tempDir(t);
  const topic = 'purged';
  const partitionDir = join(dataDir, 'log', 'topics', topic, '0');
  const options = { dataDir, segmentBytes: 1024 };
  let log = await openEmbeddedLog(options);
  t.after(() => log.close());
  await log.createTopics([{ name: topic, partitions: 1, retentionMs: null }]);
  const producer = log.producer();
  // One batch per send, ~130 bytes each: several segments of 1 KiB.
  for (let i = 0; i < 200; i++)
    await producer.send(topic, [{ key: `k${i}`, value: `v${i}`.padEnd(80, '.') }]);
  const before = segmentNames(partitionDir);
  cpSync(partitionDir, backup, { recursive: true });
  await log.deleteRecords(topic, 0, 150);
  const after = segmentNames(partitionDir);
  const live = { offsets: await log.partitionOffsets(topic, 0), read: await readAll(log, topic) };
  await log.close();
  log = await openEmbeddedLog(options);
  const reopened = { offsets: await log.partitionOffsets(topic, 0), read: await readAll(log, topic) };
  await log.close();
  // A crash between the journal entry and the file deletion leaves the old segments behind.
  for (const f of before) if (!after.includes(f)) cpSync(join(backup, f), join(partitionDir, f));
  log = await openEmbeddedLog(options);
  const afterCrash = {
    offsets: await log.partitionOffsets(topic, 0),
    read: await readAll(log, topic),
    segments: segmentNames(partitionDir),
  };
  await log.producer().send(topic, [{ value: 'next' }]);
  const appended = await readAll(log, topic);
  const expected = { offsets: { earliest: 150, latest: 200, lastStable: 200 }, read: range(150, 200) };
  assert.deepStrictEqual(
    {
      deleted: before.length - after.length > 0,
      // the segment holding offset 150 stays, the one before it went
      kept: baseOf(after[0]) <= 150 && baseOf(after[1]) > 150,
      live,
      reopened,
      afterCrash,
      appended,
    },
    {
      deleted: true,
      kept: true,
      live: expected,
      reopened: expected,
      afterCrash: { ...expected, segments: after },
      appended: range(150, 201),
    },
  );
});

test('deleteRecords: retention still applies, and a later purge never moves the start back', async (t) => {
  const dataDir = await tempDir(t);
  const log = await openEmbeddedLog({ dataDir, segmentBytes: 1024 });
  t.after(() => log.close());
  await log.createTopics([{ name: 'r', partitions: 1, retentionMs: 3_600_000 }]);
  const producer = log.producer();
  const old = Date.now() - 7_200_000;
  for (let i = 0; i < 50; i++)
    await producer.send('r', [{ value: `old${i}`.padEnd(80, '.'), timestamp: old }]);
  await log.deleteRecords('r', 0, 10);
  await log.runMaintenance();
  const afterRetention = (await log.partitionOffsets('r', 0)).earliest;
  await log.deleteRecords('r', 0, 20);
  assert.deepStrictEqual(
    { retentionMoved: afterRetention === 50, earliest: (await log.partitionOffsets('r', 0)).earliest },
    { retentionMoved: true, earliest: 50 },
  );
});

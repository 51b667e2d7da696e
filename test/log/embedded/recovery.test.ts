import assert from 'node:assert/strict';
import { appendFileSync, cpSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ManualClock } from '../../../src/clock/index.ts';
import { isAppError } from '../../../src/errors/index.ts';
import {
  type EmbeddedLog,
  type EmbeddedLogOptions,
  type Log,
  type LogRecord,
  openEmbeddedLog,
} from '../../../src/log/index.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'log-embedded-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function open(t: TestContext, options: EmbeddedLogOptions): Promise<EmbeddedLog> {
  const log = await openEmbeddedLog(options);
  t.after(() => log.close());
  return log;
}

async function readAll(
  log: Log,
  topic: string,
  partitions = 1,
  isolation?: 'read_uncommitted',
): Promise<LogRecord[]> {
  const c = log.consumer({
    groupId: `read-${Math.random()}`,
    maxPollRecords: 100_000,
    ...(isolation === undefined ? {} : { isolationLevel: isolation }),
  });
  c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
  const out: LogRecord[] = [];
  for (let rs = await c.poll(0); rs.length > 0; rs = await c.poll(0)) out.push(...rs);
  await c.close();
  return out;
}

const values = (rs: LogRecord[]): (string | null)[] =>
  rs.map((r) => (r.value === null ? null : r.value.toString()));

function segmentFiles(dataDir: string, topic: string, partition = 0): string[] {
  const dir = join(dataDir, 'log', 'topics', topic, String(partition));
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(dir, f));
}

test('reopen preserves topics, records, offsets, group offsets and transaction outcomes', async (t) => {
  const dataDir = await tempDir(t);
  const first = await openEmbeddedLog({ dataDir, segmentBytes: 4096 });
  await first.createTopics([
    { name: 'events', partitions: 2, retentionMs: 1000, cleanupPolicy: 'compact,delete' },
    { name: 'out', partitions: 1 },
  ]);
  const producer = first.producer();
  for (let i = 0; i < 200; i++) {
    await producer.send('events', [
      { key: `k${i}`, value: `v${i}`, headers: [['i', String(i)]], timestamp: 5000 + i },
    ]);
  }
  await first.setGroupOffsets('g', [{ topic: 'events', partition: 1, offset: 7, metadata: 'meta' }]);
  const tx = await first.transactionalProducer('tx');
  tx.begin();
  await tx.send('out', [{ value: 'committed' }]);
  await tx.sendOffsets('g', [{ topic: 'events', partition: 0, offset: 3 }]);
  await tx.commit();
  tx.begin();
  await tx.send('out', [{ value: 'aborted' }]);
  await tx.abort();
  const before = {
    topics: await first.listTopics(),
    events: (await readAll(first, 'events', 2)).map((r) => [
      r.partition,
      r.offset,
      r.timestamp,
      r.value?.toString(),
    ]),
    out: values(await readAll(first, 'out')),
    groups: await first.listGroups(),
    offsets: [await first.partitionOffsets('events', 0), await first.partitionOffsets('out', 0)],
  };
  await first.close();
  await first.close(); // idempotent
  const second = await open(t, { dataDir });
  const after = {
    topics: await second.listTopics(),
    events: (await readAll(second, 'events', 2)).map((r) => [
      r.partition,
      r.offset,
      r.timestamp,
      r.value?.toString(),
    ]),
    out: values(await readAll(second, 'out')),
    groups: await second.listGroups(),
    offsets: [await second.partitionOffsets('events', 0), await second.partitionOffsets('out', 0)],
  };
  assert.deepStrictEqual(after, before);
  assert.deepStrictEqual(
    {
      out: before.out,
      events: before.events.length,
      segments: segmentFiles(dataDir, 'events').length > 1,
      group: before.groups,
      recovery: second.recovery,
    },
    {
      out: ['committed'],
      events: 200,
      segments: true,
      group: [
        {
          groupId: 'g',
          members: 0,
          offsets: [
            { topic: 'events', partition: 0, offset: 3 },
            { topic: 'events', partition: 1, offset: 7, metadata: 'meta' },
          ],
        },
      ],
      recovery: {
        truncatedBytes: 0,
        journalTruncatedBytes: 0,
        committedTransactions: 0,
        abortedTransactions: 0,
        quarantinedBytes: 0,
        corruptPartitions: [],
        events: [],
      },
    },
  );
  // new records continue after the old ones
  const [m] = await second.producer().send('out', [{ value: 'next' }]);
  assert.ok(m!.offset >= before.offsets[1]!.latest);
});

test('a torn tail (partial frame, garbage) is truncated on open and the log continues', async (t) => {
  const dataDir = await tempDir(t);
  const first = await openEmbeddedLog({ dataDir });
  await first.createTopics([{ name: 'torn', partitions: 1 }]);
  for (let i = 0; i < 10; i++) await first.producer().send('torn', [{ value: `v${i}` }]);
  await first.close();
  const [seg] = segmentFiles(dataDir, 'torn');
  const whole = readFileSync(seg!);
  // a partial copy of the last frame (as a crash mid-write leaves it), then random bytes
  appendFileSync(
    seg!,
    Buffer.concat([whole.subarray(whole.length - 30, whole.length - 5), Buffer.from('garbage')]),
  );
  const second = await openEmbeddedLog({ dataDir });
  const recovered = values(await readAll(second, 'torn'));
  const truncated = second.recovery.truncatedBytes;
  const [m] = await second.producer().send('torn', [{ value: 'after' }]);
  await second.close();
  const third = await open(t, { dataDir });
  assert.deepStrictEqual(
    {
      recovered,
      truncated,
      nextOffset: m!.offset,
      final: values(await readAll(third, 'torn')),
      again: third.recovery.truncatedBytes,
    },
    {
      recovered: Array.from({ length: 10 }, (_, i) => `v${i}`),
      truncated: 32,
      nextOffset: 10,
      final: [...Array.from({ length: 10 }, (_, i) => `v${i}`), 'after'],
      again: 0,
    },
  );
});

test('recovery aborts an undecided transaction and completes a decided one (crash images)', async (t) => {
  const dataDir = await tempDir(t);
  const log = await open(t, { dataDir, fsync: 'always' });
  await log.createTopics([{ name: 'in-doubt', partitions: 2 }]);
  const tx = await log.transactionalProducer('t1');
  tx.begin();
  await tx.send('in-doubt', [
    { value: 'open-0', partition: 0 },
    { value: 'open-1', partition: 1 },
  ]);
  await tx.sendOffsets('grp', [{ topic: 'in-doubt', partition: 0, offset: 9 }]);
  // A crash image with the transaction open and undecided: copy the files while the log is live.
  const undecided = await tempDir(t);
  cpSync(dataDir, undecided, { recursive: true });
  // A crash image with the decision journaled but no markers written: append the decision by hand,
  // as the commit path writes it (see transactions.ts), to a copy of the same image.
  const decided = await tempDir(t);
  cpSync(dataDir, decided, { recursive: true });
  const seg = readFileSync(segmentFiles(decided, 'in-doubt', 0)[0]!);
  const pid = seg.readDoubleLE(8 + 8);
  const { Journal } = await import('../../../src/log/embedded/journal.ts');
  const journalFile = join(decided, 'log', 'meta.journal');
  const entries = Journal.read(journalFile).entries;
  Journal.create(journalFile, [
    ...entries,
    {
      t: 'commit',
      pid,
      parts: [
        ['in-doubt', 0],
        ['in-doubt', 1],
      ],
      offsets: [{ g: 'grp', o: [['in-doubt', 0, 9, null]] }],
    },
  ]).close();
  await tx.abort();
  const results = [];
  for (const dir of [undecided, decided]) {
    const image = await open(t, { dataDir: dir });
    results.push({
      recovery: [image.recovery.committedTransactions, image.recovery.abortedTransactions],
      committed: values(await readAll(image, 'in-doubt', 2)),
      uncommitted: values(await readAll(image, 'in-doubt', 2, 'read_uncommitted')),
      groups: (await image.listGroups()).map((g) => g.offsets.map((o) => o.offset)),
      lso:
        (await image.partitionOffsets('in-doubt', 0)).lastStable ===
        (await image.partitionOffsets('in-doubt', 0)).latest,
    });
    await image.close();
  }
  assert.deepStrictEqual(results, [
    { recovery: [0, 1], committed: [], uncommitted: ['open-0', 'open-1'], groups: [], lso: true },
    {
      recovery: [1, 0],
      committed: ['open-0', 'open-1'],
      uncommitted: ['open-0', 'open-1'],
      groups: [[9]],
      lso: true,
    },
  ]);
});

test('retention follows the injected clock; compaction drops tombstones after tombstoneRetentionMs', async (t) => {
  const dataDir = await tempDir(t);
  const clock = new ManualClock(1_000_000);
  const log = await open(t, { dataDir, clock, segmentBytes: 1024, tombstoneRetentionMs: 10_000 });
  await log.createTopics([
    { name: 'ret', partitions: 1, retentionMs: 60_000 },
    { name: 'cmp', partitions: 1, cleanupPolicy: 'compact' },
  ]);
  const p = log.producer();
  for (let i = 0; i < 30; i++) await p.send('ret', [{ value: `old-${i}`.padEnd(100) }]);
  clock.advance(50_000);
  for (let i = 0; i < 30; i++) await p.send('ret', [{ value: `new-${i}`.padEnd(100) }]);
  const r1 = await log.runMaintenance();
  const ret1 = (await log.partitionOffsets('ret', 0)).earliest;
  clock.advance(20_000); // old records are 70 s old, new ones 20 s
  await p.send('cmp', [
    { key: 'a', value: '1' },
    { key: 'b', value: '1' },
    { key: 'a', value: null },
    { key: 'b', value: '2' },
  ]);
  const r2 = await log.runMaintenance({ rollActiveSegments: true });
  const ret2 = await readAll(log, 'ret');
  const cmp2 = await readAll(log, 'cmp');
  clock.advance(10_001); // the tombstone is now older than tombstoneRetentionMs
  const r3 = await log.runMaintenance({ rollActiveSegments: true });
  const cmp3 = await readAll(log, 'cmp');
  assert.deepStrictEqual(
    {
      first: { deleted: r1.deletedSegments, earliest: ret1 },
      second: {
        deleted: r2.deletedSegments > 0,
        oldLeft: values(ret2).filter((v) => v!.startsWith('old')).length,
      },
      newKept: values(ret2).filter((v) => v!.startsWith('new')).length,
      compacted: [
        r2.compactedRecords,
        cmp2.map((r) => [r.key!.toString(), r.value?.toString() ?? null, r.offset]),
      ],
      tombstoneGone: [
        r3.compactedRecords,
        cmp3.map((r) => [r.key!.toString(), r.value?.toString() ?? null, r.offset]),
      ],
    },
    {
      first: { deleted: 0, earliest: 0 },
      second: { deleted: true, oldLeft: 0 },
      newKept: 30,
      compacted: [
        2,
        [
          ['a', null, 2],
          ['b', '2', 3],
        ],
      ],
      tombstoneGone: [1, [['b', '2', 3]]],
    },
  );
});

test('bad data dirs give one clear LOG_IO error (no spin); a read-only open writes nothing and refuses writes', async (t) => {
  const dataDir = await tempDir(t);
  const first = await openEmbeddedLog({ dataDir });
  await first.createTopics([{ name: 'ro', partitions: 1 }]);
  await first.producer().send('ro', [{ value: 'x' }]);
  await first.close();
  const journal = join(dataDir, 'log', 'meta.journal');
  const before = readFileSync(journal);
  const reader = await openEmbeddedLog({ dataDir, readOnly: true });
  const second = await openEmbeddedLog({ dataDir, readOnly: true }).catch((e: unknown) => e);
  const records = values(await readAll(reader, 'ro'));
  const send = await Promise.resolve()
    .then(() => reader.producer())
    .catch((e: unknown) => (isAppError(e) ? e.code : String(e)));
  await reader.close();
  const bad = await Promise.all(
    ['/proc/x', join(journal, 'x')].map((d) =>
      openEmbeddedLog({ dataDir: d }).then(
        () => 'opened',
        (e: unknown) => (isAppError(e) ? [e.code, e.message.includes('is not')] : String(e)),
      ),
    ),
  );
  assert.deepStrictEqual(
    {
      records,
      send,
      unchanged: readFileSync(journal).equals(before),
      second: isAppError(second) ? second.code : 'opened',
      bad,
    },
    {
      records: ['x'],
      send: 'LOG_READ_ONLY',
      unchanged: true,
      second: 'LOG_LOCKED',
      bad: [
        ['LOG_IO', true],
        ['LOG_IO', true],
      ],
    },
  );
});

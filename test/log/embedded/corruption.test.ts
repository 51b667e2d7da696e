/**
 * The corruption matrix of the embedded log. Partition m:0 holds 40 one-record batches in 5 segments
 * of 8 (offsets 0-7 … 32-39, the last one active), m:1 holds 5 records, group g committed 20 on m:0.
 * Each case damages the files after a clean stop, then checks the documented outcome:
 * - active segment after a crash (no index: scanned on open): a bad frame refuses m:0 with LOG_CORRUPT
 *   naming file and byte; m:1 keeps working. With LOG_ON_CORRUPTION=quarantine the frame's bytes go to a quarantine
 *   file and every other record is served with its offset.
 * - a segment with an intact index (closed, or active after a clean stop; not scanned): the first read reaching the bad frame
 *   fails with LOG_CORRUPT and m:0 refuses further use; a repair (quarantine + full scan) keeps the rest.
 * - older segment whose size changed (a frame cut short mid-file): its index is stale, it is scanned
 *   on open, and it is refused (or quarantined) like the active one.
 * - torn tail, damaged or deleted index: recovered without an operator (cut / rescanned).
 * - damaged journal entry: the log refuses to open; quarantine keeps the entries around it.
 * And always: no intact record lost, no offset handed out twice (the next record gets offset 40), and
 * group g continues from 20 and sees the new record.
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isAppError } from '../../../src/errors/index.ts';
import { type EmbeddedLog, type EmbeddedLogOptions, openEmbeddedLog } from '../../../src/log/index.ts';

const TOPIC = 'm';
const RECORDS = 40;
const value = (i: number): string => `r-${i}`.padEnd(60, '.');

async function setup(t: TestContext): Promise<{ dataDir: string; segs: string[]; part: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'log-corrupt-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const log = await openEmbeddedLog({ dataDir, segmentBytes: 1024 });
  await log.createTopics([{ name: TOPIC, partitions: 2 }]);
  const producer = log.producer();
  for (let i = 0; i < RECORDS; i++) await producer.send(TOPIC, [{ value: value(i), partition: 0 }]);
  for (let i = 0; i < 5; i++) await producer.send(TOPIC, [{ value: `p1-${i}`, partition: 1 }]);
  await log.setGroupOffsets('g', [{ topic: TOPIC, partition: 0, offset: 20 }]);
  await log.close();
  const part = join(dataDir, 'log', 'topics', TOPIC, '0');
  const segs = readdirSync(part)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(part, f));
  assert.equal(segs.length, 5);
  return { dataDir, segs, part };
}

/** Frame boundaries of a segment file. */
function frames(file: string): { pos: number; bytes: number }[] {
  const buf = readFileSync(file);
  const out = [];
  for (let p = 0; p + 8 <= buf.length; p += 8 + buf.readUInt32LE(p))
    out.push({ pos: p, bytes: 8 + buf.readUInt32LE(p) });
  return out;
}

/** Flip one byte inside the record value of frame `i` of `file`; returns the frame's position. */
function flip(file: string, i: number): number {
  const f = frames(file)[i]!;
  const buf = readFileSync(file);
  buf[f.pos + f.bytes - 10]! ^= 0x20;
  writeFileSync(file, buf);
  return f.pos;
}

async function openLog(t: TestContext, options: EmbeddedLogOptions): Promise<EmbeddedLog> {
  const log = await openEmbeddedLog({ segmentBytes: 1024, ...options });
  t.after(() => log.close());
  return log;
}

async function readPartition(log: EmbeddedLog, partition: number, groupId = `read-${Math.random()}`) {
  const c = log.consumer({ groupId, autoOffsetReset: 'earliest', maxPollRecords: 1000 });
  try {
    c.assign([{ topic: TOPIC, partition }]);
    const out: [number, string][] = [];
    for (let rs = await c.poll(0); rs.length > 0; rs = await c.poll(0)) {
      for (const r of rs) out.push([r.offset, r.value!.toString()]);
    }
    return out;
  } finally {
    await c.close();
  }
}

function codeOf(err: unknown): string {
  return isAppError(err) ? err.code : String(err);
}

/** The records of m:0 expected after losing `lost` offsets. */
const survivors = (lost: readonly number[]): [number, string][] =>
  Array.from({ length: RECORDS }, (_, i) => [i, value(i)] as [number, string]).filter(
    ([o]) => !lost.includes(o),
  );

/** After a recovery: records, the next offset, the group's view, and m:1. */
async function afterRecovery(log: EmbeddedLog) {
  const records = await readPartition(log, 0);
  const [next] = await log.producer().send(TOPIC, [{ value: 'new', partition: 0 }]);
  const group = await readPartition(log, 0, 'g');
  return { records, nextOffset: next!.offset, group, m1: (await readPartition(log, 1)).length };
}

const expectedAfter = (lost: readonly number[]) => ({
  records: survivors(lost),
  nextOffset: RECORDS,
  group: [...survivors(lost).filter(([o]) => o >= 20), [RECORDS, 'new'] as [number, string]],
  m1: 5,
});

function quarantined(part: string): number[] {
  const q = join(part, 'quarantine');
  return existsSync(q) ? readdirSync(q).map((f) => readFileSync(join(q, f)).length) : [];
}

for (const which of ['first', 'middle', 'last'] as const) {
  test(`corruption: a bit flip in the ${which} frame of the active segment after a crash refuses m:0 (m:1 works); quarantine keeps the rest`, async (t) => {
    const { dataDir, segs, part } = await setup(t);
    const index = which === 'first' ? 0 : which === 'middle' ? 4 : 7;
    const pos = flip(segs[4]!, index);
    rmSync(segs[4]!.replace(/\.seg$/, '.idx')); // as a crash leaves it: the active segment has no index
    const refused = await openLog(t, { dataDir });
    const corrupt = refused.recovery.corruptPartitions;
    const refusedOffsets = await refused.partitionOffsets(TOPIC, 0).catch(codeOf);
    await refused.producer().send(TOPIC, [{ value: 'p1-new', partition: 1 }]);
    const m1 = (await readPartition(refused, 1)).length;
    await refused.close();
    const repaired = await openLog(t, { dataDir, onCorruption: 'quarantine' });
    assert.deepStrictEqual(
      {
        corrupt: corrupt.map((c) => ({
          p: c.partition,
          file: c.message.includes(segs[4]!),
          byte: c.message.includes(`byte ${pos} `),
        })),
        refusedOffsets,
        m1,
        actions: repaired.recovery.events.map((e) => e.action),
        quarantined: quarantined(part),
        after: await afterRecovery(repaired),
      },
      {
        corrupt: [{ p: 0, file: true, byte: true }],
        refusedOffsets: 'LOG_CORRUPT',
        m1: 6,
        // losing the last record: its offset is still never handed out again
        actions: index === 7 ? ['quarantined', 'raised-next-offset'] : ['quarantined'],
        quarantined: [123],
        after: { ...expectedAfter([32 + index]), m1: 6 },
      },
    );
  });
}

for (const which of ['first', 'middle', 'last'] as const) {
  test(`corruption: a bit flip in the ${which} frame of an older (indexed) segment fails the read that reaches it; repair keeps the rest`, async (t) => {
    const { dataDir, segs, part } = await setup(t);
    const index = which === 'first' ? 0 : which === 'middle' ? 4 : 7;
    const pos = flip(segs[1]!, index);
    const log = await openLog(t, { dataDir });
    const group = await readPartition(log, 0, 'g'); // from 20: never reaches the damage
    const read = await readPartition(log, 0).catch((e: unknown) => e);
    const afterwards = await log.partitionOffsets(TOPIC, 0).catch(codeOf);
    const m1 = (await readPartition(log, 1)).length;
    await log.close();
    const repaired = await openLog(t, { dataDir, onCorruption: 'quarantine', scanAll: true });
    assert.deepStrictEqual(
      {
        group: group.length,
        read: codeOf(read),
        names: isAppError(read) && read.message.includes(segs[1]!) && read.message.includes(`byte ${pos} `),
        afterwards,
        m1,
        actions: repaired.recovery.events.map((e) => e.action),
        quarantined: quarantined(part),
        after: await afterRecovery(repaired),
      },
      {
        group: 20,
        read: 'LOG_CORRUPT',
        names: true,
        afterwards: 'LOG_CORRUPT',
        m1: 5,
        actions: ['quarantined'],
        quarantined: [123],
        after: expectedAfter([8 + index]),
      },
    );
  });
}

test('corruption: a frame cut short mid-file (bytes missing inside an older segment) refuses m:0; quarantine loses only that frame', async (t) => {
  const { dataDir, segs, part } = await setup(t);
  const f = frames(segs[1]!)[3]!;
  const buf = readFileSync(segs[1]!);
  writeFileSync(segs[1]!, Buffer.concat([buf.subarray(0, f.pos + 50), buf.subarray(f.pos + 60)]));
  const refused = await openLog(t, { dataDir });
  const corrupt = refused.recovery.corruptPartitions.map((c) => [
    c.partition,
    c.message.includes(`byte ${f.pos} `),
  ]);
  await refused.close();
  const repaired = await openLog(t, { dataDir, onCorruption: 'quarantine' });
  assert.deepStrictEqual(
    {
      corrupt,
      actions: repaired.recovery.events.map((e) => e.action),
      quarantined: quarantined(part),
      after: await afterRecovery(repaired),
    },
    {
      corrupt: [[0, true]],
      actions: ['rescanned', 'quarantined'],
      quarantined: [113],
      after: expectedAfter([11]),
    },
  );
});

test('corruption: a truncated frame at the tail is a torn write: cut on open, its offset never reused', async (t) => {
  const { dataDir, segs } = await setup(t);
  const buf = readFileSync(segs[4]!);
  writeFileSync(segs[4]!, buf.subarray(0, buf.length - 10));
  const log = await openLog(t, { dataDir });
  assert.deepStrictEqual(
    {
      actions: log.recovery.events.map((e) => e.action),
      truncatedBytes: log.recovery.truncatedBytes,
      corrupt: log.recovery.corruptPartitions,
      after: await afterRecovery(log),
    },
    {
      actions: ['cut-torn-tail', 'raised-next-offset'],
      truncatedBytes: 113,
      corrupt: [],
      after: expectedAfter([39]),
    },
  );
});

for (const damage of ['damaged', 'deleted'] as const) {
  test(`corruption: a ${damage} index file is rebuilt by a scan, nothing lost`, async (t) => {
    const { dataDir, segs } = await setup(t);
    const idx = segs[2]!.replace(/\.seg$/, '.idx');
    if (damage === 'deleted') rmSync(idx);
    else {
      const buf = readFileSync(idx);
      buf[buf.length - 3]! ^= 0xff;
      writeFileSync(idx, buf);
    }
    const log = await openLog(t, { dataDir });
    assert.deepStrictEqual(
      {
        events: log.recovery.events.map((e) => [e.action, e.file]),
        rebuilt: existsSync(idx),
        after: await afterRecovery(log),
      },
      { events: [['rescanned', segs[2]]], rebuilt: true, after: expectedAfter([]) },
    );
  });
}

test('corruption: a damaged journal entry refuses the log; quarantine keeps the entries after it', async (t) => {
  const { dataDir } = await setup(t);
  const log = await openEmbeddedLog({ dataDir, segmentBytes: 1024 });
  await log.setGroupOffsets('g', [{ topic: TOPIC, partition: 0, offset: 25 }]);
  await log.setGroupOffsets('g', [{ topic: TOPIC, partition: 0, offset: 30 }]);
  await log.close();
  const file = join(dataDir, 'log', 'meta.journal');
  const buf = readFileSync(file);
  const at = buf.indexOf('["m",0,25');
  buf[at + 7]! ^= 0x01; // 25 → 35 in the JSON: the CRC no longer matches
  writeFileSync(file, buf);
  const refused = await openEmbeddedLog({ dataDir }).catch((e: unknown) => e);
  const repaired = await openLog(t, { dataDir, segmentBytes: 1024, onCorruption: 'quarantine' });
  const groups = await repaired.listGroups();
  assert.deepStrictEqual(
    {
      refused: codeOf(refused),
      names: isAppError(refused) && refused.message.includes(file),
      actions: repaired.recovery.events.map((e) => e.action),
      quarantined: quarantined(join(dataDir, 'log')).length,
      group: groups.find((g) => g.groupId === 'g')?.offsets,
      records: (await readPartition(repaired, 0)).length,
    },
    {
      refused: 'LOG_CORRUPT',
      names: true,
      actions: ['journal-quarantined'],
      quarantined: 1,
      group: [{ topic: TOPIC, partition: 0, offset: 30 }],
      records: RECORDS,
    },
  );
});

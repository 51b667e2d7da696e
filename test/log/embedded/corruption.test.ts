/**
 * The corruption matrix of the embedded log. Partition m:0 holds 40 one-record batches in 5 segments
 * of 8 (offsets 0-7 … 32-39, the last one active), m:1 holds 5 records, group g committed 20 on m:0.
 * Each case damages the files after a clean stop, then checks the documented outcome:
 * - active segment after a crash (no index: scanned on open): a bad frame refuses m:0 with LOG_CORRUPT
 *   naming file and byte; m:1 keeps working. With LOG_ON_CORRUPTION=quarantine the frame's bytes go to a quarantine
 *   file and every other record is served with its offset.
 * - a segment opened from its intact index (an older one, or the active one after a clean stop; not
 *   scanned on open): the scrub after open finds the bad frame and refuses m:0 (LOG_CORRUPT naming file
 *   and byte; m:1 keeps working), or, under quarantine, moves the frame aside and serves the rest. A read
 *   that reaches the frame before the scrub refuses m:0 too (and, under quarantine, the scrub lifts it).
 *   What the scrub verified is remembered in the index: a restart does not check it again.
 * - older segment whose size changed (a frame cut short mid-file): its index is stale, it is scanned
 *   on open, and it is refused (or quarantined) like the active one.
 * - torn tail, damaged or deleted index: recovered without an operator (cut / rescanned).
 * - damaged journal entry: the log refuses to open; quarantine keeps the entries around it.
 * And always: no intact record lost, no offset handed out twice (the next record gets offset 40), and
 * group g continues from its committed offset (20; 30 in the journal case) and sees the new record.
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isAppError } from '../../../src/errors/index.ts';
import { verifyEmbeddedLog } from '../../../src/log/embedded/index.ts';
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

/** `committed`: where group g continues (it committed 20). */
const expectedAfter = (lost: readonly number[], committed = 20) => ({
  records: survivors(lost),
  nextOffset: RECORDS,
  group: [...survivors(lost).filter(([o]) => o >= committed), [RECORDS, 'new'] as [number, string]],
  m1: 5,
});

function quarantined(part: string): number[] {
  const q = join(part, 'quarantine');
  return existsSync(q) ? readdirSync(q).map((f) => readFileSync(join(q, f)).length) : [];
}

const FRAMES = { first: 0, middle: 4, last: 7 } as const;

for (const which of ['first', 'middle', 'last'] as const) {
  test(`corruption: a bit flip in the ${which} frame of the active segment after a crash refuses m:0 on open (m:1 works); quarantine keeps the rest`, async (t) => {
    const { dataDir, segs, part } = await setup(t);
    const index = FRAMES[which];
    const pos = flip(segs[4]!, index);
    rmSync(segs[4]!.replace(/\.seg$/, '.idx')); // as a crash leaves it: the active segment has no index
    const refused = await openLog(t, { dataDir });
    const corrupt = refused.recovery.corruptPartitions;
    const refusedOffsets = await refused.partitionOffsets(TOPIC, 0).catch(codeOf);
    await refused.producer().send(TOPIC, [{ value: 'p1-new', partition: 1 }]);
    const m1 = (await readPartition(refused, 1)).length;
    await refused.close();
    const repaired = await openLog(t, { dataDir, onCorruption: 'quarantine' });
    await repaired.scrub();
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

for (const [segment, si] of [
  ['the active segment after a clean stop', 4],
  ['an older segment', 1],
] as const) {
  for (const which of ['first', 'middle', 'last'] as const) {
    test(`corruption: a bit flip in the ${which} frame of ${segment} (opened from its index) is found by the scrub after open: m:0 refused (m:1 works); quarantine keeps the rest`, async (t) => {
      const { dataDir, segs, part } = await setup(t);
      const index = FRAMES[which];
      const pos = flip(segs[si]!, index);
      const log = await openLog(t, { dataDir });
      const openedClean = log.recovery.corruptPartitions.length === 0 && log.recovery.events.length === 0;
      const scrub = await log.scrub();
      const refusedOffsets = await log.partitionOffsets(TOPIC, 0).catch(codeOf);
      await log.producer().send(TOPIC, [{ value: 'p1-new', partition: 1 }]);
      const m1 = (await readPartition(log, 1)).length;
      await log.close();
      const repaired = await openLog(t, { dataDir, onCorruption: 'quarantine' });
      const repairScrub = await repaired.scrub();
      // The refused active segment kept no index (no clean close of it): the reopen scans it, as after
      // a crash. An older one is opened from its index and repaired by the scrub.
      const lostLast = si === 4 && index === 7;
      assert.deepStrictEqual(
        {
          openedClean,
          corrupt: scrub.corrupt.map((c) => ({
            p: c.partition,
            file: c.message.includes(segs[si]!),
            byte: c.message.includes(`byte ${pos} `),
          })),
          refusedOffsets,
          m1,
          actions: repaired.recovery.events.map((e) => e.action),
          repairedBy: si === 4 ? 'open' : repairScrub.quarantinedBytes === 123 ? 'scrub' : 'nothing',
          quarantined: quarantined(part),
          after: await afterRecovery(repaired),
        },
        {
          openedClean: true,
          corrupt: [{ p: 0, file: true, byte: true }],
          refusedOffsets: 'LOG_CORRUPT',
          m1: 6,
          actions: lostLast ? ['quarantined', 'raised-next-offset'] : ['quarantined'],
          repairedBy: si === 4 ? 'open' : 'scrub',
          quarantined: [123],
          after: { ...expectedAfter([si * 8 + index]), m1: 6 },
        },
      );
    });
  }
}

test('corruption: under quarantine the scrub repairs the active segment while the log runs: sealed, the frame moved aside, appends go on in a new segment', async (t) => {
  const { dataDir, segs, part } = await setup(t);
  flip(segs[4]!, 4);
  const log = await openLog(t, { dataDir, onCorruption: 'quarantine' });
  const [during] = await log.producer().send(TOPIC, [{ value: 'during', partition: 0 }]);
  const scrub = await log.scrub();
  const segments = readdirSync(part).filter((f) => f.endsWith('.seg')).length;
  const records = await readPartition(log, 0);
  assert.deepStrictEqual(
    {
      during: during!.offset,
      scrub: { corrupt: scrub.corrupt, quarantinedBytes: scrub.quarantinedBytes },
      actions: log.recovery.events.map((e) => e.action),
      quarantined: quarantined(part),
      segments,
      records,
    },
    {
      during: RECORDS,
      scrub: { corrupt: [], quarantinedBytes: 123 },
      actions: ['quarantined'],
      quarantined: [123],
      segments: 6, // the repaired one sealed, a new active one
      records: [...survivors([36]), [RECORDS, 'during']],
    },
  );
});

test('corruption: a read that reaches damage before the scrub refuses m:0; under quarantine the scrub then repairs it and m:0 serves again', async (t) => {
  const { dataDir, segs, part } = await setup(t);
  const pos = flip(segs[1]!, 4);
  const refusing = await openLog(t, { dataDir, scrub: false });
  const group = await readPartition(refusing, 0, 'g'); // from 20: never reaches the damage
  const read = await readPartition(refusing, 0).catch((e: unknown) => e);
  const afterwards = await refusing.partitionOffsets(TOPIC, 0).catch(codeOf);
  await refusing.close();
  const log = await openLog(t, { dataDir, onCorruption: 'quarantine', scrub: false });
  const again = await readPartition(log, 0).catch(codeOf);
  const scrub = await log.scrub();
  assert.deepStrictEqual(
    {
      group: group.length,
      read: codeOf(read),
      names: isAppError(read) && read.message.includes(segs[1]!) && read.message.includes(`byte ${pos} `),
      afterwards,
      again,
      scrub: { corrupt: scrub.corrupt, quarantinedBytes: scrub.quarantinedBytes },
      actions: log.recovery.events.map((e) => e.action),
      quarantined: quarantined(part),
      after: await afterRecovery(log),
    },
    {
      group: 20,
      read: 'LOG_CORRUPT',
      names: true,
      afterwards: 'LOG_CORRUPT',
      again: 'LOG_CORRUPT',
      scrub: { corrupt: [], quarantinedBytes: 123 },
      actions: ['refused-corrupt', 'quarantined'],
      quarantined: [123],
      after: expectedAfter([12]),
    },
  );
});

test('corruption: the scrub remembers what it verified (a restart checks only new bytes); damage after that is found by reads and `log verify`', async (t) => {
  const { dataDir, segs } = await setup(t);
  const m1 = join(dataDir, 'log', 'topics', TOPIC, '1');
  const all = [
    ...segs,
    ...readdirSync(m1)
      .filter((f) => f.endsWith('.seg'))
      .map((f) => join(m1, f)),
  ];
  const bytes = all.reduce((n, f) => n + readFileSync(f).length, 0);
  const first = await openLog(t, { dataDir });
  const pass1 = await first.scrub();
  await first.close();
  const second = await openLog(t, { dataDir });
  const pass2 = await second.scrub();
  await second.close();
  flip(segs[2]!, 3);
  const third = await openLog(t, { dataDir });
  const pass3 = await third.scrub();
  const read = await readPartition(third, 0).catch(codeOf);
  const verify = await verifyEmbeddedLog(dataDir);
  assert.deepStrictEqual(
    {
      pass1: [pass1.segments, pass1.bytes, pass1.corrupt.length],
      pass2: [pass2.segments, pass2.corrupt.length],
      pass3: [pass3.segments, pass3.corrupt.length],
      read,
      verify: verify.findings.map((f) => [f.kind, f.file]),
    },
    {
      // 6 segments: m:0's five and m:1's one, every byte written by the first process
      pass1: [all.length, bytes, 0],
      pass2: [0, 0],
      pass3: [0, 0],
      read: 'LOG_CORRUPT',
      verify: [['corrupt', segs[2]]],
    },
  );
});

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
      after: await afterRecovery(repaired),
    },
    {
      refused: 'LOG_CORRUPT',
      names: true,
      actions: ['journal-quarantined'],
      quarantined: 1,
      group: [{ topic: TOPIC, partition: 0, offset: 30 }],
      after: expectedAfter([], 30),
    },
  );
});

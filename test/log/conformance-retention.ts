/**
 * The `Log` conformance suite (./conformance.ts), part: records leaving the log: retention,
 * deleteRecords, compaction.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import type { Consumer, LogRecord, RecordMetadata } from '../../src/log/index.ts';
import type { LogFactory } from './conformance.ts';
import { allPartitions, drain, pollRecords, readerFor, str, uniqueName } from './helpers.ts';

export function retentionTests(factory: LogFactory): void {
  test('retention deletes records older than retentionMs and moves the log start offset', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('retention');
    const kept = uniqueName('kept');
    const hourMs = 3_600_000;
    await log.createTopics([
      { name: topic, partitions: 1, retentionMs: hourMs },
      { name: kept, partitions: 1, retentionMs: null },
    ]);
    const producer = log.producer();
    t.after(() => producer.close());
    const old = Date.now() - 2 * hourMs;
    const oldRecords = Array.from({ length: 5 }, (_, i) => ({ value: `old${i}`, timestamp: old + i }));
    await producer.send(topic, oldRecords);
    await producer.send(kept, oldRecords);
    await factory.runMaintenance(log, async () => {
      const o = await log.partitionOffsets(topic, 0);
      return o.earliest === o.latest;
    });
    await producer.send(topic, [{ value: 'new' }]);
    const reader = readerFor(log, t, topic, 1);
    const keptReader = readerFor(log, t, kept, 1);
    const got = await pollRecords(reader, 1);
    const gotKept = await pollRecords(keptReader, 5);
    const offsets = await log.partitionOffsets(topic, 0);
    assert.deepStrictEqual(
      {
        values: got.map((r) => str(r.value)),
        earliest: offsets.earliest,
        latest: offsets.latest > offsets.earliest,
        kept: gotKept.length,
      },
      { values: ['new'], earliest: got[0]?.offset, latest: true, kept: 5 },
    );
  });

  test('deleteRecords moves the log start offset; a consumer below it is reset by autoOffsetReset', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('purge');
    const compacted = uniqueName('purge-compacted');
    await log.createTopics([
      { name: topic, partitions: 1, retentionMs: null },
      { name: compacted, partitions: 1, retentionMs: null, cleanupPolicy: 'compact' },
    ]);
    const producer = log.producer();
    t.after(() => producer.close());
    const meta = await producer.send(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })),
    );
    const tp = { topic, partition: 0 };
    const cut = meta[6]!.offset;
    // Two groups that committed below the cut, before it was made.
    const groupEarliest = uniqueName('g');
    const groupLatest = uniqueName('g');
    await log.setGroupOffsets(groupEarliest, [{ ...tp, offset: meta[2]!.offset }]);
    await log.setGroupOffsets(groupLatest, [{ ...tp, offset: meta[2]!.offset }]);
    await log.deleteRecords(topic, 0, cut);
    await log.deleteRecords(topic, 0, meta[3]!.offset); // lower: a no-op
    const afterDelete = await log.partitionOffsets(topic, 0);
    const codeOf = (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => 'ok',
        (e: unknown) => (isAppError(e) ? e.code : String(e)),
      );
    const errors = {
      beyondEnd: await codeOf(log.deleteRecords(topic, 0, afterDelete.latest + 1)),
      negative: await codeOf(log.deleteRecords(topic, 0, -1)),
      compacted: await codeOf(log.deleteRecords(compacted, 0, 0)),
      unknownTopic: await codeOf(log.deleteRecords(uniqueName('missing'), 0, 0)),
    };
    const earliest = log.consumer({ groupId: groupEarliest, autoOffsetReset: 'earliest' });
    const latest = log.consumer({ groupId: groupLatest, autoOffsetReset: 'latest' });
    const seeker = log.consumer({ groupId: uniqueName('g') });
    for (const c of [earliest, latest, seeker]) {
      t.after(() => c.close());
      c.assign([tp]);
    }
    const fromCommitted = await pollRecords(earliest, 4);
    // The 'latest' member is reset to the end: wait until it got there before appending.
    const deadline = performance.now() + 10_000;
    const positionOf = (c: Consumer): number | undefined => {
      try {
        return c.position(tp);
      } catch {
        return undefined; // not resolved yet (Kafka)
      }
    };
    while (positionOf(latest) !== afterDelete.latest && performance.now() < deadline) await latest.poll(50);
    const latestPosition = positionOf(latest);
    await producer.send(topic, [{ value: 'v10' }]);
    const fromLatest = await pollRecords(latest, 1);
    await pollRecords(seeker, 1);
    seeker.seek(tp, meta[0]!.offset);
    const afterSeekBelow = await pollRecords(seeker, 5);
    await seeker.seekToBeginning([tp]);
    const afterBeginning = await pollRecords(seeker, 5);
    const vals = (rs: LogRecord[]) => rs.map((r) => str(r.value));
    assert.deepStrictEqual(
      {
        earliest: afterDelete.earliest,
        latest: afterDelete.latest,
        errors,
        fromCommitted: vals(fromCommitted),
        latestPosition,
        fromLatest: vals(fromLatest),
        afterSeekBelow: vals(afterSeekBelow),
        afterBeginning: vals(afterBeginning),
      },
      {
        earliest: cut,
        latest: meta[9]!.offset + 1,
        errors: {
          beyondEnd: 'LOG_OFFSET_OUT_OF_RANGE',
          negative: 'LOG_INVALID_ARGUMENT',
          compacted: 'LOG_INVALID_ARGUMENT',
          unknownTopic: 'LOG_UNKNOWN_TOPIC',
        },
        fromCommitted: ['v6', 'v7', 'v8', 'v9'],
        latestPosition: meta[9]!.offset + 1,
        fromLatest: ['v10'],
        afterSeekBelow: ['v6', 'v7', 'v8', 'v9', 'v10'],
        afterBeginning: ['v6', 'v7', 'v8', 'v9', 'v10'],
      },
    );
  });

  test('compaction keeps the latest value per key, with its offset', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('compact');
    await log.createTopics([{ name: topic, partitions: 1, cleanupPolicy: 'compact' }]);
    const producer = log.producer();
    t.after(() => producer.close());
    const writes: [string, string | null][] = [
      ['a', 'a1'],
      ['b', 'b1'],
      ['a', 'a2'],
      ['c', 'c1'],
      ['b', null],
      ['a', 'a3'],
      ['d', 'd1'],
      ['c', 'c2'],
    ];
    const meta: RecordMetadata[] = [];
    for (const [key, value] of writes) meta.push(...(await producer.send(topic, [{ key, value }])));
    await factory.runMaintenance(log);
    await producer.send(topic, [{ key: 'e', value: 'e1' }]);
    const readAll = async (): Promise<LogRecord[]> => {
      const reader = log.consumer({ groupId: uniqueName('reader') });
      try {
        reader.assign(allPartitions(topic, 1));
        return await drain(reader, 500);
      } finally {
        await reader.close();
      }
    };
    // compacted: a3, d1, c2 and e1 are the only values left (the b tombstone may stay a while)
    await factory.runMaintenance(
      log,
      async () => (await readAll()).filter((r) => r.value !== null).length === 4,
    );
    const got = await readAll();
    const latestOffset = (k: string) => meta[writes.map((w) => w[0]).lastIndexOf(k)]!.offset;
    // A tombstone may stay for a while (or go): compare the rest exactly.
    assert.deepStrictEqual(
      got.filter((r) => r.value !== null).map((r) => [str(r.key), str(r.value), r.offset]),
      [
        ['a', 'a3', latestOffset('a')],
        ['d', 'd1', latestOffset('d')],
        ['c', 'c2', latestOffset('c')],
        ['e', 'e1', meta[meta.length - 1]!.offset + 1],
      ].sort((x, y) => (x[2] as number) - (y[2] as number)),
    );
    assert.ok(
      got.filter((r) => r.value === null).every((r) => str(r.key) === 'b' && r.offset === latestOffset('b')),
    );
  });
}

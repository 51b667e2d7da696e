import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openEmbeddedLog } from '../../../src/log/index.ts';

// Regression: a read that started at a sparse-index entry followed by small batches and then a batch
// larger than the read chunk re-read the same chunk forever (the poll never returned and blocked the
// event loop). Every poll must make progress whatever the batch sizes and maxPollRecords.
test('small polls through small and large batches make progress and keep order', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'log-read-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  t.after(() => log.close());
  await log.createTopics([{ name: 't', partitions: 1 }]);
  const producer = log.producer();
  const sizes = [10, 10, 3000, 1, 7, 2500, 10];
  let n = 0;
  for (const size of sizes) {
    await producer.send(
      't',
      Array.from({ length: size }, () => ({
        key: 'k',
        value: `value-${n++}-${'x'.repeat(40)}`,
        partition: 0,
      })),
    );
  }
  for (const maxPollRecords of [1, 30, 777]) {
    const consumer = log.consumer({ groupId: `g-${maxPollRecords}`, maxPollRecords });
    const tp = { topic: 't', partition: 0 };
    consumer.assign([tp]);
    const seen: string[] = [];
    while (consumer.position(tp) < n) {
      const records = await consumer.poll(100);
      assert.ok(records.length > 0 && records.length <= maxPollRecords, `poll returned ${records.length}`);
      for (const r of records) seen.push(r.value!.toString().split('-')[1]!);
    }
    await consumer.close();
    assert.deepStrictEqual(
      seen,
      Array.from({ length: n }, (_, i) => String(i)),
      `maxPollRecords ${maxPollRecords}`,
    );
  }
});

// A consumer that stopped inside a batch resumes there on its next poll (the batch is not read and
// checked again); a seek elsewhere, aborted transactions, appends and other consumers of the same
// partition must not disturb what it reads.
test('small polls resuming inside batches: seeks, aborted transactions and appends in between', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'log-read-resume-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  t.after(() => log.close());
  await log.createTopics([{ name: 't', partitions: 1 }]);
  const batch = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ key: 'k', value: `v${from + i}`, partition: 0 }));
  await log.producer().send('t', batch(0, 1500));
  const tx = await log.transactionalProducer('tx');
  tx.begin();
  await tx.send('t', batch(-100_000, 800)); // aborted: never seen by read_committed
  await tx.abort();
  tx.begin();
  await tx.send('t', batch(1500, 700));
  await tx.commit();
  const tp = { topic: 't', partition: 0 };
  const values = (rs: readonly { value: Buffer | null }[]) =>
    rs.map((r) => Number(r.value!.toString().slice(1)));
  const a = log.consumer({ groupId: 'a', maxPollRecords: 97, isolationLevel: 'read_committed' });
  const b = log.consumer({ groupId: 'b', maxPollRecords: 13, isolationLevel: 'read_committed' });
  a.assign([tp]);
  b.assign([tp]);
  const seenA: number[] = [];
  const seenB: number[] = [];
  let seeked = false;
  let appended = false;
  for (let round = 0; round < 1000 && (seenA.length < 2300 || seenB.length < 400); round++) {
    seenA.push(...values(await a.poll(0)));
    if (seenB.length < 400) seenB.push(...values(await b.poll(0)));
    if (!seeked && seenA.length > 600) {
      // back into the middle of the first batch: read again from there
      a.seek(tp, 250);
      seenA.length = 250;
      seeked = true;
    }
    if (!appended && seenA.length > 1200) {
      await log.producer().send('t', batch(2200, 100));
      appended = true;
    }
  }
  await a.close();
  await b.close();
  assert.deepStrictEqual(
    { a: seenA, b: seenB.slice(0, 400) },
    { a: Array.from({ length: 2300 }, (_, i) => i), b: Array.from({ length: 400 }, (_, i) => i) },
  );
});

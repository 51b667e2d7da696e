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

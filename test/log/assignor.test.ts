import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import { rangeAssign, validateTopicSpec } from '../../src/log/assignor.ts';
import { openEmbeddedLog, type TopicSpec } from '../../src/log/index.ts';
import { tempDir } from '../streams/helpers/log.ts';

test("range assignment: per topic, contiguous ranges over the topic's subscribers sorted by id, the first ones one extra", () => {
  const subscriptions = new Map([
    ['m-c', ['a', 'b']],
    ['m-a', ['a']],
    ['m-b', ['a', 'b', 'gone']],
  ]);
  const counts = new Map<string, number | undefined>([
    ['a', 7],
    ['b', 3],
    ['gone', undefined],
  ]);
  const view = (tps: { topic: string; partition: number }[] | undefined) =>
    (tps ?? []).map((tp) => `${tp.topic}${tp.partition}`);
  const got = rangeAssign(subscriptions, counts);
  assert.deepStrictEqual(
    { a: view(got.get('m-a')), b: view(got.get('m-b')), c: view(got.get('m-c')) },
    { a: ['a0', 'a1', 'a2'], b: ['a3', 'a4', 'b0', 'b1'], c: ['a5', 'a6', 'b2'] },
  );
});

test('topic specs: the same rules on both adapters (the embedded log refuses what Kafka would)', async (t) => {
  const bad: TopicSpec[] = [
    { name: 'bad name', partitions: 1 },
    { name: '..', partitions: 1 },
    { name: 'ok', partitions: 0 },
    { name: 'ok', partitions: 10_001 },
    { name: 'ok', partitions: 1, retentionMs: 1.5 },
    { name: 'ok', partitions: 1, retentionMs: -1 },
    { name: 'ok', partitions: 1, cleanupPolicy: 'keep' as never },
  ];
  const shared = bad.map((spec) => {
    try {
      validateTopicSpec(spec);
      return 'accepted';
    } catch (err) {
      return isAppError(err) ? err.code : String(err);
    }
  });
  const log = await openEmbeddedLog({ dataDir: await tempDir(t, 'assignor-'), fsync: 'never' });
  t.after(() => log.close());
  const embedded: string[] = [];
  for (const spec of bad) {
    embedded.push(
      await log.createTopics([spec]).then(
        () => 'accepted',
        (err: unknown) => (isAppError(err) ? err.code : String(err)),
      ),
    );
  }
  const refused = bad.map(() => 'LOG_INVALID_ARGUMENT');
  assert.deepStrictEqual({ shared, embedded }, { shared: refused, embedded: refused });
});

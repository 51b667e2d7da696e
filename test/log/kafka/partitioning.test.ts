/**
 * Keyed records land where Kafka's Java client puts them, checked against an independent client:
 * kcat (librdkafka) with its Java-compatible `murmur2_random` partitioner. The keys include ones
 * whose murmur2 is negative, where `@platformatic/kafka`'s default partitioner (`hash >>> 0`) would
 * disagree with Java's (`hash & 0x7fffffff`). Needs kcat (scripts/ci-install-system.sh installs it).
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { murmur2, openKafkaLog, partitionForKey } from '../../../src/log/index.ts';
import { brokers, requireBroker, uniqueName } from './broker.ts';

function kcat(args: string[], input?: string): string {
  try {
    return execFileSync('kcat', ['-b', brokers.join(','), ...args], {
      encoding: 'utf8',
      timeout: 30_000,
      ...(input === undefined ? {} : { input }),
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('kcat is not installed: `apt-get install -y kcat` (scripts/ci-install-system.sh does)');
    }
    throw err;
  }
}

test('keyed records land on the partition the Java client (and kcat murmur2_random) picks', async (t) => {
  await requireBroker();
  const log = await openKafkaLog({ brokers });
  t.after(() => log.close());
  const n = 6;
  const topic = uniqueName('partitioning');
  await log.createTopics([{ name: topic, partitions: n }]);
  const keys = ['foobar', ...Array.from({ length: 40 }, (_, i) => `user-${i}`)];
  const negative = keys.filter((k) => {
    const h = murmur2(Buffer.from(k));
    return h < 0 && (h >>> 0) % n !== (h & 0x7fffffff) % n;
  });
  const producer = log.producer();
  t.after(() => producer.close());
  const ours = await producer.send(
    topic,
    keys.map((key) => ({ key, value: 'ours' })),
  );
  kcat(
    ['-P', '-t', topic, '-K', ':', '-X', 'topic.partitioner=murmur2_random'],
    keys.map((k) => `${k}:kcat\n`).join(''),
  );
  const lines = kcat(['-C', '-t', topic, '-e', '-q', '-f', '%k %s %p\n']).trim().split('\n');
  const landed = (who: string) =>
    Object.fromEntries(
      lines
        .map((l) => l.split(' '))
        .filter(([, v]) => v === who)
        .map(([k, , p]) => [k, Number(p)]),
    );
  assert.ok(negative.length > 0, 'the keys include some whose murmur2 is negative');
  assert.deepStrictEqual(
    { foobar: ours[0]!.partition, ours: landed('ours'), byKcat: landed('kcat') },
    {
      foobar: 0,
      ours: Object.fromEntries(keys.map((k) => [k, partitionForKey(k, n)])),
      byKcat: Object.fromEntries(keys.map((k) => [k, partitionForKey(k, n)])),
    },
  );
});

/**
 * The `Log` conformance suite (./conformance.ts), part: topics and records: creation, key
 * partitioning and order, headers, timestamps and nulls.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import { type LogRecord, partitionForKey } from '../../src/log/index.ts';
import type { LogFactory } from './conformance.ts';
import { allPartitions, pollRecords, readerFor, str, uniqueName } from './helpers.ts';

const vectors = JSON.parse(readFileSync(new URL('../fixtures/murmur2-vectors.json', import.meta.url), 'utf8'))
  .murmur2 as Record<string, number>;

export function recordTests(factory: LogFactory): void {
  test('topics: create is idempotent, partitions must match, unknown topics fail', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('topics');
    await log.createTopics([{ name: topic, partitions: 3 }]);
    await log.createTopics([{ name: topic, partitions: 3 }]);
    await assert.rejects(log.createTopics([{ name: topic, partitions: 4 }]), (e) =>
      isAppError(e, 'LOG_TOPIC_MISMATCH'),
    );
    await assert.rejects(log.describeTopic(uniqueName('missing')), (e) => isAppError(e, 'LOG_UNKNOWN_TOPIC'));
    const d = await log.describeTopic(topic);
    assert.deepStrictEqual(
      {
        name: d.name,
        partitions: d.partitions,
        listed: (await log.listTopics()).some((x) => x.name === topic),
      },
      { name: topic, partitions: 3, listed: true },
    );
  });

  test('keyed records go to partitionForKey (murmur2) and keep their order per partition', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('order');
    const n = 4;
    await log.createTopics([{ name: topic, partitions: n }]);
    const producer = log.producer();
    t.after(() => producer.close());
    const keys = [...Object.keys(vectors), ...Array.from({ length: 14 }, (_, i) => `key-${i}`)];
    const sent: { key: string; seq: number; partition: number; offset: number }[] = [];
    for (let round = 0; round < 10; round++) {
      const records = keys.map((key, i) => ({ key, value: `${key}#${round * keys.length + i}` }));
      const meta = await producer.send(topic, records);
      meta.forEach((m, i) => {
        sent.push({
          key: keys[i]!,
          seq: round * keys.length + i,
          partition: m.partition,
          offset: m.offset,
        });
      });
    }
    const reader = readerFor(log, t, topic, n);
    const got = await pollRecords(reader, sent.length);
    const byPartition = (rs: { partition: number; offset: number; value: string }[]) =>
      Object.fromEntries(
        allPartitions(topic, n).map(({ partition }) => [
          partition,
          rs.filter((r) => r.partition === partition).map((r) => [r.offset, r.value]),
        ]),
      );
    const expected = {
      partitions: keys.map((k) => partitionForKey(k, n)),
      murmur2: Object.fromEntries(Object.entries(vectors).map(([k, h]) => [k, (h & 0x7fffffff) % n])),
      records: byPartition(sent.map((s) => ({ ...s, value: `${s.key}#${s.seq}` }))),
      offsetsIncrease: true,
    };
    const actual = {
      partitions: keys.map((k) => sent.find((s) => s.key === k)!.partition),
      murmur2: Object.fromEntries(
        Object.keys(vectors).map((k) => [k, sent.find((s) => s.key === k)!.partition]),
      ),
      records: byPartition(
        got.map((r) => ({ partition: r.partition, offset: r.offset, value: str(r.value)! })),
      ),
      offsetsIncrease: Object.values(byPartition(got.map((r) => ({ ...r, value: '' })))).every((rs) =>
        rs.every((r, i) => i === 0 || (r[0] as number) > (rs[i - 1]![0] as number)),
      ),
    };
    assert.deepStrictEqual(actual, expected);
  });

  test('headers, timestamps, null keys and values, explicit partitions round-trip', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('roundtrip');
    await log.createTopics([{ name: topic, partitions: 3 }]);
    const producer = log.producer();
    t.after(() => producer.close());
    // Recent: a record older than the topic's retention may be deleted at any time (a broker does).
    const ts = Math.floor(Date.now() / 1000) * 1000 - 60_000 + 123;
    const meta = await producer.send(topic, [
      {
        key: 'k',
        value: 'v',
        headers: [
          ['h1', 'a'],
          ['h2', Buffer.from([0, 1, 2])],
          ['h1', 'b'],
        ],
        timestamp: ts,
      },
      { key: null, value: null, partition: 2, timestamp: ts + 1 },
      { key: Buffer.from([0xff, 0x00]), value: Buffer.alloc(0), partition: 1, timestamp: ts + 2 },
    ]);
    // null keys without a partition are spread round-robin
    const rr = await producer.send(
      topic,
      Array.from({ length: 6 }, (_, i) => ({ value: `rr${i}` })),
    );
    const reader = readerFor(log, t, topic, 3);
    const got = await pollRecords(reader, 9);
    const simple = (r: LogRecord) => ({
      key: r.key === null ? null : [...r.key],
      value: r.value === null ? null : r.value.toString('hex'),
      timestamp: r.timestamp,
      headers: r.headers.map(([k, v]) => [k, v.toString('hex')]),
    });
    const find = (p: number, o: number) => got.find((r) => r.partition === p && r.offset === o)!;
    assert.deepStrictEqual(
      {
        records: meta.map((m) => simple(find(m.partition, m.offset))),
        explicit: [meta[1]!.partition, meta[2]!.partition],
        metaTimestamps: meta.map((m) => m.timestamp),
        roundRobinPartitions: new Set(rr.map((m) => m.partition)).size,
        total: got.length,
      },
      {
        records: [
          {
            key: [0x6b],
            value: Buffer.from('v').toString('hex'),
            timestamp: ts,
            headers: [
              ['h1', '61'],
              ['h2', '000102'],
              ['h1', '62'],
            ],
          },
          { key: null, value: null, timestamp: ts + 1, headers: [] },
          { key: [0xff, 0x00], value: '', timestamp: ts + 2, headers: [] },
        ],
        explicit: [2, 1],
        metaTimestamps: [ts, ts + 1, ts + 2],
        roundRobinPartitions: 3,
        total: 9,
      },
    );
  });
}

/**
 * Real producers' data on Kafka: 200 000 small records written by kcat in lz4 batches (librdkafka
 * puts up to a million records in one batch) and records with headers are consumed whole; a transaction of
 * 2 000 × 600-byte records to one partition is split under the broker's request limit (no
 * MESSAGE_TOO_LARGE) and kcat reads it back under read_committed; every codec, ours and
 * librdkafka's, is read back.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { type Log, type LogRecord, openKafkaLog } from '../../../src/log/index.ts';
import { brokers, requireBroker, uniqueName } from './broker.ts';

const run = promisify(execFile);

async function kafka(t: TestContext): Promise<Log> {
  await requireBroker();
  const log = await openKafkaLog({ brokers });
  t.after(() => log.close());
  return log;
}

/** kcat -P: one line per record (`key:value`), in as few batches (lz4 unless said) as librdkafka makes. */
function kcatProduce(
  topic: string,
  lines: string,
  headers: string[],
  { codec = 'lz4', lingerMs = 2000 } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'kcat',
      [
        '-P',
        '-b',
        brokers.join(','),
        '-t',
        topic,
        '-p',
        '0',
        '-K',
        ':',
        '-z',
        codec,
        ...headers.flatMap((h) => ['-H', h]),
        '-X',
        `linger.ms=${lingerMs}`,
        '-X',
        'batch.num.messages=1000000',
        '-X',
        'batch.size=100000000',
        '-X',
        'message.max.bytes=100000000',
      ],
      { stdio: ['pipe', 'ignore', 'inherit'] },
    );
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited ${code}`))));
    child.stdin.end(lines);
  });
}

test('200 000 small records in lz4 batches from kcat (librdkafka batches them by the hundred thousand), then records with headers, are consumed whole', async (t) => {
  const log = await kafka(t);
  const topic = uniqueName('kcat-lz4');
  await log.createTopics([{ name: topic, partitions: 1 }]);
  const n = 200_000;
  // Tiny records, so that the whole batch stays under the broker's 1 MiB limit once compressed.
  const lines = Array.from({ length: n }, (_, i) => `k${i % 100}:v`).join('\n');
  await kcatProduce(topic, `${lines}\n`, []);
  await kcatProduce(topic, 'h1:with-headers\n', ['source=kcat', 'trace=t1']);
  const c = log.consumer({ groupId: uniqueName('kcat-reader'), maxPollRecords: 50_000 });
  t.after(() => c.close());
  c.assign([{ topic, partition: 0 }]);
  const got: LogRecord[] = [];
  const deadline = Date.now() + 30_000;
  while (got.length < n + 1 && Date.now() < deadline) for (const r of await c.poll(500)) got.push(r);
  const last = got.at(-1);
  assert.deepStrictEqual(
    {
      count: got.length,
      ordered: got.every((r, i) => r.offset === i && (i === n || r.key?.toString() === `k${i % 100}`)),
      last: {
        key: last?.key?.toString(),
        value: last?.value?.toString(),
        headers: last?.headers.map(([k, v]) => `${k}=${v}`),
      },
    },
    {
      count: n + 1,
      ordered: true,
      last: { key: 'h1', value: 'with-headers', headers: ['source=kcat', 'trace=t1'] },
    },
  );
});

test('a transaction of 2 000 × 600-byte records to one partition commits; kcat reads it under read_committed', async (t) => {
  const log = await kafka(t);
  const topic = uniqueName('big-txn');
  await log.createTopics([{ name: topic, partitions: 1 }]);
  const tx = await log.transactionalProducer(uniqueName('big-tx'));
  t.after(() => tx.close());
  const value = 'x'.repeat(600);
  tx.begin();
  const sent = await tx.send(
    topic,
    Array.from({ length: 2_000 }, (_, i) => ({ key: `k${i}`, value, headers: [['n', String(i)] as const] })),
  );
  await tx.commit();
  const { stdout } = await run(
    'kcat',
    [
      '-C',
      '-b',
      brokers.join(','),
      '-t',
      topic,
      '-e',
      '-q',
      '-X',
      'isolation.level=read_committed',
      '-f',
      '%k %h %S\n',
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const rows = stdout.trim().split('\n');
  assert.deepStrictEqual(
    { offsets: sent.length, rows: rows.length, first: rows[0], last: rows.at(-1) },
    { offsets: 2_000, rows: 2_000, first: 'k0 n=0 600', last: 'k1999 n=1999 600' },
  );
});

test('records in every codec, from our producer (KAFKA_COMPRESSION) and from kcat, are read back whole', async (t) => {
  const log = await kafka(t);
  const topic = uniqueName('codecs');
  await log.createTopics([{ name: topic, partitions: 1 }]);
  const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
  const expected: string[] = [];
  for (const compression of codecs) {
    const ours = await openKafkaLog({ brokers, compression });
    try {
      const producer = ours.producer();
      const records = Array.from({ length: 50 }, (_, i) => ({
        key: `${compression}-${i}`,
        value: `${compression} ${'v'.repeat(i)}`,
        headers: [['i', String(i)] as const],
      }));
      await producer.send(topic, records);
      await producer.close();
      for (const r of records) expected.push(`${r.key}=${r.value} i:${r.headers[0]?.[1]}`);
    } finally {
      await ours.close();
    }
    if (compression === 'none') continue;
    const lines = Array.from({ length: 50 }, (_, i) => `kcat-${compression}-${i}:${'w'.repeat(i)}`);
    await kcatProduce(topic, `${lines.join('\n')}\n`, ['by=kcat'], { codec: compression, lingerMs: 50 });
    for (const l of lines) expected.push(`${l.replace(':', '=')} by:kcat`);
  }
  const c = log.consumer({ groupId: uniqueName('codec-reader') });
  t.after(() => c.close());
  c.assign([{ topic, partition: 0 }]);
  const got: string[] = [];
  const deadline = Date.now() + 20_000;
  while (got.length < expected.length && Date.now() < deadline) {
    for (const r of await c.poll(500))
      got.push(`${r.key}=${r.value}${r.headers.map(([k, v]) => ` ${k}:${v}`).join('')}`);
  }
  assert.deepStrictEqual(got, expected);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openKafkaLog } from '../../src/log/index.ts';
import { StreamsRuntime } from '../../src/streams/index.ts';
import { brokers, requireBroker, uniqueName } from '../log/kafka/broker.ts';
import { readCommitted, waitFor } from './helpers/log.ts';
import { windowedCountByUser } from './helpers/topologies.ts';

// The same streams code on Apache Kafka: a re-keyed windowed count (through a repartition topic and
// a changelogged store, committed by Kafka transactions) with a dead letter, stopped and restarted
// half-way so that the second instance restores the state from the changelog.
test('streams runtime on Apache Kafka: repartition, changelog restore, exactly-once outputs, DLQ', async (t) => {
  await requireBroker();
  const log = await openKafkaLog({ brokers });
  t.after(() => log.close());
  const input = uniqueName('in');
  const output = uniqueName('out');
  const app = uniqueName('app');
  await log.createTopics([
    { name: input, partitions: 3 },
    { name: output, partitions: 2 },
  ]);
  // Event times within the topics' retention (Kafka deletes by record timestamp).
  const base = Math.floor((Date.now() - 600_000) / 10_000) * 10_000;
  const producer = log.producer();
  const send = (from: number, to: number) =>
    producer.send(
      input,
      Array.from({ length: to - from }, (_, k) => {
        const i = from + k;
        return { key: `c${i % 7}`, value: JSON.stringify({ user: `u${i % 5}`, ts: base + i * 100 }) };
      }),
    );
  const start = async () => {
    const runtime = new StreamsRuntime({
      log,
      applicationId: app,
      topology: windowedCountByUser(input, output),
      idleAdvanceMs: null,
    });
    await runtime.start();
    return runtime;
  };
  const processed = (r: StreamsRuntime, n: number) =>
    waitFor(() => r.metrics().counters.recordsProcessed >= n, 60_000, `${n} records processed`);

  // First instance: the first half and a record that is not JSON (each valid record is processed
  // twice: from the input and from the repartition topic).
  await send(0, 150);
  await producer.send(input, [{ key: 'bad', value: 'not json' }]);
  const first = await start();
  await processed(first, 151 + 150);
  await first.stop();
  assert.equal(first.failure, undefined);
  // Second instance: restores the counts from the changelog, takes the second half, then records
  // that close the windows (sent once the half went through, or its stragglers would be late).
  const second = await start();
  t.after(() => second.stop());
  await send(150, 300);
  await processed(second, 300);
  await producer.send(
    input,
    Array.from({ length: 5 }, (_, u) => ({
      key: 'x',
      value: JSON.stringify({ user: `u${u}`, ts: base + 100_000 }),
    })),
  );
  await processed(second, 310);
  await waitFor(async () => (await readCommitted(log, output)).flat().length >= 15, 60_000, 'outputs');
  await second.stop();
  assert.equal(second.failure, undefined);
  await producer.close();

  const out = (await readCommitted(log, output))
    .flat()
    .map((r) => `${r.key?.toString()}=${r.value?.toString()}`)
    .sort();
  const expected: string[] = [];
  for (let u = 0; u < 5; u++) {
    for (let w = 0; w < 3; w++) {
      const start = base + w * 10_000;
      expected.push(`{"key":"u${u}","startMs":${start},"endMs":${start + 10_000}}=20`);
    }
  }
  const dlq = (await readCommitted(log, `${input}.dlq`)).flat();
  assert.deepStrictEqual(
    { out, dlq: dlq.map((r) => JSON.parse(r.value?.toString() ?? '{}').stage) },
    { out: expected.sort(), dlq: ['deserialization'] },
  );
});

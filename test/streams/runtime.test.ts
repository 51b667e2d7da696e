import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Codecs, StreamsRuntime } from '../../src/streams/index.ts';
import { readCommitted, tempLog, waitFor } from './helpers/log.ts';
import { windowedCountByUser } from './helpers/topologies.ts';

const countByUser = windowedCountByUser();

test('runtime: re-keyed windowed count on the embedded log, with DLQ and final results', async (t) => {
  const log = await tempLog(t);
  await log.createTopics([
    { name: 'in', partitions: 3 },
    { name: 'out', partitions: 2 },
  ]);
  const producer = log.producer();
  const records = [];
  for (let i = 0; i < 300; i++) {
    records.push({ key: `c${i % 7}`, value: JSON.stringify({ user: `u${i % 5}`, ts: 1_000_000 + i * 100 }) });
  }
  records.push({ key: 'bad', value: 'not json' });
  await producer.send('in', records);
  const runtime = new StreamsRuntime({
    log,
    applicationId: 'rt1',
    topology: countByUser,
    idleAdvanceMs: null,
  });
  await runtime.start();
  t.after(() => runtime.stop());
  // Input partitions interleave in the repartition topic, so the records that close the windows are
  // sent only once the burst went through (otherwise some of the burst would be late).
  await waitFor(() => runtime.metrics().counters.recordsProcessed === 601, 20_000, 'the burst');
  const closers = [];
  for (let u = 0; u < 5; u++)
    closers.push({ key: 'x', value: JSON.stringify({ user: `u${u}`, ts: 2_000_000 }) });
  await producer.send('in', closers);
  await waitFor(async () => (await readCommitted(log, 'out')).flat().length >= 15, 20_000, 'outputs');
  await runtime.stop();
  const out = (await readCommitted(log, 'out'))
    .flat()
    .map((r) => `${r.key?.toString()}=${r.value?.toString()}`)
    .sort();
  const expected: string[] = [];
  for (let u = 0; u < 5; u++) {
    for (let w = 0; w < 3; w++) {
      const start = 1_000_000 + w * 10_000;
      expected.push(`{"key":"u${u}","startMs":${start},"endMs":${start + 10_000}}=20`);
    }
  }
  const dlq = (await readCommitted(log, 'in.dlq')).flat();
  assert.deepStrictEqual(
    {
      out,
      dlq: dlq.map((r) => JSON.parse(r.value?.toString() ?? '{}').stage),
      state: runtime.state,
      counters: runtime.metrics().counters,
    },
    {
      out: expected.sort(),
      dlq: ['deserialization'],
      state: 'stopped',
      counters: {
        recordsProcessed: 306 + 305,
        lateRecords: 0,
        deadLettered: 1,
        skipped: 0,
        punctuationErrors: 0,
      },
    },
  );
});

test('runtime: outputs to an eager-commit topic are committed at once, with everything before them', async (t) => {
  const log = await tempLog(t);
  await log.createTopics([
    { name: 'in', partitions: 2 },
    { name: 'alerts', partitions: 1 },
    { name: 'plain', partitions: 1 },
  ]);
  const runtime = new StreamsRuntime({
    log,
    applicationId: 'eager',
    // No commit by the interval during the test: only the eager topic can make one.
    commitIntervalMs: 600_000,
    eagerCommitTopics: ['alerts'],
    idleAdvanceMs: null,
    topology: (b) => {
      const all = b.stream('in', { key: Codecs.string, value: Codecs.string });
      all.filter((_k, v) => v === 'urgent').to('alerts', { key: Codecs.string, value: Codecs.string });
      all.filter((_k, v) => v !== 'urgent').to('plain', { key: Codecs.string, value: Codecs.string });
    },
  });
  await runtime.start();
  t.after(() => runtime.stop());
  const producer = log.producer();
  await producer.send(
    'in',
    Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: 'plain' })),
  );
  await waitFor(() => runtime.metrics().counters.recordsProcessed === 20, 10_000, 'the plain records');
  await new Promise((r) => setTimeout(r, 300));
  const plainBefore = (await readCommitted(log, 'plain')).flat().length;
  await producer.send('in', [{ key: 'k', value: 'urgent' }]);
  await waitFor(async () => (await readCommitted(log, 'alerts')).flat().length === 1, 5_000, 'the alert');
  assert.deepStrictEqual(
    { plainBefore, plainWithTheAlert: (await readCommitted(log, 'plain')).flat().length },
    { plainBefore: 0, plainWithTheAlert: 20 },
  );
});

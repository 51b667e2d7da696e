import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Codecs,
  type StreamsBuilder,
  StreamsRuntime,
  TimeWindows,
  windowedKeyCodec,
} from '../../src/streams/index.ts';
import { readCommitted, tempLog, waitFor } from './helpers/log.ts';

const str = Codecs.string;

function counts(b: StreamsBuilder): void {
  b.stream('in', { key: str, value: str })
    .groupByKey({ key: str })
    .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 60_000))
    .count({ name: 'counts' })
    .to('out', { key: windowedKeyCodec(str), value: Codecs.json<number>() });
}

test('rebalance: two instances share the partitions; stopping one moves its tasks and state', async (t) => {
  const log = await tempLog(t);
  await log.createTopics([
    { name: 'in', partitions: 4 },
    { name: 'out', partitions: 2 },
  ]);
  const producer = log.producer();
  const burst = (perKey: number, ts: number) =>
    Array.from({ length: 20 * perKey }, (_, i) => ({
      key: `k${i % 20}`,
      value: 'x',
      timestamp: ts + (i % 1000),
    }));
  const options = {
    log,
    applicationId: 'rebalance',
    topology: counts,
    idleAdvanceMs: null,
    commitIntervalMs: 50,
  };
  const a = new StreamsRuntime({ ...options, instanceId: 'a' });
  const b = new StreamsRuntime({ ...options, instanceId: 'b' });
  t.after(() => Promise.all([a.stop(), b.stop()]));
  await a.start();
  await b.start();
  await producer.send('in', burst(3, 1_000_000));
  const processed = () => a.metrics().counters.recordsProcessed + b.metrics().counters.recordsProcessed;
  await waitFor(
    () => processed() === 60 && a.metrics().tasks.length > 0 && b.metrics().tasks.length > 0,
    20_000,
    'phase 1',
  );
  const shared = [a.metrics().tasks, b.metrics().tasks];

  await b.stop(); // its tasks move to a, whose new tasks restore b's counts from the changelog
  await producer.send('in', burst(2, 1_001_000));
  await waitFor(
    () => a.metrics().tasks.length === 4 && a.metrics().counters.recordsProcessed >= 40,
    20_000,
    'phase 2',
  );
  // Far-future records on every key close the window.
  await producer.send(
    'in',
    Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: 'x', timestamp: 2_000_000 })),
  );
  await waitFor(async () => (await readCommitted(log, 'out')).flat().length >= 20, 20_000, 'final counts');
  await a.stop();
  const out = (await readCommitted(log, 'out'))
    .flat()
    .map((r) => `${r.key?.toString()}=${r.value?.toString()}`);
  assert.deepStrictEqual(
    {
      shared: shared.map((tasks) => tasks.length).sort(),
      states: [a.state, b.state],
      out: out.sort(),
    },
    {
      shared: [2, 2],
      states: ['stopped', 'stopped'],
      out: Array.from({ length: 20 }, (_, i) => `{"key":"k${i}","startMs":1000000,"endMs":1010000}=5`).sort(),
    },
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Codecs,
  type EmitStrategy,
  type StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
  windowedKeyCodec,
} from '../../src/streams/index.ts';

const str = Codecs.string;

function countTopology(windows: TimeWindows, emit: EmitStrategy) {
  return (b: StreamsBuilder) => {
    b.stream('in', { key: str, value: str })
      .groupByKey({ key: str })
      .windowedBy(windows)
      .count({ name: 'counts', emit })
      .to('out', { key: windowedKeyCodec(str), value: Codecs.json<number>() });
  };
}

function drive(windows: TimeWindows, emit: EmitStrategy, records: Array<[string, number]>) {
  const driver = new TopologyTestDriver(countTopology(windows, emit));
  const input = driver.createInputTopic('in', { key: str, value: str });
  const output = driver.createOutputTopic('out', {
    key: windowedKeyCodec(str),
    value: Codecs.json<number>(),
  });
  const emitted: string[] = [];
  for (const [key, ts] of records) {
    input.pipe(key, 'v', ts);
    for (const r of output.readRecords())
      emitted.push(`@${ts}: ${r.key.key}[${r.key.startMs},${r.key.endMs})=${r.value}`);
  }
  return { emitted, metrics: driver.metrics(), open: driver.getStore<{ size(): number }>('counts').size() };
}

test('tumbling, emit on close: end + grace is the closing instant; late beyond, in order within', () => {
  // size 10 s, grace 5 s: [0, 10000) accepts while stream time < 15000.
  const result = drive(TimeWindows.ofSizeAndGrace(10_000, 5_000), 'onWindowClose', [
    ['a', 1_000],
    ['a', 9_999],
    ['a', 14_999], // stream time 14 999: [0,10000) still open
    ['a', 3_000], // out of order within grace: counted in [0, 10000)
    ['b', 15_000], // stream time reaches end + grace exactly: [0,10000) closes and is emitted
    ['a', 9_000], // late beyond grace: dropped, counted
    ['a', 10_000], // [10000, 20000) still open
    ['a', 30_000], // closes [10000,20000)
  ]);
  assert.deepStrictEqual(result, {
    emitted: ['@15000: a[0,10000)=3', '@30000: a[10000,20000)=2', '@30000: b[10000,20000)=1'],
    metrics: {
      recordsProcessed: 8,
      lateRecords: 1,
      deadLettered: 0,
      skipped: 0,
      punctuationErrors: 0,
      stateEntries: 1,
      streamTimeMs: 30_000,
    },
    open: 1,
  });
});

test('tumbling, no grace: a record at the window end closes it', () => {
  const result = drive(TimeWindows.ofSizeWithNoGrace(10_000), 'onWindowClose', [
    ['a', 9_999],
    ['a', 10_000],
    ['a', 9_999],
  ]);
  assert.deepStrictEqual(result.emitted, ['@10000: a[0,10000)=1']);
  assert.equal(result.metrics.lateRecords, 1);
});

test('hopping 30 s / 10 s, emit on update: every open window of the record changes', () => {
  const result = drive(TimeWindows.ofSizeAndGrace(30_000, 5_000).advanceBy(10_000), 'onUpdate', [
    ['a', 25_000],
    ['a', 36_000], // stream time 36 000: [0,30000) open until 35 000 → closed now
    ['a', 29_000], // [0,30000) closed (late, counted); [10000,40000) and [20000,50000) open
  ]);
  assert.deepStrictEqual(result.emitted, [
    '@25000: a[0,30000)=1',
    '@25000: a[10000,40000)=1',
    '@25000: a[20000,50000)=1',
    '@36000: a[10000,40000)=2',
    '@36000: a[20000,50000)=2',
    '@36000: a[30000,60000)=1',
    '@29000: a[10000,40000)=3',
    '@29000: a[20000,50000)=3',
  ]);
  assert.equal(result.metrics.lateRecords, 1);
});

test('hopping, emit on close: windows close in end order with their final counts', () => {
  const result = drive(TimeWindows.ofSizeAndGrace(20_000, 0).advanceBy(10_000), 'onWindowClose', [
    ['a', 5_000],
    ['b', 15_000],
    ['a', 19_000],
    ['a', 40_000],
  ]);
  // Same end: in key order (deterministic across restarts), whatever the order of creation.
  assert.deepStrictEqual(result.emitted, [
    '@40000: a[0,20000)=2',
    '@40000: b[0,20000)=1',
    '@40000: a[10000,30000)=1',
    '@40000: b[10000,30000)=1',
  ]);
});

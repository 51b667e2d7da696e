import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Codecs,
  type EmitStrategy,
  SlidingWindows,
  type StreamsBuilder,
  TopologyTestDriver,
  windowedKeyCodec,
} from '../../src/streams/index.ts';

const str = Codecs.string;
const outCodecs = { key: windowedKeyCodec(str), value: Codecs.json<number[]>() };

/** Sliding windows that collect record ids, so window contents are visible. */
function idsTopology(windows: SlidingWindows, emit: EmitStrategy) {
  return (b: StreamsBuilder) => {
    b.stream('in', { key: str, value: Codecs.json<number>() })
      .groupByKey({ key: str, value: Codecs.json<number>() })
      .windowedBy(windows)
      .aggregate<number[]>(
        () => [],
        (_k, id, ids) => [...ids, id],
        { name: 'ids', emit },
      )
      .to('out', outCodecs);
  };
}

function drive(windows: SlidingWindows, emit: EmitStrategy, records: Array<[string, number, number]>) {
  const driver = new TopologyTestDriver(idsTopology(windows, emit));
  const input = driver.createInputTopic('in', { key: str, value: Codecs.json<number>() });
  const output = driver.createOutputTopic('out', outCodecs);
  const emitted: string[] = [];
  for (const [key, id, ts] of records) {
    input.pipe(key, id, ts);
    for (const r of output.readRecords()) {
      if (r.key.key !== 'flush')
        emitted.push(`${r.key.key}[${r.key.startMs},${r.key.endMs}]{${r.value.join(',')}}`);
    }
  }
  return { emitted, late: driver.metrics().lateRecords, buffered: driver.metrics().stateEntries };
}

test('sliding windows: the Kafka Streams javadoc example, final results', () => {
  const result = drive(SlidingWindows.ofTimeDifferenceWithNoGrace(5_000), 'onWindowClose', [
    ['a', 1, 8_000],
    ['a', 2, 9_200],
    ['a', 3, 12_400],
    ['flush', 0, 100_000],
  ]);
  assert.deepStrictEqual(result, {
    emitted: [
      'a[3000,8000]{1}',
      'a[4200,9200]{1,2}',
      'a[7400,12400]{1,2,3}',
      'a[8001,13001]{2,3}',
      'a[9201,14201]{3}',
    ],
    late: 0,
    buffered: 1, // only the flush record is still buffered
  });
});

test('sliding windows: the javadoc example, emit on update (each window when it is created or changes)', () => {
  const result = drive(SlidingWindows.ofTimeDifferenceAndGrace(5_000, 10_000), 'onUpdate', [
    ['a', 1, 8_000],
    ['a', 2, 9_200],
    ['a', 3, 12_400],
  ]);
  assert.deepStrictEqual(result.emitted, [
    'a[3000,8000]{1}',
    'a[4200,9200]{1,2}',
    'a[8001,13001]{2}',
    'a[7400,12400]{1,2,3}',
    'a[8001,13001]{2,3}',
    'a[9201,14201]{3}',
  ]);
});

test('sliding windows: out of order within grace, exactly at end + grace, late beyond grace', () => {
  // D = 5 s, grace 2 s: [3000, 8000] (inclusive end) accepts records while stream time <= 10 000.
  const result = drive(SlidingWindows.ofTimeDifferenceAndGrace(5_000, 2_000), 'onUpdate', [
    ['a', 1, 8_000],
    ['b', 0, 10_000], // stream time = end + grace exactly: [3000,8000] is still open
    ['a', 2, 6_000], // its own left window [1000,6000] is closed (late, counted) but it joins the open
    // [3000,8000] (aggregates fold in timestamp order: {2,1}) and gets a right window [6001,11001]
    ['b', 0, 10_001], // stream time passes 8000 + grace: [3000,8000] closes
    ['a', 3, 7_000], // late: [2000,7000] closed; joins the open [6001,11001]; own right window [7001,12001]
    ['a', 4, 1_000], // 1000 + 1 + 5000 + grace < stream time: every window closed, dropped
  ]);
  assert.deepStrictEqual(
    { ...result, emitted: result.emitted.filter((w) => w.startsWith('a')) },
    {
      emitted: [
        'a[3000,8000]{1}',
        'a[3000,8000]{2,1}',
        'a[6001,11001]{1}',
        'a[6001,11001]{3,1}',
        'a[7001,12001]{1}',
      ],
      late: 3,
      buffered: 5,
    },
  );
});

test('sliding windows: identical timestamps share windows; a gap longer than D starts afresh', () => {
  const result = drive(SlidingWindows.ofTimeDifferenceWithNoGrace(1_000), 'onWindowClose', [
    ['a', 1, 10_000],
    ['a', 2, 10_000],
    ['a', 3, 10_500],
    ['a', 4, 20_000],
    ['flush', 0, 100_000],
  ]);
  assert.deepStrictEqual(result.emitted, [
    'a[9000,10000]{1,2}',
    'a[9500,10500]{1,2,3}',
    'a[10001,11001]{3}',
    'a[19000,20000]{4}',
  ]);
});

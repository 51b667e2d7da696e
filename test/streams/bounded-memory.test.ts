import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Codecs,
  SlidingWindows,
  type StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
  windowedKeyCodec,
} from '../../src/streams/index.ts';

const str = Codecs.string;

function topology(b: StreamsBuilder): void {
  const grouped = b.stream('in', { key: str, value: str }).groupByKey({ key: str });
  const out = { key: windowedKeyCodec(str), value: Codecs.json<number>() };
  grouped
    .windowedBy(TimeWindows.ofSizeAndGrace(30_000, 5_000).advanceBy(5_000))
    .count({ name: 'hopping' })
    .to('hopping-out', out);
  grouped
    .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(30_000, 5_000))
    .count({ name: 'sliding' })
    .to('sliding-out', out);
}

test('bounded memory: store entries stop growing once windows expire (many keys, long run)', () => {
  const driver = new TopologyTestDriver(topology);
  const input = driver.createInputTopic('in', { key: str, value: str });
  const hopping = driver.getStore<{ size(): number }>('hopping');
  const sliding = driver.getStore<{ size(): number }>('sliding');
  const samples: Array<[number, number]> = [];
  // 200 000 records over 2 000 keys, 20 ms apart: 4 000 s of event time, ~130 windows per key.
  for (let i = 0; i < 200_000; i++) {
    input.pipe(`k${(i * 7919) % 2_000}`, 'v', 1_000_000 + i * 20);
    if (i % 20_000 === 19_999) samples.push([hopping.size(), sliding.size()]);
  }
  // Hopping 30 s / 5 s with 5 s grace: at most (30 + 5) / 5 + 1 = 8 open windows per key.
  // Sliding 30 s + 5 s grace: a record is buffered for ~35 s (1 750 records at 20 ms).
  const maxHopping = Math.max(...samples.map(([h]) => h));
  const maxSliding = Math.max(...samples.map(([, s]) => s));
  assert.deepStrictEqual(
    {
      hoppingBounded: maxHopping <= 2_000 * 8,
      slidingBounded: maxSliding <= 1_850,
      steady: samples.slice(2).every(([h, s]) => h >= maxHopping * 0.8 && s >= maxSliding * 0.8),
    },
    { hoppingBounded: true, slidingBounded: true, steady: true },
    JSON.stringify(samples),
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import { SlidingWindows, TimeWindows } from '../../src/streams/index.ts';

test('time windows: epoch-aligned starts, tumbling and hopping', () => {
  const tumbling = TimeWindows.ofSizeAndGrace(10_000, 5_000);
  const hopping = TimeWindows.ofSizeAndGrace(30_000, 5_000).advanceBy(10_000);
  assert.deepStrictEqual(
    {
      tumbling: [0, 9_999, 10_000, 47_000].map((t) => tumbling.windowStartsFor(t)),
      hopping: [0, 9_999, 47_000, 60_000].map((t) => hopping.windowStartsFor(t)),
      fields: { ...hopping },
    },
    {
      tumbling: [[0], [0], [10_000], [40_000]],
      hopping: [[0], [0], [20_000, 30_000, 40_000], [40_000, 50_000, 60_000]],
      fields: { sizeMs: 30_000, advanceMs: 10_000, graceMs: 5_000 },
    },
  );
});

test('window factories validate their arguments', () => {
  const bad = [
    () => TimeWindows.ofSizeAndGrace(0, 0),
    () => TimeWindows.ofSizeAndGrace(10, -1),
    () => TimeWindows.ofSizeWithNoGrace(1.5),
    () => TimeWindows.ofSizeWithNoGrace(10).advanceBy(11),
    () => TimeWindows.ofSizeWithNoGrace(10).advanceBy(0),
    () => SlidingWindows.ofTimeDifferenceAndGrace(0, 0),
    () => SlidingWindows.ofTimeDifferenceWithNoGrace(Number.NaN),
  ];
  const codes = bad.map((f) => {
    try {
      f();
      return 'no error';
    } catch (err) {
      return isAppError(err) ? err.code : String(err);
    }
  });
  assert.deepStrictEqual(codes, Array(bad.length).fill('STREAMS_WINDOW'));
  assert.deepStrictEqual(
    { ...SlidingWindows.ofTimeDifferenceWithNoGrace(5) },
    { timeDifferenceMs: 5, graceMs: 0 },
  );
});

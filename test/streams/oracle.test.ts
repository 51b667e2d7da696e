/**
 * Oracle tests: random traffic through the driver, compared with windowed counts recomputed by
 * brute force from the definitions in src/streams/windows.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Codecs,
  type EmitStrategy,
  SlidingWindows,
  type StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
  windowedKeyCodec,
} from '../../src/streams/index.ts';
import { type Event, traffic } from './helpers/traffic.ts';

const str = Codecs.string;
const outCodecs = { key: windowedKeyCodec(str), value: Codecs.json<number>() };
const FLUSH = 'zz-flush';

function run(windows: TimeWindows | SlidingWindows, emit: EmitStrategy, events: readonly Event[]) {
  const topology = (b: StreamsBuilder) => {
    const grouped = b.stream('in', { key: str, value: str }).groupByKey({ key: str });
    const counted =
      windows instanceof TimeWindows
        ? grouped.windowedBy(windows).count({ name: 'c', emit })
        : grouped.windowedBy(windows).count({ name: 'c', emit });
    counted.to('out', outCodecs);
  };
  const driver = new TopologyTestDriver(topology);
  const input = driver.createInputTopic('in', { key: str, value: str });
  for (const e of events) input.pipe(e.key, String(e.id), e.ts);
  const last = events.reduce((m, e) => Math.max(m, e.ts), 0);
  input.pipe(FLUSH, 'x', last + 10_000_000); // closes every window of the traffic
  const out = driver.createOutputTopic('out', outCodecs).readRecords();
  const results = new Map<string, number>();
  const order: string[] = [];
  for (const r of out) {
    if (r.key.key === FLUSH) continue;
    const id = `${r.key.key}@${r.key.startMs}-${r.key.endMs}`;
    results.set(id, r.value);
    order.push(id);
  }
  return { results, order, late: driver.metrics().lateRecords, stateEntries: driver.metrics().stateEntries };
}

/** Time windows by brute force: a record counts in each of its windows that is open at its arrival. */
function timeOracle(w: TimeWindows, events: readonly Event[]) {
  const counts = new Map<string, number>();
  let st = Number.NEGATIVE_INFINITY;
  let late = 0;
  for (const e of events) {
    st = Math.max(st, e.ts);
    let isLate = false;
    for (let start = 0; start <= e.ts; start += w.advanceMs) {
      const end = start + w.sizeMs;
      if (e.ts >= end) continue;
      if (end + w.graceMs <= st) {
        isLate = true;
        continue;
      }
      const id = `${e.key}@${start}-${end}`;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    if (isLate) late++;
  }
  return { counts, late };
}

/** Sliding windows by brute force (no late records): every left window, and every non-empty right window. */
function slidingOracle(w: SlidingWindows, events: readonly Event[]) {
  const D = w.timeDifferenceMs;
  const byKey = new Map<string, number[]>();
  for (const e of events) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.ts]);
  const counts = new Map<string, number>();
  for (const [key, times] of byKey) {
    const ends = new Set<number>();
    for (const t of times) {
      ends.add(t);
      if (times.some((u) => u > t && u <= t + 1 + D)) ends.add(t + 1 + D);
    }
    for (const end of ends)
      counts.set(`${key}@${end - D}-${end}`, times.filter((u) => u >= end - D && u <= end).length);
  }
  return counts;
}

const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

test('oracle: tumbling and hopping counts with late records, final and on update', () => {
  const cases = [
    { windows: TimeWindows.ofSizeAndGrace(10_000, 2_000), seed: 1 },
    { windows: TimeWindows.ofSizeAndGrace(30_000, 3_000).advanceBy(5_000), seed: 2 },
    { windows: TimeWindows.ofSizeWithNoGrace(7_000).advanceBy(3_000), seed: 3 },
  ];
  for (const { windows, seed } of cases) {
    // Disorder up to 8 s against grace of 0-3 s: plenty of late records.
    const events = traffic(seed, 4_000, 12, 400, 8_000);
    const expected = timeOracle(windows, events);
    const final = run(windows, 'onWindowClose', events);
    const update = run(windows, 'onUpdate', events);
    assert.ok(expected.late > 50, `the traffic has late records (${expected.late})`);
    assert.deepStrictEqual(
      {
        final: sorted(final.results),
        finalEmittedOnce: final.order.length === final.results.size,
        update: sorted(update.results),
        late: [final.late, update.late],
        stateAfterFlush: final.stateEntries,
      },
      {
        final: sorted(expected.counts),
        finalEmittedOnce: true,
        update: sorted(expected.counts),
        late: [expected.late, expected.late],
        // only the flush record's windows remain
        stateAfterFlush: windows.windowStartsFor(Math.max(...events.map((e) => e.ts)) + 10_000_000).length,
      },
      `windows ${JSON.stringify(windows)}`,
    );
  }
});

test('oracle: sliding counts (KIP-450) against the brute-force definition', () => {
  for (const [seed, D, grace] of [
    [11, 5_000, 3_000],
    [12, 30_000, 5_000],
    [13, 1_000, 2_000],
  ] as const) {
    const windows = SlidingWindows.ofTimeDifferenceAndGrace(D, grace);
    // Disorder below the grace: no record is late, so the final windows are the definition's.
    const events = traffic(seed, 2_500, 10, 600, grace);
    const expected = slidingOracle(windows, events);
    const final = run(windows, 'onWindowClose', events);
    const update = run(windows, 'onUpdate', events);
    assert.deepStrictEqual(
      {
        final: sorted(final.results),
        finalEmittedOnce: final.order.length === final.results.size,
        update: sorted(update.results),
        late: [final.late, update.late],
        bufferedAfterFlush: final.stateEntries,
      },
      {
        final: sorted(expected),
        finalEmittedOnce: true,
        update: sorted(expected),
        late: [0, 0],
        bufferedAfterFlush: 1,
      },
      `sliding D=${D} grace=${grace}`,
    );
  }
});

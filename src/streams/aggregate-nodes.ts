/** The stateful nodes behind count / aggregate / reduce. */
import type { Codec } from './codec.ts';
import type { NodeContext, NodeImpl } from './node.ts';
import type { SlidingWindowStore } from './sliding-store.ts';
import { keyIdOf, type TimeWindowStore, type WindowEntry } from './stores.ts';
import type { EmitStrategy, KeyValueStore, Windowed } from './types.ts';
import type { SlidingWindows, TimeWindows } from './windows.ts';

export type Aggregator<K, V, A> = (key: K, value: V, aggregate: A) => A;

const NO_HEADERS: readonly [] = [];

/**
 * Tumbling/hopping aggregation. A record is applied to each of its windows that is still open
 * (end > streamTime − grace); if any was closed it is counted late. Windows close when stream time
 * moves past end + grace: with `onWindowClose` the final aggregate is forwarded then (timestamp
 * end − 1, the window's last millisecond); with `onUpdate` every change is forwarded with the
 * record's timestamp and closing only purges.
 */
export function timeWindowAggregate<K, V, A>(opts: {
  windows: TimeWindows;
  storeName: string;
  keyCodec: Codec<K>;
  initializer: () => A;
  aggregator: Aggregator<K, V, A>;
  emit: EmitStrategy;
}): (ctx: NodeContext) => NodeImpl {
  const { windows, storeName, keyCodec, initializer, aggregator, emit } = opts;
  const { sizeMs, advanceMs, graceMs } = windows;
  const onUpdate = emit === 'onUpdate';
  return (ctx) => {
    const task = ctx.task;
    const store = task.store<TimeWindowStore<K, A>>(storeName);
    const emitFinal = (e: WindowEntry<K, A>): void => {
      const key: Windowed<K> = { key: e.key, startMs: e.start, endMs: e.end };
      ctx.forward({ key, value: e.agg, timestamp: e.end - 1, headers: NO_HEADERS });
    };
    const noop = (): void => {};
    task.onStreamTime((st) => {
      const limit = st - graceMs;
      if (store.firstEnd() <= limit) store.closeUpTo(limit, onUpdate ? noop : emitFinal);
    });
    const apply = (id: string, key: K, value: V, start: number, ts: number, limit: number): boolean => {
      const end = start + sizeMs;
      if (end <= limit) return false;
      let e = store.get(id, end);
      if (e === undefined) e = store.create(id, key, start, initializer());
      e.agg = aggregator(key, value, e.agg);
      store.markDirty(e);
      if (onUpdate) {
        ctx.forward({
          key: { key, startMs: start, endMs: end },
          value: e.agg,
          timestamp: ts,
          headers: NO_HEADERS,
        });
      }
      return true;
    };
    return {
      process(record) {
        const key = record.key as K;
        const value = record.value as V;
        const ts = record.timestamp;
        const limit = task.streamTime() - graceMs;
        const id = keyIdOf(key, keyCodec);
        if (sizeMs === advanceMs) {
          if (!apply(id, key, value, ts - (ts % sizeMs), ts, limit)) {
            task.late(`window [${ts - (ts % sizeMs)}, ${ts - (ts % sizeMs) + sizeMs}) closed`);
          }
          return;
        }
        let closed = -1;
        for (const start of windows.windowStartsFor(ts)) {
          if (!apply(id, key, value, start, ts, limit) && closed < 0) closed = start;
        }
        if (closed >= 0) task.late(`window [${closed}, ${closed + sizeMs}) closed`);
      },
    };
  };
}

/**
 * Sliding (KIP-450) aggregation. Ends are inclusive, so window [s, e] is open while
 * streamTime <= e + grace (it closes once streamTime > e + grace). A record whose every window has
 * closed (t + 1 + D + grace < streamTime) is dropped; one whose own left window has closed
 * (t + grace < streamTime) is counted late but still added to the open windows it belongs to. `onUpdate` forwards every created or changed
 * open window (timestamp: the record's); `onWindowClose` forwards each window once when it closes
 * (timestamp: its inclusive end).
 */
export function slidingWindowAggregate<K, V, A>(opts: {
  windows: SlidingWindows;
  storeName: string;
  keyCodec: Codec<K>;
  emit: EmitStrategy;
}): (ctx: NodeContext) => NodeImpl {
  const { windows, storeName, keyCodec, emit } = opts;
  const D = windows.timeDifferenceMs;
  const graceMs = windows.graceMs;
  const onUpdate = emit === 'onUpdate';
  return (ctx) => {
    const task = ctx.task;
    const store = task.store<SlidingWindowStore<K, V, A>>(storeName);
    const emitFinal = (key: K, end: number, agg: A): void => {
      ctx.forward({
        key: { key, startMs: end - D, endMs: end },
        value: agg,
        timestamp: end,
        headers: NO_HEADERS,
      });
    };
    // Windows with end <= limit are closed.
    task.onStreamTime((st) => {
      const limit = st - graceMs - 1;
      if (store.firstEnd() <= limit) store.closeUpTo(limit, onUpdate ? null : emitFinal);
    });
    return {
      process(record) {
        const key = record.key as K;
        const ts = record.timestamp;
        const limit = task.streamTime() - graceMs - 1;
        if (ts + 1 + D <= limit) {
          task.late(`every sliding window of t=${ts} closed`);
          return;
        }
        if (ts <= limit) task.late(`sliding window [${ts - D}, ${ts}] closed`);
        const changed = store.add(key, record.value as V, ts, limit, onUpdate);
        if (changed.length === 0) return;
        const id = keyIdOf(key, keyCodec);
        for (const end of changed) {
          const agg = store.windowAggregate(id, end);
          if (agg !== undefined) {
            ctx.forward({
              key: { key, startMs: end - D, endMs: end },
              value: agg,
              timestamp: ts,
              headers: NO_HEADERS,
            });
          }
        }
      },
    };
  };
}

/** Non-windowed aggregation: a table per key; every update is forwarded. */
export function keyValueAggregate<K, V, A>(opts: {
  storeName: string;
  initializer: () => A;
  aggregator: Aggregator<K, V, A>;
}): (ctx: NodeContext) => NodeImpl {
  return (ctx) => {
    const store = ctx.task.store<KeyValueStore<K, A>>(opts.storeName);
    return {
      process(record) {
        const key = record.key as K;
        const agg = opts.aggregator(key, record.value as V, store.get(key) ?? opts.initializer());
        store.put(key, agg);
        ctx.forward({ key, value: agg, timestamp: record.timestamp, headers: NO_HEADERS });
      },
    };
  };
}

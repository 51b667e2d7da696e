/**
 * The store behind sliding-window aggregations (KIP-450 windows, see windows.ts).
 *
 * It keeps, per key, the records that can still be in an open window, sorted by timestamp (ties in
 * arrival order). Windows are not stored: with time difference D, the window ending at E is
 * [E − D, E]; it exists iff a record is at E (a left window) or a record is at E − 1 − D and the
 * window holds a record (a right window). Its aggregate folds its records in timestamp order.
 * A record at t is dropped from the buffer once every window that can hold or name it has closed
 * (t + 1 + D + grace < stream time), so state stays bounded.
 *
 * Changelog value of a key: u32 n, n × float64 timestamps, then (when values are kept) n × (i32 len,
 * bytes), len −1 = null. A key with no records left is a tombstone.
 */
import { CloseQueue } from './close-queue.ts';
import type { Codec } from './codec.ts';
import { keyIdOf, prefixed, type StateStoreImpl } from './stores.ts';
import type { ReadOnlyWindowStore } from './types.ts';

export interface SlidingKeyState<K, V> {
  readonly id: string;
  readonly key: K;
  readonly ts: number[];
  /** The records' values, parallel to `ts`; empty when the store keeps no values (count()). */
  readonly values: V[];
  /** Windows with end <= this are closed for this key. */
  closedUpTo: number;
  dirty: boolean;
  flushed: boolean;
  /** In the store's key map; false once removed or replaced (its queued entries then go by id). */
  live: boolean;
  /** Collected by the running `closeUpTo`. */
  touched: boolean;
  keyBytes: Buffer | null | undefined;
}

const NO_ENDS: readonly number[] = Object.freeze([]);

/** Remove the first `n` elements in place (no allocation, unlike `splice`). */
function dropFront(arr: unknown[], n: number): void {
  const len = arr.length;
  for (let i = n; i < len; i++) arr[i - n] = arr[i];
  arr.length = len - n;
}

function lowerBound(arr: readonly number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arr[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(arr: readonly number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((arr[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SlidingWindowStore<K, V, A> implements StateStoreImpl, ReadOnlyWindowStore<K, A> {
  readonly name: string;
  readonly #diffMs: number;
  readonly #graceMs: number;
  readonly #keyCodec: Codec<K>;
  /** null: values are not kept and the aggregate is the record count (count()). */
  readonly #valueCodec: Codec<V> | null;
  readonly #initializer: () => A;
  readonly #aggregator: (key: K, value: V, agg: A) => A;
  readonly #keys = new Map<string, SlidingKeyState<K, V>>();
  readonly #queue = new CloseQueue<SlidingKeyState<K, V>>();
  #dirty: SlidingKeyState<K, V>[] = [];
  #tombstones: Buffer[] = [];
  #records = 0;
  /** Windows with end <= this are closed (stream time − grace at the last close). */
  #closedUpTo = Number.NEGATIVE_INFINITY;

  constructor(
    name: string,
    diffMs: number,
    keyCodec: Codec<K>,
    valueCodec: Codec<V> | null,
    initializer: () => A,
    aggregator: (key: K, value: V, agg: A) => A,
    graceMs: number,
  ) {
    this.#graceMs = graceMs;
    this.name = name;
    this.#diffMs = diffMs;
    this.#keyCodec = keyCodec;
    this.#valueCodec = valueCodec;
    this.#initializer = initializer;
    this.#aggregator = aggregator;
  }

  /**
   * Add a record at `ts`; returns the ends of the open windows it created or changed, ascending.
   * `closedUpTo` = stream time − grace.
   */
  add(key: K, value: V, ts: number, closedUpTo: number, wantChanged: boolean): readonly number[] {
    const D = this.#diffMs;
    const id = keyIdOf(key, this.#keyCodec);
    let state = this.#keys.get(id);
    if (state === undefined) {
      state = {
        id,
        key,
        ts: [],
        values: [],
        closedUpTo: this.#closedUpTo,
        dirty: false,
        flushed: false,
        live: true,
        touched: false,
        keyBytes: undefined,
      };
      this.#keys.set(id, state);
    }
    const arr = state.ts;
    const at = upperBound(arr, ts);
    const duplicate = at > 0 && arr[at - 1] === ts;
    const keepValues = this.#valueCodec !== null;
    if (at === arr.length) {
      arr.push(ts);
      if (keepValues) state.values.push(value);
    } else {
      arr.splice(at, 0, ts);
      if (keepValues) state.values.splice(at, 0, value);
    }
    this.#records++;
    this.#markDirty(state);
    if (!duplicate) {
      if (ts > closedUpTo) this.#queue.push(ts, state);
      if (ts + 1 + D > closedUpTo) this.#queue.push(ts + 1 + D, state);
    }
    if (!wantChanged) return NO_ENDS;
    const ends: number[] = [];
    // Right windows of earlier records in [ts − D − 1, ts − 1] now hold ts.
    for (let i = lowerBound(arr, ts - D - 1); i < at && (arr[i] as number) < ts; i++) {
      const t = arr[i] as number;
      if (i > 0 && arr[i - 1] === t) continue;
      ends.push(t + 1 + D);
    }
    // Left windows of records in [ts, ts + D] (including ts's own) hold ts.
    ends.push(ts);
    for (let i = at + 1; i < arr.length && (arr[i] as number) <= ts + D; i++) {
      const t = arr[i] as number;
      if (arr[i - 1] === t) continue;
      ends.push(t);
    }
    // ts's own right window, new unless a record was already at ts.
    if (!duplicate && at + 1 < arr.length && (arr[at + 1] as number) <= ts + 1 + D) ends.push(ts + 1 + D);
    ends.sort((a, b) => a - b);
    const out: number[] = [];
    for (const e of ends) if (e > closedUpTo && e !== out[out.length - 1]) out.push(e);
    return out;
  }

  /** The aggregate of the window [end − D, end] of a key, or undefined when that window does not exist. */
  windowAggregate(id: string, end: number): A | undefined {
    const state = this.#keys.get(id);
    return state === undefined ? undefined : this.#aggregateOf(state, end);
  }

  #aggregateOf(state: SlidingKeyState<K, V>, end: number): A | undefined {
    const arr = state.ts;
    const D = this.#diffMs;
    const lo = lowerBound(arr, end - D);
    const hi = upperBound(arr, end);
    if (hi <= lo) return undefined;
    const isLeft = arr[hi - 1] === end;
    if (!isLeft) {
      const j = lowerBound(arr, end - 1 - D);
      if (arr[j] !== end - 1 - D) return undefined;
    }
    // count: no values kept, the aggregate is the number of records in the window.
    if (this.#valueCodec === null) return (hi - lo) as A;
    let agg = this.#initializer();
    for (let i = lo; i < hi; i++) agg = this.#aggregator(state.key, state.values[i] as V, agg);
    return agg;
  }

  keyOf(id: string): K | undefined {
    return this.#keys.get(id)?.key;
  }

  /** The smallest end of a window still to close, or Infinity. */
  firstEnd(): number {
    return this.#queue.peek();
  }

  /**
   * Close every window with end <= `closedUpTo`, in end order, calling `onClose` (when given) with
   * the final aggregate of each that exists; then drop records no open window can need.
   */
  closeUpTo(closedUpTo: number, onClose: ((key: K, end: number, aggregate: A) => void) | null): void {
    if (closedUpTo <= this.#closedUpTo) return;
    this.#closedUpTo = closedUpTo;
    const queue = this.#queue;
    const touched: SlidingKeyState<K, V>[] = [];
    while (queue.length > 0 && queue.peek() <= closedUpTo) {
      const end = queue.peek();
      let state: SlidingKeyState<K, V> | undefined = queue.pop();
      if (!state.live) state = this.#keys.get(state.id);
      if (state === undefined || end <= state.closedUpTo) continue;
      state.closedUpTo = end;
      if (onClose !== null) {
        const agg = this.#aggregateOf(state, end);
        if (agg !== undefined) onClose(state.key, end, agg);
      }
      if (!state.touched) {
        state.touched = true;
        touched.push(state);
      }
    }
    const D = this.#diffMs;
    const keepValues = this.#valueCodec !== null;
    for (const state of touched) {
      state.touched = false;
      state.closedUpTo = closedUpTo;
      const drop = upperBound(state.ts, closedUpTo - 1 - D);
      if (drop === 0) continue;
      dropFront(state.ts, drop);
      if (keepValues) dropFront(state.values, drop);
      this.#records -= drop;
      if (state.ts.length === 0) {
        this.#keys.delete(state.id);
        state.live = false;
        if (state.flushed) this.#tombstones.push(this.#changelogKey(state));
        state.flushed = false;
      } else {
        this.#markDirty(state);
      }
    }
  }

  #markDirty(state: SlidingKeyState<K, V>): void {
    if (!state.dirty) {
      state.dirty = true;
      this.#dirty.push(state);
    }
  }

  #changelogKey(state: SlidingKeyState<K, V>): Buffer {
    if (state.keyBytes === undefined) state.keyBytes = this.#keyCodec.serialize(state.key);
    return prefixed(state.keyBytes);
  }

  flush(emit: (key: Buffer, value: Buffer | null) => void): void {
    for (const key of this.#tombstones) emit(key, null);
    this.#tombstones = [];
    for (const state of this.#dirty) {
      state.dirty = false;
      if (state.ts.length === 0 || !state.live) continue;
      state.flushed = true;
      emit(this.#changelogKey(state), this.#encode(state));
    }
    this.#dirty = [];
  }

  #encode(state: SlidingKeyState<K, V>): Buffer {
    const n = state.ts.length;
    const codec = this.#valueCodec;
    const valueBytes = codec === null ? [] : state.values.map((v) => codec.serialize(v));
    let len = 4 + 8 * n;
    for (const b of valueBytes) len += 4 + (b === null ? 0 : b.length);
    const out = Buffer.allocUnsafe(len);
    out.writeUInt32BE(n, 0);
    let o = 4;
    for (const t of state.ts) {
      out.writeDoubleBE(t, o);
      o += 8;
    }
    for (const b of valueBytes) {
      out.writeInt32BE(b === null ? -1 : b.length, o);
      o += 4;
      if (b !== null) o += b.copy(out, o);
    }
    return out;
  }

  restore(key: Buffer, value: Buffer | null): void {
    const keyBytes = key.length === 1 ? null : key.subarray(1);
    const k = this.#keyCodec.deserialize(keyBytes);
    const id = keyIdOf(k, this.#keyCodec);
    const old = this.#keys.get(id);
    if (old !== undefined) {
      this.#records -= old.ts.length;
      old.live = false;
    }
    if (value === null) {
      this.#keys.delete(id);
      return;
    }
    const n = value.readUInt32BE(0);
    const ts: number[] = [];
    const values: V[] = [];
    let o = 4;
    for (let i = 0; i < n; i++, o += 8) ts.push(value.readDoubleBE(o));
    const codec = this.#valueCodec;
    for (let i = 0; i < n && codec !== null; i++) {
      const len = value.readInt32BE(o);
      o += 4;
      values.push(codec.deserialize(len < 0 ? null : value.subarray(o, o + len)));
      if (len > 0) o += len;
    }
    this.#keys.set(id, {
      id,
      key: k,
      ts,
      values,
      closedUpTo: Number.NEGATIVE_INFINITY,
      dirty: false,
      flushed: true,
      live: true,
      touched: false,
      keyBytes,
    });
    this.#records += n;
  }

  /** After a restore: windows with end < stream time − grace closed before the restart. */
  finishRestore(streamTimeMs: number): void {
    const closedUpTo = streamTimeMs - this.#graceMs - 1;
    this.#closedUpTo = closedUpTo;
    const D = this.#diffMs;
    for (const state of this.#keys.values()) {
      state.closedUpTo = closedUpTo;
      let prev = Number.NaN;
      for (const t of state.ts) {
        if (t === prev) continue;
        prev = t;
        if (t > closedUpTo) this.#queue.push(t, state);
        if (t + 1 + D > closedUpTo) this.#queue.push(t + 1 + D, state);
      }
    }
  }

  all(): Array<{ key: K; startMs: number; endMs: number; value: A }> {
    const out: Array<{ key: K; startMs: number; endMs: number; value: A }> = [];
    const D = this.#diffMs;
    for (const state of this.#keys.values()) {
      const ends = new Set<number>();
      for (const t of state.ts) {
        ends.add(t);
        ends.add(t + 1 + D);
      }
      for (const end of [...ends].sort((a, b) => a - b)) {
        if (end <= this.#closedUpTo) continue;
        const value = this.windowAggregate(state.id, end);
        if (value !== undefined) out.push({ key: state.key, startMs: end - D, endMs: end, value });
      }
    }
    return out;
  }

  /** Buffered records (the bounded state). */
  size(): number {
    return this.#records;
  }
}

/**
 * In-memory state stores backed by compacted changelog topics `<applicationId>-<store>-changelog`
 * (one partition per task partition).
 *
 * Changelog wire format (internal; the first key byte says what the record is):
 * - `0x00 ‖ data key` → the store's value bytes, or null (a tombstone: the entry was deleted/expired).
 *   key-value store: data key = key bytes; window store: key bytes ‖ window start (float64 BE);
 *   sliding store: key bytes, value = the key's buffered records (see sliding-store.ts).
 * - `0x01 ‖ "stream-time"` → the task's stream time (float64 BE) at that commit, so a restarted task
 *   drops, closes and emits exactly what an uninterrupted one would.
 *
 * A store writes nothing per update: it marks entries dirty, and `flush` (called at commit) writes
 * the latest value of each dirty entry once, like Kafka Streams' record cache. An entry created and
 * removed between two commits never reaches the changelog.
 */
import { AppError, ErrorCode } from '../errors/index.ts';
import { type Codec, Codecs } from './codec.ts';
import type { KeyValueStore, ReadOnlyWindowStore } from './types.ts';

export const DATA_PREFIX = 0x00;
export const META_PREFIX = 0x01;
export const STREAM_TIME_META_KEY: Buffer = Buffer.concat([
  Buffer.from([META_PREFIX]),
  Buffer.from('stream-time'),
]);

/** The runtime's side of a store: changelog flush and restore. */
export interface StateStoreImpl {
  readonly name: string;
  /** Hand over one changelog record (key with the 0x00 prefix) per entry changed since the last flush. */
  flush(emit: (key: Buffer, value: Buffer | null) => void): void;
  /** Apply one changelog data record (key with its 0x00 prefix). */
  restore(key: Buffer, value: Buffer | null): void;
  size(): number;
}

/** A declared store: a name and a factory; the runtime names its changelog. */
export interface StoreSpec {
  readonly name: string;
  readonly kind: 'key-value' | 'window' | 'sliding';
  create(): StateStoreImpl;
}

/** A string identity for a key, for Map lookups. Strings and numbers avoid serialising. */
export function keyIdOf<K>(key: K, codec: Codec<K>): string {
  if (typeof key === 'string') return `s${key}`;
  if (typeof key === 'number') return `n${key}`;
  const bytes = codec.serialize(key);
  return bytes === null ? 'z' : `b${bytes.toString('latin1')}`;
}

export function prefixed(bytes: Buffer | null, extra = 0): Buffer {
  const len = bytes === null ? 0 : bytes.length;
  const out = Buffer.allocUnsafe(1 + len + extra);
  out[0] = DATA_PREFIX;
  if (bytes !== null) bytes.copy(out, 1);
  return out;
}

/**
 * `prefixed(codec.serialize(key), extra)` in one step: a string key of the string codec is encoded
 * straight after its prefix byte (no intermediate buffer, no copy).
 */
export function changelogKeyOf<K>(key: K, codec: Codec<K>, extra = 0): Buffer {
  if (typeof key === 'string' && codec === (Codecs.string as Codec<unknown>)) {
    const out = Buffer.allocUnsafe(1 + Buffer.byteLength(key, 'utf8') + extra);
    out[0] = DATA_PREFIX;
    out.write(key, 1, 'utf8');
    return out;
  }
  return prefixed(codec.serialize(key), extra);
}

function nullKeyBytes(bytes: Buffer): Buffer | null {
  return bytes.length === 0 ? null : bytes;
}

/** A string or number key is its own Map key (a Map tells "1" from 1); others go by their bytes. */
function isPrimitiveKey(key: unknown): key is string | number {
  return typeof key === 'string' || typeof key === 'number';
}

interface KvEntry<K, V> {
  key: K;
  value: V;
}

/** Set `id`'s entry, updated in place (no allocation per put; a Map keeps a key's position on update anyway), and mark it dirty. */
function putEntry<I, K, V>(entries: Map<I, KvEntry<K, V>>, dirty: Map<I, K>, id: I, key: K, value: V): void {
  const entry = entries.get(id);
  if (entry === undefined) entries.set(id, { key, value });
  else {
    entry.key = key;
    entry.value = value;
  }
  dirty.set(id, key);
}

class InMemoryKeyValueStore<K, V> implements KeyValueStore<K, V>, StateStoreImpl {
  readonly name: string;
  readonly #keyCodec: Codec<K>;
  readonly #valueCodec: Codec<V>;
  /**
   * Entries of string and number keys, by the key itself: no id string built per call, and a key
   * string's hash is computed once. Other keys (objects, null, …) by their serialised bytes
   * (`keyIdOf`) in `#byBytes`: two maps, so that no string key can collide with the id of another.
   */
  readonly #entries = new Map<string | number, KvEntry<K, V>>();
  readonly #byBytes = new Map<string, KvEntry<K, V>>();
  /** Keys put or deleted since the last flush (in first-change order per map): the entry says which. */
  readonly #dirty = new Map<string | number, K>();
  readonly #dirtyByBytes = new Map<string, K>();

  constructor(name: string, keyCodec: Codec<K>, valueCodec: Codec<V>) {
    this.name = name;
    this.#keyCodec = keyCodec;
    this.#valueCodec = valueCodec;
  }

  get(key: K): V | undefined {
    if (isPrimitiveKey(key)) return this.#entries.get(key)?.value;
    return this.#byBytes.get(keyIdOf(key, this.#keyCodec))?.value;
  }

  put(key: K, value: V): void {
    if (isPrimitiveKey(key)) putEntry(this.#entries, this.#dirty, key, key, value);
    else putEntry(this.#byBytes, this.#dirtyByBytes, keyIdOf(key, this.#keyCodec), key, value);
  }

  delete(key: K): void {
    if (isPrimitiveKey(key)) {
      if (this.#entries.delete(key)) this.#dirty.set(key, key);
      return;
    }
    const id = keyIdOf(key, this.#keyCodec);
    if (this.#byBytes.delete(id)) this.#dirtyByBytes.set(id, key);
  }

  all(): Array<[K, V]> {
    const out: Array<[K, V]> = [];
    for (const e of this.#entries.values()) out.push([e.key, e.value]);
    for (const e of this.#byBytes.values()) out.push([e.key, e.value]);
    return out;
  }

  size(): number {
    return this.#entries.size + this.#byBytes.size;
  }

  flush(emit: (key: Buffer, value: Buffer | null) => void): void {
    const keyCodec = this.#keyCodec;
    const valueCodec = this.#valueCodec;
    for (const [id, key] of this.#dirty) {
      const entry = this.#entries.get(id);
      emit(changelogKeyOf(key, keyCodec), entry === undefined ? null : valueCodec.serialize(entry.value));
    }
    this.#dirty.clear();
    for (const [id, key] of this.#dirtyByBytes) {
      const entry = this.#byBytes.get(id);
      emit(changelogKeyOf(key, keyCodec), entry === undefined ? null : valueCodec.serialize(entry.value));
    }
    this.#dirtyByBytes.clear();
  }

  restore(key: Buffer, value: Buffer | null): void {
    const k = this.#keyCodec.deserialize(nullKeyBytes(key.subarray(1)));
    // Not marked dirty: the changelog has it already.
    if (isPrimitiveKey(k)) {
      if (value === null) this.#entries.delete(k);
      else this.#entries.set(k, { key: k, value: this.#valueCodec.deserialize(value) });
      return;
    }
    const id = keyIdOf(k, this.#keyCodec);
    if (value === null) this.#byBytes.delete(id);
    else this.#byBytes.set(id, { key: k, value: this.#valueCodec.deserialize(value) });
  }
}

/** A key-value store for low-level processors: `b.addStateStore(Stores.keyValue('name', { key, value }))`. */
function keyValue<K, V>(name: string, codecs: { key: Codec<K>; value: Codec<V> }): StoreSpec {
  return { name, kind: 'key-value', create: () => new InMemoryKeyValueStore(name, codecs.key, codecs.value) };
}

export const Stores = Object.freeze({ keyValue });

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** One window of a time-windowed aggregation. */
export interface WindowEntry<K, A> {
  readonly id: string;
  readonly key: K;
  readonly start: number;
  readonly end: number;
  agg: A;
  /** Queued for the next flush. */
  dirty: boolean;
  /** Written to the changelog at least once (so its removal needs a tombstone). */
  flushed: boolean;
  removed: boolean;
  keyBytes: Buffer | null | undefined;
}

/**
 * The store behind tumbling/hopping aggregations: windows bucketed by end, ends kept sorted, so
 * closing is popping the oldest buckets — state stays bounded by the open windows. Windows close in
 * (end, key) order, so a restarted task emits in the same order as an uninterrupted one.
 */
export class TimeWindowStore<K, A> implements StateStoreImpl, ReadOnlyWindowStore<K, A> {
  readonly name: string;
  readonly #sizeMs: number;
  readonly #keyCodec: Codec<K>;
  readonly #aggCodec: Codec<A>;
  readonly #byEnd = new Map<number, Map<string, WindowEntry<K, A>>>();
  /** Distinct window ends, ascending. */
  readonly #ends: number[] = [];
  #dirty: WindowEntry<K, A>[] = [];
  #tombstones: Buffer[] = [];
  #count = 0;

  constructor(name: string, sizeMs: number, keyCodec: Codec<K>, aggCodec: Codec<A>) {
    this.name = name;
    this.#sizeMs = sizeMs;
    this.#keyCodec = keyCodec;
    this.#aggCodec = aggCodec;
  }

  get(id: string, end: number): WindowEntry<K, A> | undefined {
    return this.#byEnd.get(end)?.get(id);
  }

  create(id: string, key: K, start: number, agg: A): WindowEntry<K, A> {
    const end = start + this.#sizeMs;
    let bucket = this.#byEnd.get(end);
    if (bucket === undefined) {
      bucket = new Map();
      this.#byEnd.set(end, bucket);
      const ends = this.#ends;
      let i = ends.length;
      while (i > 0 && (ends[i - 1] as number) > end) i--;
      ends.splice(i, 0, end);
    }
    const entry: WindowEntry<K, A> = {
      id,
      key,
      start,
      end,
      agg,
      dirty: false,
      flushed: false,
      removed: false,
      keyBytes: undefined,
    };
    bucket.set(id, entry);
    this.#count++;
    return entry;
  }

  markDirty(entry: WindowEntry<K, A>): void {
    if (!entry.dirty) {
      entry.dirty = true;
      this.#dirty.push(entry);
    }
  }

  /** The smallest end of an open window, or Infinity. */
  firstEnd(): number {
    return this.#ends[0] ?? Number.POSITIVE_INFINITY;
  }

  /** Remove every window with end <= limitMs, oldest end first, calling `onClose` for each. */
  closeUpTo(limitMs: number, onClose: (entry: WindowEntry<K, A>) => void): void {
    const ends = this.#ends;
    let n = 0;
    while (n < ends.length && (ends[n] as number) <= limitMs) {
      const end = ends[n] as number;
      const bucket = this.#byEnd.get(end);
      if (bucket !== undefined) {
        // Key order, not insertion order: a restored store must close exactly like the original.
        const entries = [...bucket.values()].sort(byId);
        for (const entry of entries) {
          onClose(entry);
          entry.removed = true;
          if (entry.flushed) this.#tombstones.push(this.#changelogKey(entry));
        }
        this.#count -= bucket.size;
        this.#byEnd.delete(end);
      }
      n++;
    }
    if (n > 0) ends.splice(0, n);
  }

  #changelogKey(entry: WindowEntry<K, A>): Buffer {
    if (entry.keyBytes === undefined) entry.keyBytes = this.#keyCodec.serialize(entry.key);
    const out = prefixed(entry.keyBytes, 8);
    out.writeDoubleBE(entry.start, out.length - 8);
    return out;
  }

  flush(emit: (key: Buffer, value: Buffer | null) => void): void {
    for (const key of this.#tombstones) emit(key, null);
    this.#tombstones = [];
    for (const entry of this.#dirty) {
      entry.dirty = false;
      if (entry.removed) continue;
      entry.flushed = true;
      emit(this.#changelogKey(entry), this.#aggCodec.serialize(entry.agg));
    }
    this.#dirty = [];
  }

  restore(key: Buffer, value: Buffer | null): void {
    if (key.length < 9)
      throw new AppError(ErrorCode.STREAMS_STATE, `window changelog key too short in ${this.name}`);
    const keyBytes = nullKeyBytes(key.subarray(1, key.length - 8));
    const start = key.readDoubleBE(key.length - 8);
    const k = this.#keyCodec.deserialize(keyBytes);
    const id = keyIdOf(k, this.#keyCodec);
    const end = start + this.#sizeMs;
    const existing = this.get(id, end);
    if (value === null) {
      if (existing !== undefined) {
        const bucket = this.#byEnd.get(end) as Map<string, WindowEntry<K, A>>;
        bucket.delete(id);
        this.#count--;
        if (bucket.size === 0) {
          this.#byEnd.delete(end);
          this.#ends.splice(this.#ends.indexOf(end), 1);
        }
      }
      return;
    }
    const agg = this.#aggCodec.deserialize(value);
    const entry = existing ?? this.create(id, k, start, agg);
    entry.agg = agg;
    entry.flushed = true;
  }

  all(): Array<{ key: K; startMs: number; endMs: number; value: A }> {
    const out: Array<{ key: K; startMs: number; endMs: number; value: A }> = [];
    for (const end of this.#ends) {
      for (const e of this.#byEnd.get(end)?.values() ?? []) {
        out.push({ key: e.key, startMs: e.start, endMs: e.end, value: e.agg });
      }
    }
    return out;
  }

  size(): number {
    return this.#count;
  }
}

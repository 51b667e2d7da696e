/**
 * First occurrences of the duplicate-content rule. Most contents are sent once: a key (sender +
 * content) with one message can never alert (the threshold is at least 2), so instead of a key
 * state and a message bucket of its own (two store entries, two changelog records, two tombstones
 * later), its one message waits here. The second message of the key takes it back and the key gets
 * its full state (processor.ts), exactly as if it had had one from the first message on: a pass
 * over the key's messages depends on the messages, not on when they were inserted.
 *
 * Store (changelogged): `<sender>\u0001<5 s bucket>` → the bucket's first occurrences
 * `[key, event time, message id][]`. A bucket is dropped once it lies wholly before
 * frontier − window: such a message is in no window a later message can be counted in.
 * The in-memory index (key → its occurrence) is built from the store on first use (after a
 * restore) and kept in step with it.
 */
import type { KeyValueStore } from '../../streams/index.ts';

/** One first occurrence: the rule's key, the message's event time and id. */
export type Occurrence = [key: string, ts: number, id: string];

/** Event time per store entry, ms: a sender's first occurrences of 5 s share one entry. */
const BUCKET_MS = 5_000;

interface Indexed {
  readonly entry: string;
  readonly ts: number;
  readonly id: string;
}

export class FirstSeen {
  readonly #store: KeyValueStore<string, Occurrence[]>;
  /** The rule's sliding window, ms. */
  readonly #windowMs: number;
  #byKey: Map<string, Indexed> | null = null;
  /** Bucket number → store entries of that bucket; and those bucket numbers, ascending. */
  readonly #entriesOf = new Map<number, Set<string>>();
  readonly #buckets: number[] = [];

  constructor(store: KeyValueStore<string, Occurrence[]>, windowMs: number) {
    this.#store = store;
    this.#windowMs = windowMs;
  }

  #index(): Map<string, Indexed> {
    if (this.#byKey === null) {
      this.#byKey = new Map();
      for (const [entry, list] of this.#store.all()) {
        this.#track(entry);
        for (const [key, ts, id] of list) this.#byKey.set(key, { entry, ts, id });
      }
    }
    return this.#byKey;
  }

  #track(entry: string): void {
    const bucket = Number(entry.slice(entry.lastIndexOf('\u0001') + 1));
    const entries = this.#entriesOf.get(bucket);
    if (entries !== undefined) {
      entries.add(entry);
      return;
    }
    this.#entriesOf.set(bucket, new Set([entry]));
    // Mostly the newest bucket: found from the end.
    const buckets = this.#buckets;
    let i = buckets.length;
    while (i > 0 && (buckets[i - 1] as number) > bucket) i--;
    buckets.splice(i, 0, bucket);
  }

  /** Remember the first occurrence of `key` (which has none here and no key state). */
  add(key: string, sender: string, ts: number, id: string): void {
    const byKey = this.#index();
    const entry = `${sender}\u0001${Math.floor(ts / BUCKET_MS)}`;
    const list = this.#store.get(entry);
    if (list === undefined) {
      this.#store.put(entry, [[key, ts, id]]);
      this.#track(entry);
    } else {
      list.push([key, ts, id]);
      this.#store.put(entry, list);
    }
    byKey.set(key, { entry, ts, id });
  }

  /** The first occurrence of `key`, removed from here; undefined when there is none. */
  take(key: string): { readonly ts: number; readonly id: string } | undefined {
    const byKey = this.#index();
    const found = byKey.get(key);
    if (found === undefined) return undefined;
    byKey.delete(key);
    const list = (this.#store.get(found.entry) as Occurrence[]).filter((o) => o[0] !== key);
    if (list.length > 0) this.#store.put(found.entry, list);
    else this.#store.delete(found.entry);
    return found;
  }

  /** Drop the buckets wholly before `frontier` − window. */
  purge(frontier: number): void {
    const byKey = this.#index();
    const from = frontier - this.#windowMs;
    const buckets = this.#buckets;
    while (buckets.length > 0 && ((buckets[0] as number) + 1) * BUCKET_MS <= from) {
      const bucket = buckets.shift() as number;
      const entries = this.#entriesOf.get(bucket) as Set<string>;
      for (const entry of entries) {
        for (const [key] of this.#store.get(entry) ?? []) {
          if (byKey.get(key)?.entry === entry) byKey.delete(key);
        }
        this.#store.delete(entry);
      }
      this.#entriesOf.delete(bucket);
    }
  }
}

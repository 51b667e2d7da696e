/**
 * The anomaly-detection processor: after the re-key by sender, every message goes to the rate rule
 * (key: sender) and the duplicate-content rule (key: sender + normalised content). Each rule keeps
 * its keys' `KeyState` (bursts.ts) in its own changelogged store, so a restarted task resumes with
 * the state of its last commit and sends exactly what an uninterrupted one would.
 */
import { hash } from 'node:crypto';
import type { AnomalyAlert } from '../../events/index.ts';
import type { Codec, KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../streams/index.ts';
import { DueIndex } from '../due-index.ts';
import {
  type BurstRule,
  firstAtOrAfter,
  insertMessage,
  isEmpty,
  type KeyState,
  newKeyState,
  pass,
} from './bursts.ts';
import { FirstSeen, type Occurrence } from './first-seen.ts';

/** What the repartition topic carries per message (key: sender_id). */
export interface SenderMessage {
  readonly id: string;
  readonly content: string;
}

/** Whitespace other than a single space between non-spaces. */
const ODD_SPACE = /[^\S ]| \s/u;

/** Content as the duplicate rule compares it: trimmed, runs of whitespace as one space, lower case. */
export function normaliseContent(content: string): string {
  const trimmed = content.trim();
  // Most contents have single spaces only: nothing to collapse.
  return (ODD_SPACE.test(trimmed) ? trimmed.replace(/\s+/gu, ' ') : trimmed).toLowerCase();
}

/** The rule's key of a (sender, content): content by a 16-hex-digit sha-1, so state stays small. */
export function duplicateKeyOf(sender: string, normalised: string): string {
  return `${sender}\u0000${hash('sha1', normalised, 'hex').slice(0, 16)}`;
}

/** A key's messages in one time bucket (the messages store's value). */
export interface MessageBucket {
  readonly ts: number[];
  readonly ids: string[];
}

/**
 * A key's messages are changelogged in buckets of this much event time, so that a commit writes
 * the buckets that changed (a few seconds of messages), not every message of the window again.
 */
const BUCKET_MS = 5_000;

/**
 * Up to this many messages a key's entry carries them itself (one changelog record per change, not
 * two, and one tombstone at the end): most keys hold a few. A key that grows past it moves them to
 * buckets for good (until it empties), so a flooding sender's commits stay small.
 */
const INLINE_MAX = 16;

/** Granularity of the due index, ms of stream time. */
const SLOT_MS = 1_000;

const bucketKey = (key: string, bucket: number): string => `${key}\u0001${bucket}`;

/**
 * The key's entry: with its messages while it has no buckets (`ts`, `ids` inline), else without them
 * (they are in the messages store).
 */
export const keyStateCodec: Codec<KeyState> = {
  serialize: (s) =>
    Buffer.from(JSON.stringify(s.buckets.length === 0 ? s : { ...s, ts: undefined, ids: undefined })),
  deserialize: (bytes) => JSON.parse((bytes as Buffer).toString('utf8')) as KeyState,
};

/** One rule's keys: the stores, and an in-memory index of when each key next needs a pass. */
class RuleTracker {
  readonly #rule: BurstRule;
  readonly #store: KeyValueStore<string, KeyState>;
  readonly #messages: KeyValueStore<string, MessageBucket>;
  readonly #emit: (alert: AnomalyAlert, timestamp: number) => void;
  /** Where a key's first message waits (duplicate rule); without it every key has a state at once. */
  readonly #firstSeen: FirstSeen | undefined;
  /**
   * When each key next needs a pass, so that `advance` looks at the due slots, not at every key.
   * Built from the store on first use (after a restore), then kept in step with it.
   */
  readonly #due = new DueIndex<string>(SLOT_MS);
  #indexed = false;

  constructor(
    rule: BurstRule,
    stores: {
      keys: KeyValueStore<string, KeyState>;
      messages: KeyValueStore<string, MessageBucket>;
      firstSeen?: KeyValueStore<string, Occurrence[]>;
    },
    emit: (alert: AnomalyAlert, timestamp: number) => void,
  ) {
    this.#rule = rule;
    this.#store = stores.keys;
    this.#messages = stores.messages;
    this.#emit = emit;
    this.#firstSeen = stores.firstSeen && new FirstSeen(stores.firstSeen, rule.windowMs);
  }

  /** The key's state with its messages (read back from their buckets after a restore). */
  #get(key: string): KeyState | undefined {
    const state = this.#store.get(key);
    if (state === undefined || (state as Partial<KeyState>).ts !== undefined) return state;
    const from = state.f - this.#rule.windowMs;
    state.ts = [];
    state.ids = [];
    for (const b of state.buckets) {
      const m = this.#messages.get(bucketKey(key, b));
      if (m === undefined) continue;
      m.ts.forEach((t, i) => {
        if (t >= from) {
          state.ts.push(t);
          state.ids.push(m.ids[i] as string);
        }
      });
    }
    return state;
  }

  /** Changelog the key's messages of `bucket`: in its entry while few and never bucketed, else as buckets. */
  #saveBucket(key: string, state: KeyState, bucket: number): void {
    if (state.buckets.length === 0) {
      if (state.ts.length <= INLINE_MAX) return;
      // Too many to carry: every bucket of the key's messages from now on.
      const all = new Set(state.ts.map((t) => Math.floor(t / BUCKET_MS)));
      all.delete(bucket);
      for (const b of all) this.#putBucket(key, state, b);
    }
    this.#putBucket(key, state, bucket);
  }

  #putBucket(key: string, state: KeyState, bucket: number): void {
    const lo = firstAtOrAfter(state.ts, bucket * BUCKET_MS);
    const hi = firstAtOrAfter(state.ts, (bucket + 1) * BUCKET_MS);
    this.#messages.put(bucketKey(key, bucket), { ts: state.ts.slice(lo, hi), ids: state.ids.slice(lo, hi) });
    const buckets = state.buckets;
    if (!buckets.includes(bucket)) {
      let i = buckets.length;
      while (i > 0 && (buckets[i - 1] as number) > bucket) i--;
      buckets.splice(i, 0, bucket);
    }
  }

  #index(): DueIndex<string> {
    if (!this.#indexed) {
      this.#indexed = true;
      // JSON has no Infinity: a restored `due` of null means "nothing due".
      for (const [key, s] of this.#store.all()) this.#due.set(key, s.due ?? Number.POSITIVE_INFINITY);
    }
    return this.#due;
  }

  add(key: string, user: string, ts: number, id: string, frontier: number): void {
    let state = this.#get(key);
    if (state === undefined) {
      state = newKeyState(user);
      const firstSeen = this.#firstSeen;
      if (firstSeen !== undefined) {
        // A key's first message waits in `firstSeen`; the second gives the key its state with both.
        const first = firstSeen.take(key);
        if (first === undefined || (first.ts === ts && first.id === id)) {
          firstSeen.add(key, user, ts, id);
          return;
        }
        insertMessage(state, first.ts, first.id);
        this.#saveBucket(key, state, Math.floor(first.ts / BUCKET_MS));
      }
    }
    if (!insertMessage(state, ts, id)) return;
    this.#saveBucket(key, state, Math.floor(ts / BUCKET_MS));
    this.#run(key, state, frontier);
  }

  /**
   * Pass every key whose slot has begun at `frontier` (a pass before a key's due time is harmless),
   * in key order, so that a restored task sends in the same order.
   */
  advance(frontier: number): void {
    this.#firstSeen?.purge(frontier);
    const due = this.#index().dueAt(frontier);
    due.sort();
    for (const key of due) {
      const state = this.#get(key);
      if (state === undefined) this.#due.set(key, Number.POSITIVE_INFINITY);
      else this.#run(key, state, frontier);
    }
  }

  #run(key: string, state: KeyState, frontier: number): void {
    const out = pass(state, this.#rule, frontier);
    this.#index();
    // Buckets wholly below the messages kept are dropped (a partly purged one is filtered on load).
    const keepFrom = state.f - this.#rule.windowMs;
    const buckets = state.buckets;
    while (buckets.length > 0 && ((buckets[0] as number) + 1) * BUCKET_MS <= keepFrom) {
      this.#messages.delete(bucketKey(key, buckets.shift() as number));
    }
    if (isEmpty(state)) {
      for (const b of buckets) this.#messages.delete(bucketKey(key, b));
      this.#store.delete(key);
      this.#due.set(key, Number.POSITIVE_INFINITY);
    } else {
      this.#store.put(key, state);
      this.#due.set(key, state.due);
    }
    for (const alert of out) this.#emit(alert, Date.parse(alert.triggered_at));
  }
}

export interface AnomalyRules {
  readonly rate: BurstRule;
  readonly duplicate: BurstRule;
  /** Grace: a message more than this behind stream time is late (counted, dropped). */
  readonly graceMs: number;
  /** Stream-time interval of the pass that closes bursts and purges idle keys. */
  readonly punctuateMs: number;
  /** Store names per rule: the keys' state and their messages by bucket (and first occurrences). */
  readonly rateStores: { readonly keys: string; readonly messages: string };
  readonly duplicateStores: { readonly keys: string; readonly messages: string; readonly firstSeen: string };
}

export class AnomalyProcessor implements Processor<string, SenderMessage, string, AnomalyAlert> {
  readonly #rules: AnomalyRules;
  #ctx!: ProcessorContext<string, AnomalyAlert>;
  #rate!: RuleTracker;
  #duplicate!: RuleTracker;

  constructor(rules: AnomalyRules) {
    this.#rules = rules;
  }

  init(ctx: ProcessorContext<string, AnomalyAlert>): void {
    this.#ctx = ctx;
    const emit = (alert: AnomalyAlert, timestamp: number): void =>
      ctx.forward({ key: alert.user_id, value: alert, timestamp, headers: [] });
    const rules = this.#rules;
    const stores = (names: AnomalyRules['rateStores']) => ({
      keys: ctx.getStateStore<KeyValueStore<string, KeyState>>(names.keys),
      messages: ctx.getStateStore<KeyValueStore<string, MessageBucket>>(names.messages),
    });
    this.#rate = new RuleTracker(rules.rate, stores(rules.rateStores), emit);
    this.#duplicate = new RuleTracker(
      rules.duplicate,
      {
        ...stores(rules.duplicateStores),
        firstSeen: ctx.getStateStore<KeyValueStore<string, Occurrence[]>>(rules.duplicateStores.firstSeen),
      },
      emit,
    );
    ctx.schedule(rules.punctuateMs, 'stream-time', (st) => {
      this.#rate.advance(st - rules.graceMs);
      this.#duplicate.advance(st - rules.graceMs);
    });
  }

  process(record: StreamRecord<string, SenderMessage>): void {
    const frontier = this.#ctx.streamTimeMs() - this.#rules.graceMs;
    const ts = record.timestamp;
    if (ts < frontier) {
      this.#ctx.late(`message at ${ts} is more than the grace behind stream time`);
      return;
    }
    const sender = record.key;
    const { id, content } = record.value;
    this.#rate.add(sender, sender, ts, id, frontier);
    const normalised = normaliseContent(content);
    if (normalised !== '') this.#duplicate.add(duplicateKeyOf(sender, normalised), sender, ts, id, frontier);
  }
}

/**
 * The conversation-analytics processor (one per by-conversation task): buckets accepted messages per
 * conversation and closes hopping windows when stream time passes end + grace — on a record, or on a
 * stream-time punctuation (so idle advance closes the last windows of a burst). Windows close in
 * (end, conversation_id) order, so a restarted task emits exactly what an uninterrupted one would.
 *
 * State: one key-value store (changelogged) with an entry per bucket, so that a commit writes the
 * buckets that changed (usually the current one), not the conversation's whole baseline span (about
 * 126 buckets at the defaults) again:
 * - `b<conversation_id>\u0001<bucket start>` → the bucket `[start, count, participants]`;
 * - `e` → `{ e }`: the last close's end. Every close closes every window of the task with end <= e
 *   that holds a message (it visits only the conversations with something due: such a window, or a
 *   bucket to forget; the others' windows up to e are empty), so a restored state may take the
 *   task's end as each conversation's `e` (windows closed up to): one entry per task, not one per
 *   conversation and close. Absent while the task holds no conversation.
 * The processor works on `ConversationState`s in memory, built from the store on first use (after a
 * restore) and kept in step with it; the store's values are the very bucket arrays of those states.
 * A bucket whose participants are no longer needed drops them in memory only: the changelog keeps
 * them until the bucket is deleted.
 */
import type { ConversationMetric } from '../../events/index.ts';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../streams/index.ts';
import { DueIndex } from '../due-index.ts';
import {
  addMessage,
  type Bucket,
  type ConversationRules,
  type ConversationState,
  closeWindows,
  isLate,
  WindowMemo,
} from './windows.ts';

/** What the repartition topic carries per message: the two people (value), the conversation (key). */
export interface MessageParties {
  readonly s: string;
  readonly r: string;
}

/** A value of the processor's store: a bucket, or a conversation head. */
export type ConversationEntry = Bucket | { readonly e: number };

/** The store key of the last close's end (bucket keys start with `b`). */
const CLOSED_KEY = 'e';

/** Stream-time interval of the close check when no record arrives (idle advance), ms. */
const PUNCTUATE_MS = 1_000;

const bucketKey = (conversation: string, start: number): string => `b${conversation}\u0001${start}`;

export class ConversationProcessor implements Processor<string, MessageParties, string, ConversationMetric> {
  readonly #rules: ConversationRules;
  readonly #storeName: string;
  readonly #memo = new WindowMemo();
  /** When each conversation next needs a close (a window end: the next holding a message, or a bucket's last). */
  readonly #due: DueIndex<string>;
  #ctx!: ProcessorContext<string, ConversationMetric>;
  #store!: KeyValueStore<string, ConversationEntry>;
  /** The conversations' states (null until built from the store). */
  #states: Map<string, ConversationState> | null = null;
  /** The end in the store's `e` entry as this processor last wrote it (null: none written). */
  #closedEnd: number | null = null;
  /** Earliest stream time at which some window closes; -Infinity: unknown (after a restore). */
  #nextClose = Number.NEGATIVE_INFINITY;

  constructor(rules: ConversationRules, storeName: string) {
    this.#rules = rules;
    this.#storeName = storeName;
    this.#due = new DueIndex(rules.hopMs);
  }

  init(ctx: ProcessorContext<string, ConversationMetric>): void {
    this.#ctx = ctx;
    this.#store = ctx.getStateStore(this.#storeName);
    ctx.schedule(PUNCTUATE_MS, 'stream-time', (st) => this.#closeDue(st));
  }

  /** The states, built from the store's entries on first use (each due at the next close). */
  #all(): Map<string, ConversationState> {
    if (this.#states !== null) return this.#states;
    const states = new Map<string, ConversationState>();
    const stateOf = (id: string): ConversationState => {
      let s = states.get(id);
      if (s === undefined) {
        s = { b: [], e: null };
        states.set(id, s);
      }
      return s;
    };
    let closed: number | null = null;
    for (const [key, value] of this.#store.all()) {
      if (key === CLOSED_KEY) closed = (value as { e: number }).e;
      else stateOf(key.slice(1, key.lastIndexOf('\u0001'))).b.push(value as Bucket);
    }
    for (const [id, s] of states) {
      s.b.sort((x, y) => x[0] - y[0]);
      s.e = closed;
      this.#due.set(id, Number.MIN_SAFE_INTEGER);
    }
    this.#states = states;
    return states;
  }

  process(record: StreamRecord<string, MessageParties>): void {
    const st = this.#ctx.streamTimeMs();
    const rules = this.#rules;
    this.#closeDue(st);
    if (isLate(rules, record.timestamp, st)) {
      this.#ctx.late(`window of t=${record.timestamp} closed (stream time ${st})`);
      return;
    }
    const states = this.#all();
    let state = states.get(record.key);
    if (state === undefined) {
      state = { b: [], e: null };
      states.set(record.key, state);
    }
    const bucket = addMessage(rules, state, record.timestamp, [record.value.s, record.value.r]);
    this.#store.put(bucketKey(record.key, bucket[0]), bucket);
    this.#due.lower(record.key, bucket[0] + rules.hopMs);
    this.#nextClose = Math.min(this.#nextClose, bucket[0] + rules.hopMs + rules.graceMs);
  }

  /**
   * Close the windows with end <= closedEnd of the conversations that have something due by then (a
   * window holding a message, or a bucket to forget): the others' windows up to closedEnd are empty,
   * so visiting them would emit and change nothing (their `e` lags, which the next visit's empty
   * windows absorb).
   */
  #closeDue(st: number): void {
    if (st < this.#nextClose) return;
    const { hopMs, graceMs } = this.#rules;
    const closedEnd = Math.floor((st - graceMs) / hopMs) * hopMs;
    const out: Array<{ end: number; key: string; metric: ConversationMetric }> = [];
    const states = this.#all();
    for (const key of this.#due.dueAt(closedEnd)) {
      const state = states.get(key);
      if (state === undefined) {
        this.#due.set(key, Number.POSITIVE_INFINITY);
        continue;
      }
      const r = closeWindows(this.#rules, this.#memo, key, state, closedEnd, (end, metric) =>
        out.push({ end, key, metric }),
      );
      for (const b of r.dropped) this.#store.delete(bucketKey(key, b[0]));
      if (r.empty) {
        states.delete(key);
        this.#due.set(key, Number.POSITIVE_INFINITY);
      } else this.#due.set(key, Math.min(r.nextEnd, r.forgetEnd));
    }
    this.#nextClose = this.#due.earliest() + graceMs;
    if (states.size === 0) {
      this.#store.delete(CLOSED_KEY);
      this.#closedEnd = null;
    } else if (this.#closedEnd !== closedEnd) {
      this.#store.put(CLOSED_KEY, { e: closedEnd });
      this.#closedEnd = closedEnd;
    }
    out.sort((a, b) => a.end - b.end || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { end, key, metric } of out) {
      this.#ctx.forward({ key, value: metric, timestamp: end - 1, headers: [] });
    }
  }
}

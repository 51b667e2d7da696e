/**
 * The conversation-analytics processor (one per by-conversation task): buckets accepted messages per
 * conversation in a key-value store (changelogged) and closes hopping windows when stream time
 * passes end + grace — on a record, or on a stream-time punctuation (so idle advance closes the last
 * windows of a burst). Windows close in (end, conversation_id) order, so a restarted task emits
 * exactly what an uninterrupted one would.
 */
import type { ConversationMetric } from '../../events/index.ts';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../streams/index.ts';
import {
  addMessage,
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

/** Stream-time interval of the close check when no record arrives (idle advance), ms. */
const PUNCTUATE_MS = 1_000;

export class ConversationProcessor implements Processor<string, MessageParties, string, ConversationMetric> {
  readonly #rules: ConversationRules;
  readonly #storeName: string;
  readonly #memo = new WindowMemo();
  #ctx!: ProcessorContext<string, ConversationMetric>;
  #store!: KeyValueStore<string, ConversationState>;
  /** Earliest stream time at which some window closes; -Infinity: unknown (after a restore). */
  #nextClose = Number.NEGATIVE_INFINITY;

  constructor(rules: ConversationRules, storeName: string) {
    this.#rules = rules;
    this.#storeName = storeName;
  }

  init(ctx: ProcessorContext<string, ConversationMetric>): void {
    this.#ctx = ctx;
    this.#store = ctx.getStateStore(this.#storeName);
    ctx.schedule(PUNCTUATE_MS, 'stream-time', (st) => this.#closeDue(st));
  }

  process(record: StreamRecord<string, MessageParties>): void {
    const st = this.#ctx.streamTimeMs();
    const rules = this.#rules;
    this.#closeDue(st);
    if (isLate(rules, record.timestamp, st)) {
      this.#ctx.late(`window of t=${record.timestamp} closed (stream time ${st})`);
      return;
    }
    const state = this.#store.get(record.key) ?? { b: [], e: null };
    addMessage(rules, state, record.timestamp, [record.value.s, record.value.r]);
    this.#store.put(record.key, state);
    const bucket = record.timestamp - (record.timestamp % rules.hopMs);
    this.#nextClose = Math.min(this.#nextClose, bucket + rules.hopMs + rules.graceMs);
  }

  #closeDue(st: number): void {
    if (st < this.#nextClose) return;
    const { hopMs, graceMs } = this.#rules;
    const closedEnd = Math.floor((st - graceMs) / hopMs) * hopMs;
    const out: Array<{ end: number; key: string; metric: ConversationMetric }> = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [key, state] of this.#store.all()) {
      const before = state.e;
      const r = closeWindows(this.#rules, this.#memo, key, state, closedEnd, (end, metric) =>
        out.push({ end, key, metric }),
      );
      if (r.empty) this.#store.delete(key);
      else if (before !== state.e) this.#store.put(key, state);
      next = Math.min(next, r.nextEnd + graceMs);
    }
    this.#nextClose = next;
    out.sort((a, b) => a.end - b.end || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { end, key, metric } of out) {
      this.#ctx.forward({ key, value: metric, timestamp: end - 1, headers: [] });
    }
  }
}

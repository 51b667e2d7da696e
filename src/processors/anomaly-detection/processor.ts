/**
 * The anomaly-detection processor: after the re-key by sender, every message goes to the rate rule
 * (key: sender) and the duplicate-content rule (key: sender + normalised content). Each rule keeps
 * its keys' `KeyState` (bursts.ts) in its own changelogged store, so a restarted task resumes with
 * the state of its last commit and sends exactly what an uninterrupted one would.
 */
import { createHash } from 'node:crypto';
import type { AnomalyAlert } from '../../events/index.ts';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../streams/index.ts';
import { type BurstRule, insertMessage, isEmpty, type KeyState, newKeyState, pass } from './bursts.ts';

/** What the repartition topic carries per message (key: sender_id). */
export interface SenderMessage {
  readonly id: string;
  readonly content: string;
}

/** Content as the duplicate rule compares it: trimmed, runs of whitespace as one space, lower case. */
export function normaliseContent(content: string): string {
  return content.trim().replace(/\s+/gu, ' ').toLowerCase();
}

/** The rule's key of a (sender, content): content by a 16-hex-digit sha-1, so state stays small. */
export function duplicateKeyOf(sender: string, normalised: string): string {
  return `${sender}\u0000${createHash('sha1').update(normalised).digest('hex').slice(0, 16)}`;
}

/** One rule's keys: the store, and an in-memory index of when each key next needs a pass. */
class RuleTracker {
  readonly #rule: BurstRule;
  readonly #store: KeyValueStore<string, KeyState>;
  readonly #emit: (alert: AnomalyAlert, timestamp: number) => void;
  /** Built from the store on first use (after a restore), then kept in step with it. */
  #due: Map<string, number> | null = null;
  /** A lower bound of the index's values: no scan before the frontier reaches it. */
  #minDue = Number.NEGATIVE_INFINITY;

  constructor(
    rule: BurstRule,
    store: KeyValueStore<string, KeyState>,
    emit: (alert: AnomalyAlert, timestamp: number) => void,
  ) {
    this.#rule = rule;
    this.#store = store;
    this.#emit = emit;
  }

  #index(): Map<string, number> {
    if (this.#due === null) {
      this.#due = new Map();
      // JSON has no Infinity: a restored `due` of null means "nothing due".
      for (const [key, s] of this.#store.all()) this.#due.set(key, s.due ?? Number.POSITIVE_INFINITY);
    }
    return this.#due;
  }

  add(key: string, user: string, ts: number, id: string, frontier: number): void {
    const state = this.#store.get(key) ?? newKeyState(user);
    if (!insertMessage(state, ts, id)) return;
    this.#run(key, state, frontier);
  }

  /** Pass every key due at `frontier` (key order, so a restored task sends in the same order). */
  advance(frontier: number): void {
    if (frontier < this.#minDue) return;
    const index = this.#index();
    const due: string[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [key, at] of index) {
      if (at <= frontier) due.push(key);
      else if (at < next) next = at;
    }
    due.sort();
    this.#minDue = next;
    for (const key of due) {
      const state = this.#store.get(key);
      if (state === undefined) index.delete(key);
      else this.#run(key, state, frontier);
    }
  }

  #run(key: string, state: KeyState, frontier: number): void {
    const out = pass(state, this.#rule, frontier);
    const index = this.#index();
    if (isEmpty(state)) {
      this.#store.delete(key);
      index.delete(key);
    } else {
      this.#store.put(key, state);
      index.set(key, state.due);
      if (state.due < this.#minDue) this.#minDue = state.due;
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
  readonly rateStore: string;
  readonly duplicateStore: string;
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
    this.#rate = new RuleTracker(rules.rate, ctx.getStateStore(rules.rateStore), emit);
    this.#duplicate = new RuleTracker(rules.duplicate, ctx.getStateStore(rules.duplicateStore), emit);
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

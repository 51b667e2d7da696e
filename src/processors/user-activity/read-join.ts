/**
 * The read join of user-activity: messages and views, both re-keyed by message_id into one task, so
 * that a view meets the receiver of its message. Out: one activity record per (user, event):
 * `sent` (the sender) and `received` (the receiver) at the message's event time, and `read` (the
 * receiver, when the viewer is the receiver) at the view's event time.
 *
 * Matching is decided by stream time, never by when a purge ran, so replays match identically:
 * - a message waits `retentionMs` for its views: a view matches it while stream time <= its time + retentionMs;
 * - a view whose message has not arrived waits `retentionMs` (of its own time) in `early-views`, and is
 *   matched when the message comes; views by anyone but the receiver are not reads and are dropped;
 * - a message_id seen again while its first message is retained is a repeat: ignored.
 * Physical purge follows insertion order (in-memory queues, rebuilt from the stores after a restore).
 */
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../streams/index.ts';

/** What the repartition topics carry (key: message_id): a message (`m`) or a view (`v`). */
export type JoinInput =
  | { readonly k: 'm'; readonly s: string; readonly r: string; readonly c: string }
  | { readonly k: 'v'; readonly u: string };

/** One unit of a user's activity (key: user_id). `c`: the conversation, for sent/received. */
export type Activity = { readonly k: 'sent' | 'received'; readonly c: string } | { readonly k: 'read' };

/** `message-receivers` entry. */
export interface Receiver {
  readonly r: string;
  readonly ts: number;
}

/** `early-views` entry: views (viewer, event time) waiting for their message. */
export type EarlyViews = Array<{ readonly u: string; readonly ts: number }>;

export interface ReadJoinOptions {
  readonly retentionMs: number;
  readonly receiversStore: string;
  readonly earlyViewsStore: string;
}

const NO_HEADERS: readonly [] = [];

export class ReadJoin implements Processor<string, JoinInput, string, Activity> {
  readonly #o: ReadJoinOptions;
  #ctx!: ProcessorContext<string, Activity>;
  #receivers!: KeyValueStore<string, Receiver>;
  #early!: KeyValueStore<string, EarlyViews>;
  /** (event time, message_id) in insertion order, for the purge; null until rebuilt from the store. */
  #receiverQueue: Array<[number, string]> | null = null;
  #earlyQueue: Array<[number, string]> | null = null;
  #receiverHead = 0;
  #earlyHead = 0;

  constructor(options: ReadJoinOptions) {
    this.#o = options;
  }

  init(ctx: ProcessorContext<string, Activity>): void {
    this.#ctx = ctx;
    this.#receivers = ctx.getStateStore(this.#o.receiversStore);
    this.#early = ctx.getStateStore(this.#o.earlyViewsStore);
  }

  process(record: StreamRecord<string, JoinInput>): void {
    const ctx = this.#ctx;
    const id = record.key;
    const ts = record.timestamp;
    const v = record.value;
    const oldest = ctx.streamTimeMs() - this.#o.retentionMs;
    this.#purge(oldest);
    if (v.k === 'm') {
      const known = this.#receivers.get(id);
      if (known !== undefined && known.ts >= oldest) return;
      this.#receivers.put(id, { r: v.r, ts });
      this.#queues().receivers.push([ts, id]);
      ctx.forward({ key: v.s, value: { k: 'sent', c: v.c }, timestamp: ts, headers: NO_HEADERS });
      ctx.forward({ key: v.r, value: { k: 'received', c: v.c }, timestamp: ts, headers: NO_HEADERS });
      const early = this.#early.get(id);
      if (early !== undefined) {
        this.#early.delete(id);
        for (const view of early) {
          if (view.u === v.r && view.ts >= oldest) {
            ctx.forward({ key: v.r, value: { k: 'read' }, timestamp: view.ts, headers: NO_HEADERS });
          }
        }
      }
      return;
    }
    const message = this.#receivers.get(id);
    if (message !== undefined && message.ts >= oldest) {
      if (message.r === v.u)
        ctx.forward({ key: v.u, value: { k: 'read' }, timestamp: ts, headers: NO_HEADERS });
      return;
    }
    if (ts < oldest) return;
    const early = this.#early.get(id) ?? [];
    early.push({ u: v.u, ts });
    this.#early.put(id, early);
    this.#queues().early.push([ts, id]);
  }

  #queues(): { receivers: Array<[number, string]>; early: Array<[number, string]> } {
    if (this.#receiverQueue === null || this.#earlyQueue === null) {
      this.#receiverQueue = this.#receivers
        .all()
        .map(([id, r]): [number, string] => [r.ts, id])
        .sort((a, b) => a[0] - b[0]);
      this.#earlyQueue = this.#early
        .all()
        .flatMap(([id, views]) => views.map((x): [number, string] => [x.ts, id]))
        .sort((a, b) => a[0] - b[0]);
    }
    return { receivers: this.#receiverQueue, early: this.#earlyQueue };
  }

  /** Delete entries older than `oldest` at the head of each queue (they can no longer match). */
  #purge(oldest: number): void {
    const { receivers, early } = this.#queues();
    while (
      this.#receiverHead < receivers.length &&
      (receivers[this.#receiverHead] as [number, string])[0] < oldest
    ) {
      const [ts, id] = receivers[this.#receiverHead++] as [number, string];
      if (this.#receivers.get(id)?.ts === ts) this.#receivers.delete(id);
    }
    while (this.#earlyHead < early.length && (early[this.#earlyHead] as [number, string])[0] < oldest) {
      const id = (early[this.#earlyHead++] as [number, string])[1];
      const views = this.#early.get(id);
      if (views === undefined) continue;
      const kept = views.filter((x) => x.ts >= oldest);
      if (kept.length === 0) this.#early.delete(id);
      else if (kept.length !== views.length) this.#early.put(id, kept);
    }
    // Drop the consumed heads now and then, so the queues do not grow without bound.
    if (this.#receiverHead > 4096 && this.#receiverHead * 2 > receivers.length) {
      receivers.splice(0, this.#receiverHead);
      this.#receiverHead = 0;
    }
    if (this.#earlyHead > 4096 && this.#earlyHead * 2 > early.length) {
      early.splice(0, this.#earlyHead);
      this.#earlyHead = 0;
    }
  }
}

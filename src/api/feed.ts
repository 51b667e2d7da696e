import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock/index.ts';
import { Topics } from '../events/index.ts';
import type { Consumer, Log, LogRecord } from '../log/index.ts';
import type { ThroughputSampler } from './throughput.ts';

/**
 * The live feed behind `GET /api/v1/stream`: the processors' output topics tailed by one consumer
 * (read_committed, manual assignment from the end: no group, nothing committed) and a platform tick
 * every `tickMs`, fanned out to subscribers.
 *
 * Event types: `alert` (every anomaly-alerts record), `trend` (trending-words), `peak`
 * (conversation-metrics records whose is_peak is true), `tick`. An alert's event id is the vector of
 * the next offsets of the anomaly-alerts partitions after it (`a.<o0>.<o1>…`); a subscriber that
 * passes it back (`Last-Event-ID`) first gets every alert after that position, read from the log,
 * then the live ones, with none lost or repeated in between.
 */
export type FeedEventType = 'alert' | 'trend' | 'peak' | 'tick';
export const FEED_EVENT_TYPES: readonly FeedEventType[] = ['alert', 'trend', 'peak', 'tick'];

export interface FeedEvent {
  readonly type: FeedEventType;
  readonly id?: string;
  readonly data: unknown;
}

type Listener = (event: FeedEvent) => void;

const ALERTS = Topics.anomalyAlerts;
/** Alerts replayed for one resuming subscriber, at most. */
const MAX_REPLAY = 10_000;

export interface LiveFeedOptions {
  readonly log: Log;
  readonly clock: Clock;
  readonly sampler: ThroughputSampler;
  /** Default 1 000 ms. */
  readonly tickMs?: number;
  /** Poll wait of the tailing consumer, ms. Default 100. */
  readonly pollMs?: number;
}

export class LiveFeed {
  readonly #o: LiveFeedOptions;
  readonly #listeners = new Set<Listener>();
  /** Next offset per anomaly-alerts partition: the position after the last alert delivered. */
  readonly #alertNext: number[] = new Array(ALERTS.partitions).fill(0);
  /** Times (epoch ms) of alerts seen in the last minute. */
  readonly #recentAlerts: number[] = [];
  #consumer: Consumer | undefined;
  /** Retrying to attach (topics missing at start). */
  #loop: Promise<void> | undefined;
  /** The tailing loop. */
  #running: Promise<void> | undefined;
  #tick: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: LiveFeedOptions) {
    this.#o = options;
  }

  /**
   * Start tailing. Topics that do not exist yet (an API started before `msgtrack topics create`) do
   * not fail the API: the feed retries every few seconds and starts once they exist.
   */
  async start(): Promise<void> {
    this.#tick = setInterval(() => void this.#emitTick(), this.#o.tickMs ?? 1000);
    this.#tick.unref();
    try {
      await this.#attach();
    } catch {
      this.#loop = (async () => {
        while (!this.#stopped) {
          await new Promise((r) => setTimeout(r, 3_000).unref());
          if (this.#stopped) return;
          try {
            await this.#attach();
            return;
          } catch {
            // not yet
          }
        }
      })();
    }
  }

  async #attach(): Promise<void> {
    const topics = [ALERTS, Topics.trendingWords, Topics.conversationMetrics];
    const consumer = this.#o.log.consumer({
      groupId: `msgtrack-api-feed-${randomUUID()}`,
      isolationLevel: 'read_committed',
      autoOffsetReset: 'latest',
      maxPollRecords: 2_000,
    });
    const tps = topics.flatMap((t) =>
      Array.from({ length: t.partitions }, (_, partition) => ({ topic: t.name, partition })),
    );
    try {
      consumer.assign(tps);
      await consumer.seekToEnd(tps);
    } catch (err) {
      await consumer.close().catch(() => {});
      throw err;
    }
    for (let p = 0; p < ALERTS.partitions; p++) {
      this.#alertNext[p] = consumer.position({ topic: ALERTS.name, partition: p });
    }
    this.#consumer = consumer;
    this.#running = this.#run(consumer);
  }

  async #run(consumer: Consumer): Promise<void> {
    while (!this.#stopped) {
      let records: LogRecord[];
      try {
        records = await consumer.poll(this.#o.pollMs ?? 100);
      } catch {
        if (this.#stopped) return;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const r of records) {
        const event = this.#toEvent(r);
        if (event !== undefined) this.#emit(event);
      }
    }
  }

  #toEvent(r: LogRecord): FeedEvent | undefined {
    let data: unknown;
    try {
      data = JSON.parse(r.value?.toString('utf8') ?? 'null');
    } catch {
      return undefined;
    }
    if (data === null || typeof data !== 'object') return undefined;
    if (r.topic === ALERTS.name) {
      this.#alertNext[r.partition] = r.offset + 1;
      const now = this.#o.clock.now();
      this.#recentAlerts.push(now);
      while (this.#recentAlerts.length > 0 && this.#recentAlerts[0]! < now - 60_000)
        this.#recentAlerts.shift();
      return { type: 'alert', id: alertId(this.#alertNext), data };
    }
    if (r.topic === Topics.trendingWords.name) return { type: 'trend', data };
    if ((data as { is_peak?: unknown }).is_peak === true) return { type: 'peak', data };
    return undefined;
  }

  #emit(event: FeedEvent): void {
    for (const l of this.#listeners) l(event);
  }

  async #emitTick(): Promise<void> {
    try {
      const t = await this.#o.sampler.sample();
      this.#emit({
        type: 'tick',
        data: { ...t, at: new Date(t.at).toISOString(), alerts_last_minute: this.alertsLastMinute },
      });
    } catch {
      // the log is closing: no tick
    }
  }

  /** Alerts this feed saw in the last 60 s (status line). */
  get alertsLastMinute(): number {
    const now = this.#o.clock.now();
    return this.#recentAlerts.filter((t) => t >= now - 60_000).length;
  }

  /**
   * Deliver events to `listener` until the returned function is called. With `lastEventId` (an
   * alert id), the alerts after it are replayed from the log first; events arriving meanwhile are
   * held and delivered after the replay, in order.
   */
  subscribe(listener: Listener, lastEventId?: string): () => void {
    const from = lastEventId === undefined ? undefined : parseAlertId(lastEventId);
    if (from === undefined) {
      this.#listeners.add(listener);
      return () => this.#listeners.delete(listener);
    }
    const until = [...this.#alertNext];
    const held: FeedEvent[] = [];
    let replaying = true;
    const relay: Listener = (e) => (replaying ? held.push(e) : listener(e));
    this.#listeners.add(relay);
    void this.#replay(from, until, listener).finally(() => {
      replaying = false;
      for (const e of held) listener(e);
      held.length = 0;
    });
    return () => this.#listeners.delete(relay);
  }

  async #replay(from: number[], until: number[], listener: Listener): Promise<void> {
    const consumer = this.#o.log.consumer({
      groupId: `msgtrack-api-replay-${randomUUID()}`,
      isolationLevel: 'read_committed',
      autoOffsetReset: 'earliest',
    });
    const next = [...from];
    try {
      const tps = until.map((_, partition) => ({ topic: ALERTS.name, partition }));
      consumer.assign(tps);
      for (const tp of tps) consumer.seek(tp, Math.min(from[tp.partition] ?? 0, until[tp.partition]!));
      let sent = 0;
      while (sent < MAX_REPLAY && next.some((o, p) => o < until[p]!)) {
        const records = await consumer.poll(100);
        if (records.length === 0 && tps.every((tp) => consumer.position(tp) >= until[tp.partition]!)) break;
        for (const r of records) {
          if (r.offset >= until[r.partition]!) continue;
          next[r.partition] = r.offset + 1;
          let data: unknown;
          try {
            data = JSON.parse(r.value?.toString('utf8') ?? 'null');
          } catch {
            continue;
          }
          listener({ type: 'alert', id: alertId(next), data });
          sent++;
        }
      }
    } catch {
      // the log is closing or the position is gone: the live events follow
    } finally {
      await consumer.close().catch(() => {});
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#tick);
    await this.#loop;
    await this.#running;
    await this.#consumer?.close().catch(() => {});
    this.#listeners.clear();
  }
}

function alertId(next: readonly number[]): string {
  return `a.${next.join('.')}`;
}

/** The offsets of an alert id, or undefined when it is not one (then no replay). */
export function parseAlertId(id: string): number[] | undefined {
  const parts = id.split('.');
  if (parts[0] !== 'a' || parts.length !== ALERTS.partitions + 1) return undefined;
  const offsets = parts.slice(1).map((p) => (/^\d{1,15}$/.test(p) ? Number(p) : Number.NaN));
  return offsets.every(Number.isSafeInteger) ? offsets : undefined;
}

import type { Clock } from '../clock/index.ts';
import type { Log, ProducerRecord } from '../log/index.ts';
import { generateTraffic, type TrafficOptions } from './traffic.ts';

export interface PublishOptions extends Omit<TrafficOptions, 'startMs'> {
  readonly clock: Clock;
  /** Stop after this many events (messages + views). */
  readonly count?: number;
  /** Stop once event time has advanced this far past the start, ms. */
  readonly durationMs?: number;
  /**
   * Paced (default): event time follows the wall clock, so events are published as they happen at
   * `messagesPerSecond`. Not paced: published as fast as the log takes them, timestamps as generated.
   */
  readonly paced?: boolean;
  /** Stop early (graceful: the current batch is still published). */
  readonly signal?: AbortSignal;
  /** Called after every published batch with the totals so far. */
  readonly onProgress?: (totals: PublishTotals) => void;
}

export interface PublishTotals {
  messages: number;
  views: number;
}

const MAX_BATCH = 5000;
const TICK_MS = 50;

/**
 * Publish generated traffic to the log (`chat.messages` keyed by conversation, `message-views` keyed
 * by viewer, as the seed's producer does). Event times start at the clock's now.
 */
export async function publishTraffic(log: Log, options: PublishOptions): Promise<PublishTotals> {
  const { clock, count, durationMs, signal } = options;
  const paced = options.paced ?? true;
  const startMs = clock.now();
  const events = generateTraffic({ ...options, startMs });
  const producer = log.producer();
  const totals: PublishTotals = { messages: 0, views: 0 };
  let next = events.next().value;
  try {
    for (;;) {
      const batch = new Map<string, ProducerRecord[]>();
      let n = 0;
      const horizon = paced ? clock.now() : Number.POSITIVE_INFINITY;
      while (n < MAX_BATCH && next.timeMs <= horizon) {
        if (count !== undefined && totals.messages + totals.views + n >= count) break;
        if (durationMs !== undefined && next.timeMs - startMs >= durationMs) break;
        const list = batch.get(next.topic) ?? [];
        list.push({ key: next.key, value: JSON.stringify(next.value), timestamp: next.timeMs });
        batch.set(next.topic, list);
        if (next.kind === 'message') totals.messages++;
        else totals.views++;
        n++;
        next = events.next().value;
      }
      for (const [topic, records] of batch) await producer.send(topic, records);
      if (n > 0) options.onProgress?.({ ...totals });
      const done =
        (count !== undefined && totals.messages + totals.views >= count) ||
        (durationMs !== undefined && next.timeMs - startMs >= durationMs);
      if (done || signal?.aborted === true) break;
      if (paced || n === 0) await new Promise((r) => setTimeout(r, TICK_MS));
    }
  } finally {
    await producer.close();
  }
  return totals;
}

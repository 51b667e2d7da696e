import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Clock } from '../clock/index.ts';
import type { Log, ProducerRecord } from '../log/index.ts';
import { createTraffic, type GeneratedEvent, type TrafficOptions } from './traffic.ts';
import type { TrafficTruth } from './truth.ts';

/** Where generated events go: the log, or a running instance's API (http-target.ts). */
export interface EventSink {
  /** Delivers a batch (messages and views each in event-time order); resolves once acknowledged. */
  send(messages: readonly GeneratedEvent[], views: readonly GeneratedEvent[]): Promise<void>;
  close(): Promise<void>;
}

export interface PublishOptions extends Omit<TrafficOptions, 'startMs'> {
  readonly clock: Clock;
  /** Event time of the first event, epoch ms. Default: the clock's now. */
  readonly startMs?: number;
  /** Stop after this many events (messages + views). */
  readonly count?: number;
  /** Stop once event time has advanced this far past the start, ms. */
  readonly durationMs?: number;
  /**
   * Paced (default): event time follows the wall clock, so events are published as they happen
   * (with the day/night rhythm unless `dayNight` says otherwise). Not paced: published as fast as the
   * sink takes them, timestamps from the simulated clock.
   */
  readonly paced?: boolean;
  /** Stop early (graceful: the batch being sent is still delivered; within one batch, ≲ 50 ms). */
  readonly signal?: AbortSignal;
  /** Called after every delivered batch with the totals so far. */
  readonly onProgress?: (totals: PublishTotals) => void;
}

export interface PublishTotals {
  messages: number;
  views: number;
}

export interface PublishResult extends PublishTotals {
  /** What was injected among the delivered events. */
  readonly truth: TrafficTruth;
}

/** Events per batch at most; a fast run yields to the event loop after each (signals, fsync timer). */
const MAX_BATCH = 2000;
const TICK_MS = 50;

/**
 * Publish generated traffic to the log: `chat.messages` keyed by conversation, `message-views` keyed
 * by viewer, as the seed's producer does.
 */
export function publishTraffic(log: Log, options: PublishOptions): Promise<PublishResult> {
  return publishTo(logSink(log), options);
}

export function logSink(log: Log): EventSink {
  const producer = log.producer();
  const records = (events: readonly GeneratedEvent[]): ProducerRecord[] =>
    events.map((e) => ({ key: e.key, value: JSON.stringify(e.value), timestamp: e.timeMs }));
  return {
    async send(messages, views) {
      if (messages.length > 0) await producer.send(messages[0]!.topic, records(messages));
      if (views.length > 0) await producer.send(views[0]!.topic, records(views));
    },
    close: () => producer.close(),
  };
}

/**
 * Publish generated traffic to any sink; the sink is closed at the end. Events are drawn only when a
 * batch has room, so the one drawn but not delivered (if any) lies after every delivered event in
 * event time, and the truth returned covers exactly the delivered events.
 */
export async function publishTo(sink: EventSink, options: PublishOptions): Promise<PublishResult> {
  const { clock, count, durationMs, signal } = options;
  const paced = options.paced ?? true;
  const startMs = options.startMs ?? clock.now();
  const traffic = createTraffic({ dayNight: paced, ...options, startMs });
  const totals: PublishTotals = { messages: 0, views: 0 };
  let pending: GeneratedEvent | undefined;
  let lastMs = startMs;
  let done = false;
  const stopped = () => signal?.aborted === true;
  try {
    while (!done && !stopped()) {
      const left = count === undefined ? MAX_BATCH : count - totals.messages - totals.views;
      if (left <= 0) break;
      const messages: GeneratedEvent[] = [];
      const views: GeneratedEvent[] = [];
      const horizon = paced ? clock.now() : Number.POSITIVE_INFINITY;
      const room = Math.min(MAX_BATCH, left);
      while (messages.length + views.length < room) {
        const e = (pending ??= traffic.next());
        if (e.timeMs > horizon) break;
        if (durationMs !== undefined && e.timeMs - startMs >= durationMs) {
          done = true;
          break;
        }
        (e.kind === 'message' ? messages : views).push(e);
        pending = undefined;
      }
      if (messages.length + views.length > 0) {
        try {
          await sink.send(messages, views);
        } catch (err) {
          if (stopped()) {
            // Stopped while the sink was retrying: this batch counts as not delivered.
            pending = messages[0] ?? views[0];
            if (views[0] !== undefined && pending!.timeMs > views[0].timeMs) pending = views[0];
            break;
          }
          throw err;
        }
        totals.messages += messages.length;
        totals.views += views.length;
        lastMs = Math.max(messages.at(-1)?.timeMs ?? lastMs, views.at(-1)?.timeMs ?? lastMs);
        options.onProgress?.({ ...totals });
      }
      if (done) break;
      if (paced) await new Promise((r) => setTimeout(r, TICK_MS));
      else await yieldToEventLoop();
    }
  } finally {
    await sink.close();
  }
  const truth = traffic.truth(pending?.timeMs);
  return { ...totals, truth: { ...truth, endMs: lastMs, messages: totals.messages, views: totals.views } };
}

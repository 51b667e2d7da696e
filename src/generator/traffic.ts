import type { ChatMessageWire, MessageViewWire } from '../events/index.ts';
import { ChatSimulation } from './chat-simulation.ts';
import { SeedProducerTraffic } from './seed-profile.ts';
import type { TrafficTruth } from './truth.ts';

export { DEFAULT_START_MS } from './rules.ts';

/**
 * Synthetic chat traffic, reproducible from a seed (same options → the same events, byte for byte),
 * in event-time order and in the seed producer's exact wire format: `chat.messages` keyed by
 * conversation, `message-views` keyed by viewer.
 *
 * Profile `default` (chat-simulation.ts): a chat service of `users` people in `conversations`
 * conversations with stable members, in which every ordinary user stays below the spam rule, plus
 * spam bursts, trends and conversation peaks injected on purpose and reported by `truth()`.
 * Profile `seed` (seed-profile.ts): the seed's own producer (8 users, 5 conversations, 15 sentences,
 * one message every 2 s).
 */
export interface TrafficOptions {
  /** `default` or `seed`. Default `default`. */
  readonly profile?: 'default' | 'seed';
  /** Same seed, same traffic. Default 1. */
  readonly seed?: number;
  /** Event time of the first event, epoch ms. Default 2025-11-08T14:00:00Z. */
  readonly startMs?: number;
  /**
   * Ordinary messages per second of event time (at the busiest hour when `dayNight`). Default 20.
   * At most `maxRateFor(users)`. Ignored by the seed profile (one message every 2 s).
   */
  readonly messagesPerSecond?: number;
  /** Default 1,000, or more when `messagesPerSecond` needs more users (`usersForRate`). */
  readonly users?: number;
  /** Default 400, or 0.4 per user beyond 1,000 users (every user gets a seat). */
  readonly conversations?: number;
  /** Modulate the rate by the hour of the local day (quiet nights). Default false. */
  readonly dayNight?: boolean;
  /** Offset of the local day from UTC for `dayNight`, minutes. Default 0. */
  readonly utcOffsetMinutes?: number;
  /** Inject spam bursts, trends and conversation peaks. Default true. */
  readonly inject?: boolean;
  /** The anomaly processor's rate rule the traffic is built around. Default 8 messages in 60 s. */
  readonly rateRule?: { readonly threshold: number; readonly windowMs: number };
  /** The duplicate-content rule. Default 5 identical messages in 10 minutes. */
  readonly duplicateRule?: { readonly threshold: number; readonly windowMs: number };
}

export type GeneratedEvent =
  | {
      readonly kind: 'message';
      readonly topic: string;
      readonly key: string;
      readonly timeMs: number;
      readonly value: ChatMessageWire;
    }
  | {
      readonly kind: 'view';
      readonly topic: string;
      readonly key: string;
      readonly timeMs: number;
      readonly value: MessageViewWire;
    };

/** A running generator: an endless stream of events and what it injected so far. */
export interface Traffic {
  next(): GeneratedEvent;
  /** What was injected among the events returned so far whose event time is before `beforeMs`. */
  truth(beforeMs?: number): TrafficTruth;
}

export function createTraffic(options: TrafficOptions = {}): Traffic {
  return options.profile === 'seed' ? new SeedProducerTraffic(options) : new ChatSimulation(options);
}

/** An endless, deterministic stream of events; take as many as needed. */
export function* generateTraffic(options: TrafficOptions = {}): Generator<GeneratedEvent, never> {
  const traffic = createTraffic(options);
  for (;;) yield traffic.next();
}

/** The first `count` events of `generateTraffic(options)`. */
export function takeTraffic(count: number, options: TrafficOptions = {}): GeneratedEvent[] {
  return takeTrafficWithTruth(count, options).events;
}

/** The first `count` events and the truth about them. */
export function takeTrafficWithTruth(
  count: number,
  options: TrafficOptions = {},
): { events: GeneratedEvent[]; truth: TrafficTruth } {
  const traffic = createTraffic(options);
  const events: GeneratedEvent[] = [];
  for (let i = 0; i < count; i++) events.push(traffic.next());
  return { events, truth: traffic.truth() };
}

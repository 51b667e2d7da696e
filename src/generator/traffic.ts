import type { ChatMessageWire, MessageViewWire } from '../events/index.ts';
import { formatRfc3339, Topics } from '../events/index.ts';
import { Random } from './random.ts';

/**
 * Synthetic chat traffic, reproducible from a seed: users, conversations with stable participants
 * (one pair each, in both directions), read receipts after a delay, plus spam bursts and trending
 * topics injected on purpose so that the anomaly and trend processors have something to find.
 * Events come out in event-time order, in the seed producer's exact wire format.
 */
export interface TrafficOptions {
  /** Same seed, same traffic. Default 1. */
  readonly seed?: number;
  /** Event time of the first message, epoch ms. Default 2025-11-08T14:00:00Z. */
  readonly startMs?: number;
  /** Mean messages per second of event time. Default 50. */
  readonly messagesPerSecond?: number;
  /** Default 50. */
  readonly users?: number;
  /** Default 40. */
  readonly conversations?: number;
  /** Probability that the receiver reads a message. Default 0.7. */
  readonly readProbability?: number;
  /** Probability that a read receipt is sent twice (a second device). Default 0.1. */
  readonly duplicateViewProbability?: number;
  /** Probability that the sender views their own message (a view by a non-receiver). Default 0.05. */
  readonly senderViewProbability?: number;
  /** Mean delay from message to read, ms. Default 5000. */
  readonly readDelayMeanMs?: number;
  /** Probability that a message starts a spam burst. Default 0.002. */
  readonly spamBurstProbability?: number;
  /** Probability that a message carries the current trending topic. Default 0.15. */
  readonly trendingProbability?: number;
  /** How long one trending topic lasts, ms of event time. Default 240 000. */
  readonly trendPeriodMs?: number;
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

const WORDS = [
  'weekend',
  'plans',
  'anyone',
  'dinner',
  'tonight',
  'meeting',
  'tomorrow',
  'project',
  'deadline',
  'coffee',
  'lunch',
  'movie',
  'great',
  'thanks',
  'awesome',
  'sounds',
  'good',
  'call',
  'later',
  'today',
  'office',
  'travel',
  'flight',
  'hotel',
  'music',
  'game',
  'score',
  'team',
  'review',
  'code',
  'deploy',
  'release',
  'weather',
  'rain',
  'sunny',
  'birthday',
  'party',
  'gift',
  'photo',
  'picture',
  'share',
  'link',
  'check',
];
const STOP_WORDS = [
  'the',
  'and',
  'with',
  'that',
  'this',
  'have',
  'from',
  'your',
  'what',
  'when',
  'just',
  'about',
];
const TRENDS = [
  'eclipse',
  'playoffs',
  'concert',
  'hackathon',
  'earthquake',
  'launch',
  'festival',
  'election',
];
const SPAM = ['Win a free phone now', 'Click this link for prizes', 'Cheap followers here'];
const DEVICES = ['web', 'ios', 'android'] as const;
const MESSAGE_TYPES = ['text', 'text', 'text', 'text', 'image', 'link'] as const;

interface Conversation {
  readonly id: string;
  readonly a: string;
  readonly b: string;
}

/** A min-heap of pending views by time (ties by insertion order, so output is deterministic). */
class ViewQueue {
  readonly #items: { timeMs: number; seq: number; view: MessageViewWire }[] = [];
  #seq = 0;
  get size(): number {
    return this.#items.length;
  }
  peekTime(): number {
    return this.#items[0]?.timeMs ?? Number.POSITIVE_INFINITY;
  }
  push(timeMs: number, view: MessageViewWire): void {
    const items = this.#items;
    items.push({ timeMs, seq: this.#seq++, view });
    let i = items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(i, p)) break;
      [items[i], items[p]] = [items[p]!, items[i]!];
      i = p;
    }
  }
  pop(): { timeMs: number; view: MessageViewWire } {
    const items = this.#items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.#less(l, m)) m = l;
        if (r < items.length && this.#less(r, m)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }
  #less(i: number, j: number): boolean {
    const x = this.#items[i]!;
    const y = this.#items[j]!;
    return x.timeMs < y.timeMs || (x.timeMs === y.timeMs && x.seq < y.seq);
  }
}

/** An endless, deterministic stream of events; take as many as needed. */
export function* generateTraffic(options: TrafficOptions = {}): Generator<GeneratedEvent, never> {
  const rnd = new Random(options.seed ?? 1);
  const startMs = options.startMs ?? Date.UTC(2025, 10, 8, 14, 0, 0);
  const meanGapMs = 1000 / (options.messagesPerSecond ?? 50);
  const userCount = Math.max(2, options.users ?? 50);
  const readP = options.readProbability ?? 0.7;
  const dupViewP = options.duplicateViewProbability ?? 0.1;
  const senderViewP = options.senderViewProbability ?? 0.05;
  const readDelayMeanMs = options.readDelayMeanMs ?? 5000;
  const spamP = options.spamBurstProbability ?? 0.002;
  const trendP = options.trendingProbability ?? 0.15;
  const trendPeriodMs = options.trendPeriodMs ?? 240_000;

  const users = Array.from({ length: userCount }, (_, i) => `user-${String(i + 1).padStart(3, '0')}`);
  const conversations: Conversation[] = Array.from(
    { length: Math.max(1, options.conversations ?? 40) },
    (_, i) => {
      const a = rnd.pick(users);
      let b = rnd.pick(users);
      while (b === a) b = rnd.pick(users);
      return { id: `conv-${i + 1}`, a, b };
    },
  );

  const views = new ViewQueue();
  let clockMs = startMs;
  let nextNormalMs = startMs;
  let seq = 0;
  /** The spam burst in progress: its sender, messages left, text and the time of its next message. */
  let burst: { conv: Conversation; left: number; text: string; nextMs: number } | undefined;

  const content = (timeMs: number): string => {
    const n = rnd.int(3, 9);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(rnd.chance(0.3) ? rnd.pick(STOP_WORDS) : rnd.pick(WORDS));
    if (rnd.chance(trendP)) {
      const trend = TRENDS[Math.floor((timeMs - startMs) / trendPeriodMs) % TRENDS.length]!;
      words.splice(rnd.int(0, words.length), 0, trend);
    }
    const text = words.join(' ');
    return text.charAt(0).toUpperCase() + text.slice(1) + (rnd.chance(0.3) ? '?' : '');
  };

  for (;;) {
    // Normal traffic is a Poisson process; a spam burst runs beside it (one message every 0.2–2.5 s).
    const fromBurst = burst !== undefined && burst.nextMs <= nextNormalMs;
    const nextMessageMs = Math.max(clockMs, fromBurst ? burst!.nextMs : nextNormalMs);
    while (views.size > 0 && views.peekTime() <= nextMessageMs) {
      const { timeMs, view } = views.pop();
      yield { kind: 'view', topic: Topics.messageViews.name, key: view.user_id, timeMs, value: view };
    }
    clockMs = nextMessageMs;

    let conv: Conversation;
    let sender: string;
    let text: string;
    if (fromBurst && burst !== undefined) {
      conv = burst.conv;
      sender = conv.a;
      text = rnd.chance(0.5) ? burst.text : `${burst.text} ${rnd.int(1, 999)}`;
      burst.nextMs = clockMs + rnd.int(200, 2500);
      if (--burst.left === 0) burst = undefined;
    } else {
      conv = rnd.pick(conversations);
      sender = rnd.chance(0.5) ? conv.a : conv.b;
      text = content(clockMs);
      nextNormalMs = clockMs + Math.max(1, Math.round(rnd.exponential(meanGapMs)));
      if (burst === undefined && rnd.chance(spamP)) {
        burst = { conv, left: rnd.int(8, 15), text: rnd.pick(SPAM), nextMs: clockMs + rnd.int(200, 2500) };
      }
    }
    const receiver = sender === conv.a ? conv.b : conv.a;
    seq++;
    const message: ChatMessageWire = {
      message_id: `msg-${Math.floor(clockMs / 1000)}-${seq}`,
      user_id: sender,
      content: text,
      timestamp: formatRfc3339(clockMs),
      event_type: 'message_sent',
      conversation_id: conv.id,
      sender_id: sender,
      receiver_id: receiver,
      message_type: rnd.pick(MESSAGE_TYPES),
    };
    yield { kind: 'message', topic: Topics.chatMessages.name, key: conv.id, timeMs: clockMs, value: message };

    const view = (viewer: string) => {
      const at = clockMs + 1 + Math.round(rnd.exponential(readDelayMeanMs));
      views.push(at, {
        message_id: message.message_id,
        user_id: viewer,
        viewed_at: formatRfc3339(at),
        device: rnd.pick(DEVICES),
      });
    };
    if (rnd.chance(readP)) {
      view(receiver);
      if (rnd.chance(dupViewP)) view(receiver);
    }
    if (rnd.chance(senderViewP)) view(sender);
  }
}

/** The first `count` events of `generateTraffic(options)`. */
export function takeTraffic(count: number, options: TrafficOptions = {}): GeneratedEvent[] {
  const out: GeneratedEvent[] = [];
  if (count <= 0) return out;
  for (const e of generateTraffic(options)) {
    out.push(e);
    if (out.length >= count) break;
  }
  return out;
}

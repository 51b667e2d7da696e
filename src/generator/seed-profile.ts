import type { ChatMessageWire, MessageViewWire } from '../events/index.ts';
import { Topics } from '../events/index.ts';
import { TimeQueue } from './queue.ts';
import { derivedRandom, type Random } from './random.ts';
import { DEFAULT_DUPLICATE_RULE, DEFAULT_RATE_RULE, DEFAULT_START_MS } from './rules.ts';
import type { GeneratedEvent, Traffic, TrafficOptions } from './traffic.ts';
import type { TrafficTruth } from './truth.ts';
import { SEED_SENTENCES, SEED_USERS } from './vocabulary.ts';

/**
 * `--profile seed`: the seed producer's workload, so that the platform can be compared with it on its
 * own terms. One message every 2 s from a random user to another random user, in `conv-1`…`conv-5`
 * chosen independently of the pair, with one of its 15 sentences; `message_type` text. After each
 * message: with probability 1/3 a receipt by the receiver 1–10 s later (whole seconds), and with
 * probability 1/10 a view of a random one of the last 50 messages by a random user 5–19 s later;
 * device `web`. Timestamps as Go's `time.RFC3339Nano` writes them (trailing zeros of the fraction
 * trimmed). Nothing is injected: the truth lists no spammer, trend or peak (ordinary users of this
 * profile do meet the rate rule by chance, as the seed's did).
 */
const INTERVAL_MS = 2_000;
const RECENT = 50;

/** Go's RFC3339Nano in UTC: `2025-11-08T14:11:31.52Z`, `2025-11-08T14:11:31Z`. */
export function formatGoRfc3339(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return iso.replace(/\.?0+Z$/, 'Z');
}

export class SeedProducerTraffic implements Traffic {
  readonly #seed: number;
  readonly #rnd: Random;
  readonly #queue = new TimeQueue<GeneratedEvent>();
  readonly #recent: string[] = [];
  readonly #startMs: number;
  #nextMessageMs: number;
  #seq = 0;
  #messages = 0;
  #views = 0;
  #lastMs = Number.NaN;

  constructor(options: TrafficOptions) {
    this.#seed = options.seed ?? 1;
    this.#rnd = derivedRandom(this.#seed, 7);
    this.#startMs = options.startMs ?? DEFAULT_START_MS;
    this.#nextMessageMs = this.#startMs;
  }

  next(): GeneratedEvent {
    if (this.#queue.peekTime() <= this.#nextMessageMs) {
      const view = this.#queue.pop()!;
      this.#views++;
      this.#lastMs = view.timeMs;
      return view;
    }
    const ms = this.#nextMessageMs;
    this.#nextMessageMs += INTERVAL_MS;
    const rnd = this.#rnd;
    const sender = rnd.pick(SEED_USERS);
    let receiver = rnd.pick(SEED_USERS);
    while (receiver === sender) receiver = rnd.pick(SEED_USERS);
    const id = `msg-${Math.floor(ms / 1000)}-${++this.#seq}`;
    const value: ChatMessageWire = {
      message_id: id,
      user_id: sender,
      content: rnd.pick(SEED_SENTENCES),
      timestamp: formatGoRfc3339(ms),
      event_type: 'message_sent',
      conversation_id: `conv-${rnd.int(1, 5)}`,
      sender_id: sender,
      receiver_id: receiver,
      message_type: 'text',
    };
    this.#recent.push(id);
    if (this.#recent.length > RECENT) this.#recent.shift();
    if (rnd.chance(1 / 3)) this.#view(id, receiver, ms + rnd.int(1, 10) * 1000);
    if (rnd.chance(1 / 10))
      this.#view(rnd.pick(this.#recent), rnd.pick(SEED_USERS), ms + rnd.int(5, 19) * 1000);
    this.#messages++;
    this.#lastMs = ms;
    return {
      kind: 'message',
      topic: Topics.chatMessages.name,
      key: value.conversation_id,
      timeMs: ms,
      value,
    };
  }

  #view(messageId: string, viewer: string, atMs: number): void {
    const value: MessageViewWire = {
      message_id: messageId,
      user_id: viewer,
      viewed_at: formatGoRfc3339(atMs),
      device: 'web',
    };
    this.#queue.push(atMs, {
      kind: 'view',
      topic: Topics.messageViews.name,
      key: viewer,
      timeMs: atMs,
      value,
    });
  }

  truth(): TrafficTruth {
    return {
      profile: 'seed',
      seed: this.#seed,
      startMs: this.#startMs,
      endMs: Number.isNaN(this.#lastMs) ? this.#startMs : this.#lastMs,
      messages: this.#messages,
      views: this.#views,
      users: SEED_USERS.length,
      conversations: 5,
      rateRule: { ...DEFAULT_RATE_RULE },
      duplicateRule: { ...DEFAULT_DUPLICATE_RULE },
      mostFrequentWord: null,
      stopWords: [],
      spammers: [],
      duplicateOnlyBursts: [],
      trends: [],
      peaks: [],
    };
  }
}

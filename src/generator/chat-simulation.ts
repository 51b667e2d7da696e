import type { ChatMessageWire } from '../events/index.ts';
import { Topics } from '../events/index.ts';
import { type Text, TextMaker } from './content.ts';
import { type Burst, injectedTruth, type Peak, type Trend } from './episodes.ts';
import { MOST_FREQUENT_WORD } from './ordinary-words.ts';
import { type Conversation, createPopulation, dayNightFactor, type Population } from './population.ts';
import { TimeQueue } from './queue.ts';
import { cumulativeIndex, derivedRandom, type Random } from './random.ts';
import { type PendingView, Receipts } from './receipts.ts';
import { rfc3339Formatter } from './rfc3339-formatter.ts';
import {
  DEFAULT_DUPLICATE_RULE,
  DEFAULT_RATE_RULE,
  DEFAULT_START_MS,
  maxRateFor,
  RULE_MARGIN_MS,
  type Rule,
  usersForRate,
} from './rules.ts';
import { SendLimits } from './send-limits.ts';
import type { GeneratedEvent, Traffic, TrafficOptions } from './traffic.ts';
import type { TrafficTruth } from './truth.ts';
import { FILLER_WORDS, TREND_WORDS } from './vocabulary.ts';

/**
 * The default profile: a discrete-event simulation in event time. One queue holds what is due —
 * the next ordinary arrival (a Poisson process, thinned by the day/night factor), the planned
 * messages of spam bursts and conversation peaks, and pending read receipts — and `next()` pops it
 * in time order.
 *
 * How the guarantees hold by construction:
 * - Rate rule (≥ threshold messages within windowMs): every non-burst message of a user passes a
 *   limiter that keeps the user's last threshold−1 send times and lets a message through only if the
 *   oldest is ≥ windowMs + RULE_MARGIN_MS ago — so any `threshold` consecutive messages span more than
 *   the window. A blocked sender's message goes to another member or another conversation, or is
 *   dropped. Burst messages bypass the limiter, and the spammer is reserved (no other message) from
 *   window + margin before the burst to window + margin after it, so the burst is one maximal run
 *   whose messages are exactly the burst's: it is planned (window + margin + 5 s ahead) before any
 *   of that reservation has passed.
 * - Duplicate rule: each user's fingerprints of the texts sent within the duplicate window (+ 1 min)
 *   are kept in a ring large enough for the most the limiter lets through, and an ordinary text that
 *   repeats one is drawn again; only a duplicate-content burst repeats a text.
 * - Trends: a trend word is only ever drawn during its period; trend periods do not overlap.
 *
 * Group conversations: one `chat.messages` event per message (no fan-out, so message ids, volumes
 * and the seed's one-receiver wire format stay as they are), `receiver_id` = the addressed member
 * (most often the previous speaker), and the other members' reads are `message-views` by users who
 * are not the message's receiver.
 */

const ARRIVAL = 0;
const BURST = 1;
const PEAK = 2;
const VIEW = 3;
const PLAN_BURST = 4;
const PLAN_PEAK = 5;

type Action =
  | { readonly k: typeof ARRIVAL | typeof PLAN_BURST | typeof PLAN_PEAK }
  | { readonly k: typeof BURST; readonly burst: Burst }
  | { readonly k: typeof PEAK; readonly peak: Peak }
  | { readonly k: typeof VIEW; readonly view: PendingView };

const ARRIVAL_ACTION: Action = { k: ARRIVAL };
const PLAN_BURST_ACTION: Action = { k: PLAN_BURST };
const PLAN_PEAK_ACTION: Action = { k: PLAN_PEAK };

/**
 * First episodes, from the start: a new user sees a burst and a peak within the first minute, and a
 * trend within four. A trend needs history to stand out against: starting 45 s in, its first 2-minute
 * window was also the stream's first, which no processor can know a baseline for — the word's later
 * windows were then scored against the trend itself (bench:quality, seed 2: "eclipse" in no top 3).
 * At 3 min 45 s, two windows of ordinary traffic come before it.
 */
const FIRST_BURST_MS = 15_000;
const FIRST_PEAK_MS = 30_000;
const FIRST_TREND_MS = 225_000;
const SPAMMER_SHARE = 0.01;

export class ChatSimulation implements Traffic {
  readonly #seed: number;
  readonly #startMs: number;
  readonly #meanGapMs: number;
  readonly #rate: number;
  readonly #dayNight: boolean;
  readonly #utcOffset: number;
  readonly #inject: boolean;
  readonly #rule: Rule;
  readonly #dupRule: Rule;
  readonly #pop: Population;
  readonly #convCumulative: Float64Array;
  readonly #convTotal: number;
  readonly #spammers: readonly number[];
  readonly #rnd: Random;
  readonly #episodeRnd: Random;
  readonly #trendRnd: Random;
  readonly #text = new TextMaker();
  readonly #queue = new TimeQueue<Action>();
  readonly #formatMessageTime = rfc3339Formatter();
  readonly #limits: SendLimits;
  readonly #receipts: Receipts;
  readonly #lastSender: Int32Array;
  readonly #lastBurstEnd: Float64Array;
  readonly #peakUntil: Float64Array;
  readonly #bursts: Burst[] = [];
  readonly #peaks: Peak[] = [];
  readonly #trends: Trend[] = [];
  #nextBurstMs: number;
  #nextPeakMs: number;
  #seq = 0;
  #messages = 0;
  #firstMs = Number.NaN;
  #lastMs = Number.NaN;

  constructor(options: TrafficOptions) {
    this.#seed = options.seed ?? 1;
    this.#startMs = options.startMs ?? DEFAULT_START_MS;
    this.#rule = options.rateRule ?? DEFAULT_RATE_RULE;
    this.#dupRule = options.duplicateRule ?? DEFAULT_DUPLICATE_RULE;
    this.#rate = options.messagesPerSecond ?? 20;
    const users = options.users ?? usersForRate(this.#rate, this.#rule);
    const conversations = options.conversations ?? Math.max(400, Math.ceil(users * 0.4));
    if (!(this.#rate > 0) || this.#rate > maxRateFor(users, this.#rule)) {
      throw new RangeError(
        `${this.#rate} messages/s needs at least ${Math.ceil(this.#rate / maxRateFor(1, this.#rule))} users, not ${users}: every ordinary user stays below the spam rule`,
      );
    }
    if (!Number.isSafeInteger(users) || users < 2) throw new RangeError(`users ${users}: at least 2`);
    if (!Number.isSafeInteger(conversations) || conversations < 1)
      throw new RangeError(`conversations ${conversations}: at least 1`);
    this.#meanGapMs = 1000 / this.#rate;
    this.#dayNight = options.dayNight ?? false;
    this.#utcOffset = options.utcOffsetMinutes ?? 0;
    this.#inject = options.inject ?? true;

    this.#rnd = derivedRandom(this.#seed, 2);
    this.#episodeRnd = derivedRandom(this.#seed, 4);
    this.#trendRnd = derivedRandom(this.#seed, 5);
    const setup = derivedRandom(this.#seed, 1);
    this.#pop = createPopulation(setup, users, conversations);
    this.#receipts = new Receipts(derivedRandom(this.#seed, 3), this.#pop, (atMs, view) =>
      this.#queue.push(atMs, { k: VIEW, view }),
    );
    this.#convCumulative = new Float64Array(conversations);
    let total = 0;
    this.#pop.conversations.forEach((c, i) => {
      this.#convCumulative[i] = total += c.weight;
    });
    this.#convTotal = total;
    const candidates = this.#pop.userIds.map((_, u) => u).filter((u) => this.#pop.memberOf[u]!.length > 0);
    // Only members of a conversation send: they must carry the rate.
    if (this.#rate > maxRateFor(candidates.length, this.#rule)) {
      throw new RangeError(
        `${this.#rate} messages/s needs at least ${Math.ceil(this.#rate / maxRateFor(1, this.#rule))} users in conversations, but the ${conversations} conversations seat only ${candidates.length}: more conversations`,
      );
    }
    const spammers: number[] = [];
    const wanted = Math.max(1, Math.round(users * SPAMMER_SHARE));
    while (spammers.length < Math.min(wanted, candidates.length)) {
      const u = setup.pick(candidates);
      if (!spammers.includes(u)) spammers.push(u);
    }
    this.#spammers = spammers;

    this.#limits = new SendLimits(users, this.#rule, this.#dupRule, this.#maxBurstSize());
    this.#lastSender = new Int32Array(conversations).fill(-1);
    this.#lastBurstEnd = new Float64Array(users).fill(Number.NEGATIVE_INFINITY);
    this.#peakUntil = new Float64Array(conversations).fill(Number.NEGATIVE_INFINITY);

    this.#queue.push(this.#startMs, ARRIVAL_ACTION);
    this.#nextBurstMs = this.#startMs + FIRST_BURST_MS;
    this.#nextPeakMs = this.#startMs + FIRST_PEAK_MS;
    if (this.#inject) {
      this.#planBurst(this.#startMs);
      this.#queue.push(this.#nextPeakMs, PLAN_PEAK_ACTION);
      const startMs = this.#startMs + FIRST_TREND_MS;
      const endMs = startMs + this.#trendRnd.int(240_000, 360_000);
      this.#trends.push({ word: 0, startMs, endMs, emittedMs: [] });
    }
  }

  #maxBurstSize(): number {
    return Math.max(this.#rule.threshold, this.#dupRule.threshold) + 17;
  }

  next(): GeneratedEvent {
    for (;;) {
      const t = this.#queue.peekTime();
      const action = this.#queue.pop()!;
      let event: GeneratedEvent | undefined;
      switch (action.k) {
        case ARRIVAL:
          this.#queue.push(t + this.#rnd.exponential(this.#meanGapMs), ARRIVAL_ACTION);
          event = this.#ordinary(Math.floor(t));
          break;
        case BURST:
          event = this.#burstMessage(t, action.burst);
          break;
        case PEAK:
          event = this.#peakMessage(t, action.peak);
          break;
        case VIEW:
          event = this.#receipts.event(t, action.view);
          break;
        case PLAN_BURST:
          this.#planBurst(t);
          break;
        case PLAN_PEAK:
          this.#planPeak(t);
          break;
      }
      if (event !== undefined) {
        if (Number.isNaN(this.#firstMs)) this.#firstMs = event.timeMs;
        this.#lastMs = event.timeMs;
        return event;
      }
    }
  }

  // ---- ordinary traffic

  #ordinary(ms: number): GeneratedEvent | undefined {
    const rnd = this.#rnd;
    if (this.#dayNight && rnd.next() >= dayNightFactor(ms, this.#utcOffset)) return undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      const c = this.#pickConversation();
      const sender = this.#pickSender(c, ms);
      if (sender >= 0) return this.#message(ms, c, sender, this.#ordinaryText(sender, ms));
    }
    return undefined;
  }

  #pickConversation(): number {
    return cumulativeIndex(this.#convCumulative, this.#rnd.next() * this.#convTotal);
  }

  /** A member allowed to send now, by activity, seldom the previous speaker; -1 if none may. */
  #pickSender(c: number, ms: number): number {
    const rnd = this.#rnd;
    const members = this.#pop.conversations[c]!.members;
    const last = this.#lastSender[c]!;
    let total = 0;
    for (const m of members) total += m === last ? this.#pop.activity[m]! * 0.3 : this.#pop.activity[m]!;
    let x = rnd.next() * total;
    let pick = members[members.length - 1]!;
    for (const m of members) {
      x -= m === last ? this.#pop.activity[m]! * 0.3 : this.#pop.activity[m]!;
      if (x < 0) {
        pick = m;
        break;
      }
    }
    if (this.#limits.allowed(pick, ms)) return pick;
    const from = rnd.int(0, members.length - 1);
    for (let i = 0; i < members.length; i++) {
      const m = members[(from + i) % members.length]!;
      if (this.#limits.allowed(m, ms)) return m;
    }
    return -1;
  }

  /** A text `u` has not sent within the duplicate window (+ 1 min); the trend word when one is on. */
  #ordinaryText(u: number, ms: number): Text {
    const trend = this.#trendAt(ms);
    for (;;) {
      const carries = trend !== undefined && this.#rnd.chance(this.#trendShare(ms));
      const text = this.#text.ordinary(this.#rnd, carries ? trend.word : undefined);
      if (this.#limits.remember(u, ms, text.fingerprint)) {
        if (carries) trend.emittedMs.push(ms);
        return text;
      }
    }
  }

  #receiverOf(conversation: Conversation, c: number, sender: number, rnd: Random): number {
    const members = conversation.members;
    if (members.length === 2) return members[0] === sender ? members[1]! : members[0]!;
    const last = this.#lastSender[c]!;
    if (last >= 0 && last !== sender && rnd.chance(0.7)) return last;
    for (;;) {
      const m = rnd.pick(members);
      if (m !== sender) return m;
    }
  }

  #message(ms: number, c: number, sender: number, text: Text, spam = false): GeneratedEvent {
    const conversation = this.#pop.conversations[c]!;
    const receiver = this.#receiverOf(conversation, c, sender, this.#rnd);
    const r = this.#rnd.next();
    const id = `msg-${Math.floor(ms / 1000)}-${++this.#seq}`;
    const value: ChatMessageWire = {
      message_id: id,
      user_id: this.#pop.userIds[sender]!,
      content: text.text,
      timestamp: this.#formatMessageTime(ms),
      event_type: 'message_sent',
      conversation_id: conversation.id,
      sender_id: this.#pop.userIds[sender]!,
      receiver_id: this.#pop.userIds[receiver]!,
      message_type: spam || r < 0.9 ? 'text' : r < 0.96 ? 'image' : 'link',
    };
    this.#limits.recordSend(sender, ms);
    this.#lastSender[c] = sender;
    this.#messages++;
    this.#receipts.schedule(id, ms, conversation, sender, receiver, spam);
    return { kind: 'message', topic: Topics.chatMessages.name, key: conversation.id, timeMs: ms, value };
  }

  // ---- injected: trends

  /** The trend whose period contains `ms`, planning further trends as time passes. */
  #trendAt(ms: number): Trend | undefined {
    if (!this.#inject) return undefined;
    let trend = this.#trends[this.#trends.length - 1]!;
    while (ms >= trend.endMs) {
      const rnd = this.#trendRnd;
      const startMs = trend.endMs + rnd.int(240_000, 600_000);
      trend = {
        word: this.#trends.length % TREND_WORDS.length,
        startMs,
        endMs: startMs + rnd.int(240_000, 360_000),
        emittedMs: [],
      };
      this.#trends.push(trend);
    }
    return ms >= trend.startMs ? trend : undefined;
  }

  /**
   * Share of messages carrying the trend word: 6 %, more at low rates (≥ 0.5 messages/s, so a
   * 2-minute window holds ≥ 60: more than two spam bursts of 25 share a spam word).
   */
  #trendShare(ms: number): number {
    const rate = this.#rate * (this.#dayNight ? dayNightFactor(ms, this.#utcOffset) : 1);
    return Math.min(0.5, Math.max(0.06, 0.5 / rate));
  }

  // ---- injected: spam bursts

  /** Plans the burst due at #nextBurstMs (≥ LEAD_MS from now) and the planning of the next one. */
  #planBurst(now: number): void {
    const rnd = this.#episodeRnd;
    const startMs = this.#nextBurstMs;
    const guard = this.#rule.windowMs + RULE_MARGIN_MS;
    const free = this.#spammers.filter(
      (u) => this.#lastBurstEnd[u]! + this.#dupRule.windowMs + 60_000 < startMs,
    );
    if (free.length > 0) {
      const user = rnd.pick(free);
      const duplicate = rnd.chance(0.4) ? this.#text.spam(rnd) : undefined;
      const size = rnd.int(
        Math.max(this.#rule.threshold, duplicate ? this.#dupRule.threshold : 0),
        this.#maxBurstSize(),
      );
      // Any `threshold` consecutive messages lie within half the window: the run never breaks.
      const maxGap = Math.max(
        301,
        Math.min(4_000, Math.floor(this.#rule.windowMs / 2 / (this.#rule.threshold - 1))),
      );
      const times = [startMs];
      for (let i = 1; i < size; i++) times.push(times[i - 1]! + rnd.int(300, maxGap));
      const burst: Burst = { user, times, duplicate, ids: [], emittedMs: [] };
      this.#bursts.push(burst);
      this.#limits.reserve(user, startMs - guard, times[size - 1]! + guard);
      this.#lastBurstEnd[user] = times[size - 1]!;
      for (const t of times) this.#queue.push(t, { k: BURST, burst });
      this.#nextBurstMs = startMs + rnd.int(60_000, 150_000);
    } else {
      this.#nextBurstMs = startMs + 30_000;
    }
    this.#queue.push(Math.max(now, this.#nextBurstMs - guard - 5_000), PLAN_BURST_ACTION);
  }

  #burstMessage(ms: number, burst: Burst): GeneratedEvent {
    const rnd = this.#episodeRnd;
    const user = burst.user;
    const c = rnd.pick(this.#pop.memberOf[user]!);
    let text = burst.duplicate;
    while (text === undefined) {
      const t = this.#text.spam(rnd);
      if (this.#limits.remember(user, ms, t.fingerprint)) text = t;
    }
    const event = this.#message(ms, c, user, text, true);
    burst.ids.push(event.value.message_id);
    burst.emittedMs.push(ms);
    return event;
  }

  // ---- injected: conversation peaks

  /**
   * A peak now: 15–30 messages (≤ 5 per member) within 15–30 s — so one 30 s window holds all of it —
   * in a quiet group (weight < 3, ≥ 4 members) that is not peaking; none if 20 draws find no such
   * group. A busy conversation, or a peak spread over more than a window, would not stand out from
   * the conversation's own baseline (bench:quality found two such "peaks" of 8–9 messages a window
   * against a baseline of 2–6).
   */
  #planPeak(now: number): void {
    const rnd = this.#episodeRnd;
    const conversations = this.#pop.conversations;
    let c = -1;
    for (let attempt = 0; attempt < 20 && c < 0; attempt++) {
      const i = rnd.int(0, conversations.length - 1);
      const conv = conversations[i]!;
      const quiet = conv.weight < 3 && conv.members.length >= 4;
      if (quiet && this.#peakUntil[i]! < now) c = i;
    }
    if (c >= 0) {
      const size = Math.min(rnd.int(15, 30), conversations[c]!.members.length * 5);
      const durationMs = rnd.int(15_000, 30_000);
      const times = Array.from({ length: size }, () => now + rnd.int(0, durationMs)).sort((a, b) => a - b);
      const peak: Peak = { conversation: c, ids: [], emittedMs: [] };
      this.#peaks.push(peak);
      this.#peakUntil[c] = now + durationMs;
      for (const t of times) this.#queue.push(t, { k: PEAK, peak });
    }
    this.#nextPeakMs = now + rnd.int(45_000, 120_000);
    this.#queue.push(this.#nextPeakMs, PLAN_PEAK_ACTION);
  }

  #peakMessage(ms: number, peak: Peak): GeneratedEvent | undefined {
    const sender = this.#pickSender(peak.conversation, ms);
    if (sender < 0) return undefined;
    const event = this.#message(ms, peak.conversation, sender, this.#ordinaryText(sender, ms));
    peak.ids.push(event.value.message_id);
    peak.emittedMs.push(ms);
    return event;
  }

  // ---- truth

  truth(beforeMs = Number.POSITIVE_INFINITY): TrafficTruth {
    const lastMs = Math.min(Number.isNaN(this.#lastMs) ? this.#startMs : this.#lastMs, beforeMs - 1);
    const injected = injectedTruth(
      { bursts: this.#bursts, peaks: this.#peaks, trends: this.#trends },
      {
        userIds: this.#pop.userIds,
        conversationIds: this.#pop.conversations.map((c) => c.id),
        rateThreshold: this.#rule.threshold,
        duplicateThreshold: this.#dupRule.threshold,
        beforeMs,
        lastMs,
      },
    );
    return {
      profile: 'default',
      seed: this.#seed,
      startMs: Number.isNaN(this.#firstMs) ? this.#startMs : this.#firstMs,
      endMs: lastMs,
      messages: this.#messages,
      views: this.#receipts.count,
      users: this.#pop.userIds.length,
      conversations: this.#pop.conversations.length,
      rateRule: { threshold: this.#rule.threshold, windowMs: this.#rule.windowMs },
      duplicateRule: { threshold: this.#dupRule.threshold, windowMs: this.#dupRule.windowMs },
      mostFrequentWord: MOST_FREQUENT_WORD,
      stopWords: FILLER_WORDS.filter((w) => w.length > 3),
      ...injected,
    };
  }
}

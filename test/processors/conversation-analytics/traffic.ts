/**
 * Generated chat traffic for the conversation-analytics and trend-detection oracle tests (seeded
 * PRNG of src/generator): 1:1 and group conversations with stable members, a conversation peak, a
 * trending word, Unicode words, apostrophes and stop words; delivered out of order within the grace
 * and, now and then, beyond it.
 */
import { Random } from '../../../src/generator/random.ts';
import { delivered, type Msg, wireOf } from '../delivery.ts';
import type { RawEvent } from '../helpers.ts';

export interface TrafficShape {
  readonly seed: number;
  readonly conversations: number;
  readonly minutes: number;
  /** Mean gap between two messages of one conversation, ms. */
  readonly meanGapMs: number;
  /** Probability that a message arrives up to `disorderMs` after its event time. */
  readonly disorderP: number;
  readonly disorderMs: number;
  /** Probability that a message arrives 15–60 s after its event time (beyond a 5 s grace). */
  readonly lateP: number;
}

export const START_MS = Date.UTC(2025, 10, 8, 14, 0, 0);
/** Ordinary words, some Unicode, some with apostrophes, some stop words or too short. */
const WORDS = [
  'lunch',
  'deploy',
  'review',
  'kafka',
  'weekend',
  'café',
  'über',
  "let's",
  "don't",
  'the',
  'with',
  'about',
  'bug',
  'Meeting',
  'naïve',
  'résumé',
  "team's",
  'straße',
];
export const TREND_WORD = 'kubernetes';

export function chatTraffic(shape: TrafficShape): Msg[] {
  const r = new Random(shape.seed);
  const end = START_MS + shape.minutes * 60_000;
  const raw: Array<Omit<Msg, 'seq' | 'id' | 'arrival'>> = [];
  const sentence = (extra: string) =>
    `${r.pick(WORDS)} ${r.pick(WORDS)}, ${r.pick(WORDS)}! ${extra}${r.pick(WORDS)} ${r.int(0, 99)}`;
  const trendFrom = START_MS + Math.floor(shape.minutes * 0.5) * 60_000;
  const trendTo = trendFrom + 4 * 60_000;
  for (let c = 0; c < shape.conversations; c++) {
    const size = c % 3 === 0 ? r.int(3, 6) : 2;
    const members = Array.from({ length: size }, (_, i) => `user-${(c * 7 + i * 13) % 97}`);
    const conversation = size === 2 ? `dm-${c}` : `group-${c}`;
    const peakAt = c === 0 ? START_MS + Math.floor(shape.minutes * 0.6) * 60_000 : -1;
    for (let t = START_MS + r.exponential(shape.meanGapMs); t < end; ) {
      const sender = r.pick(members);
      const receiver = size === 2 ? (members.find((m) => m !== sender) as string) : conversation;
      const trending = t >= trendFrom && t < trendTo && r.chance(0.4);
      raw.push({
        sender,
        receiver,
        conversation,
        content: sentence(trending ? `${TREND_WORD} ${TREND_WORD.toUpperCase()} ` : ''),
        ts: Math.floor(t),
      });
      const inPeak = peakAt >= 0 && t >= peakAt && t < peakAt + 20_000;
      t += inPeak ? r.exponential(800) : r.exponential(shape.meanGapMs);
    }
  }
  return delivered(raw, r, { ...shape, lateMs: [15_000, 60_000] });
}

export function rawEventOf(m: Msg): RawEvent {
  return { topic: 'chat.messages', key: m.conversation, value: JSON.stringify(wireOf(m)) };
}

/**
 * Records not late under a task's stream time (the largest timestamp so far, this record included):
 * `isLate(timestamp, streamTime)` decides.
 */
export function acceptedBy<T extends { readonly ts: number }>(
  records: readonly T[],
  isLate: (ts: number, streamTime: number) => boolean,
): { accepted: T[]; late: number } {
  let st = Number.NEGATIVE_INFINITY;
  const accepted: T[] = [];
  for (const rec of records) {
    st = Math.max(st, rec.ts);
    if (!isLate(rec.ts, st)) accepted.push(rec);
  }
  return { accepted, late: records.length - accepted.length };
}

/**
 * Per-conversation state of conversation-analytics and the pure window arithmetic over it (see
 * README.md). A conversation keeps `hopMs` buckets of its accepted messages: a hopping window
 * [s, s + windowMs) is the sum of its windowMs / hopMs buckets, its baseline the buckets of
 * [s − baselineMs, s). Nothing here reads a clock or a store, so the oracle tests can state the
 * same definitions independently.
 */
import { type ConversationMetric, formatRfc3339 } from '../../events/index.ts';

export interface ConversationRules {
  /** Window length, ms (a multiple of hopMs). */
  readonly windowMs: number;
  /** Window advance, ms. */
  readonly hopMs: number;
  /** Span before a window's start whose message rate is its baseline, ms (a multiple of hopMs). */
  readonly baselineMs: number;
  readonly peakFactor: number;
  readonly peakMinCount: number;
  /**
   * Significance of a peak: the window's count must be one that ordinary traffic at the baseline
   * rate reaches with at most this probability (Poisson upper tail).
   */
  readonly peakSignificance: number;
  /** The least rate (messages per window) the significance test assumes: history is never trusted to be silent. */
  readonly baselineFloor: number;
  readonly graceMs: number;
}

/** One hop-sized bucket: [start, count, distinct participants (null once no open window needs them)]. */
export type Bucket = [start: number, count: number, participants: string[] | null];

export interface ConversationState {
  /** Buckets, ascending by start. */
  b: Bucket[];
  /** Every window of this conversation with end <= e has been closed (null: none yet). */
  e: number | null;
  /**
   * In memory only: the messages of the buckets in [from, to), the last baseline summed, so that the
   * next window's baseline (both bounds a few hops on) adds and subtracts the buckets between. Every
   * bucket below a closed window's start is final (a message that is not late lands in a bucket at or
   * after every closed window's end), so the sum stays true.
   */
  baseline?: { from: number; to: number; sum: number };
}

/** A record is late when the first window holding it has closed: bucket end + grace <= stream time. */
export function isLate(rules: ConversationRules, timestampMs: number, streamTimeMs: number): boolean {
  const bucket = timestampMs - (timestampMs % rules.hopMs);
  return bucket + rules.hopMs + rules.graceMs <= streamTimeMs;
}

/** Add an accepted message (sender, receiver) at `timestampMs` to the state; returns its bucket. */
export function addMessage(
  rules: ConversationRules,
  state: ConversationState,
  timestampMs: number,
  people: readonly string[],
): Bucket {
  const start = timestampMs - (timestampMs % rules.hopMs);
  const buckets = state.b;
  let i = buckets.length;
  while (i > 0 && (buckets[i - 1] as Bucket)[0] > start) i--;
  let bucket = buckets[i - 1];
  if (bucket === undefined || bucket[0] !== start) {
    bucket = [start, 0, []];
    buckets.splice(i, 0, bucket);
  }
  bucket[1]++;
  const set = bucket[2] ?? [];
  bucket[2] = set;
  for (const p of people) if (!set.includes(p)) set.push(p);
  return bucket;
}

/**
 * The metric of window [start, start + windowMs) from the buckets, or null when it holds no message
 * (checked first: a quiet conversation's empty windows cost a short scan, not a record).
 */
function windowMetric(
  rules: ConversationRules,
  memo: WindowMemo,
  conversationId: string,
  state: ConversationState,
  start: number,
): ConversationMetric | null {
  const buckets = state.b;
  const end = start + rules.windowMs;
  const lo = firstBucketAtOrAfter(buckets, start);
  let count = 0;
  let hi = lo;
  for (; hi < buckets.length && (buckets[hi] as Bucket)[0] < end; hi++) count += (buckets[hi] as Bucket)[1];
  if (count === 0) return null;
  // Distinct participants: a handful per window, so an array beats a Set.
  const people: string[] = [];
  for (let i = lo; i < hi; i++) {
    for (const x of (buckets[i] as Bucket)[2] ?? []) if (!people.includes(x)) people.push(x);
  }
  const before = baselineSum(state, start - rules.baselineMs, start, lo);
  return metricOf(rules, memo, conversationId, start, count, people.length, before);
}

/** Messages in the buckets of [from, to); `toIndex` is the index of the first bucket at or after `to`. */
function baselineSum(state: ConversationState, from: number, to: number, toIndex: number): number {
  const buckets = state.b;
  const last = state.baseline;
  let sum = 0;
  if (last !== undefined && last.from <= from && last.to <= to && from <= last.to) {
    sum = last.sum;
    for (let i = firstBucketAtOrAfter(buckets, last.from); i < buckets.length; i++) {
      const b = buckets[i] as Bucket;
      if (b[0] >= from) break;
      sum -= b[1];
    }
    for (let i = toIndex - 1; i >= 0; i--) {
      const b = buckets[i] as Bucket;
      if (b[0] < last.to) break;
      sum += b[1];
    }
  } else {
    for (let i = toIndex - 1; i >= 0 && (buckets[i] as Bucket)[0] >= from; i--)
      sum += (buckets[i] as Bucket)[1];
  }
  state.baseline = { from, to, sum };
  return sum;
}

/** The index of the first bucket starting at or after `t` (buckets ascending by start). */
function firstBucketAtOrAfter(buckets: readonly Bucket[], t: number): number {
  let lo = 0;
  let hi = buckets.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((buckets[mid] as Bucket)[0] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Memos of one processor instance (never shared between instances): windows close in end order, many
 * conversations per end, so the last bounds formatted are reused; and Poisson quantiles by (rate,
 * significance), since baselines take few distinct values (multiples of window / span).
 */
export class WindowMemo {
  #start = Number.NaN;
  #windowMs = 0;
  #startText = '';
  #endText = '';
  #alpha = Number.NaN;
  readonly #quantiles = new Map<number, number>();

  /** The RFC 3339 texts of [start, start + windowMs). */
  bounds(start: number, windowMs: number): { readonly startText: string; readonly endText: string } {
    if (this.#start !== start || this.#windowMs !== windowMs) {
      this.#start = start;
      this.#windowMs = windowMs;
      this.#startText = formatRfc3339(start);
      this.#endText = formatRfc3339(start + windowMs);
    }
    return { startText: this.#startText, endText: this.#endText };
  }

  /** `poissonUpperQuantile(lambda, alpha)`, remembered (at most 10 000 entries; alpha is the rules'). */
  quantile(lambda: number, alpha: number): number {
    if (alpha !== this.#alpha) {
      this.#alpha = alpha;
      this.#quantiles.clear();
    }
    let q = this.#quantiles.get(lambda);
    if (q === undefined) {
      q = poissonUpperQuantile(lambda, alpha);
      if (this.#quantiles.size >= 10_000) this.#quantiles.clear();
      this.#quantiles.set(lambda, q);
    }
    return q;
  }
}

/**
 * The smallest k with P(X ≥ k) ≤ `alpha` for X ~ Poisson(`lambda`): a window count that ordinary
 * traffic at rate `lambda` per window reaches at most that often. Exact up to λ = 600; above, the
 * normal approximation λ + z·√λ with z = 6 (α ≈ 1e-9, never reached by chat conversations).
 */
export function poissonUpperQuantile(lambda: number, alpha: number): number {
  if (lambda > 600) return Math.ceil(lambda + 6 * Math.sqrt(lambda));
  let p = Math.exp(-lambda);
  let cdf = p;
  let k = 0;
  while (1 - cdf > alpha) {
    k++;
    p *= lambda / k;
    cdf += p;
  }
  return k + 1;
}

/**
 * The record of one window: baseline = messages in [start − baselineMs, start) per window length,
 * threshold = max(peakMinCount, peakFactor × baseline, the Poisson upper quantile at
 * peakSignificance of max(baseline, baselineFloor)); peak when message_count ≥ threshold.
 */
export function metricOf(
  rules: ConversationRules,
  memo: WindowMemo,
  conversationId: string,
  start: number,
  count: number,
  participants: number,
  before: number,
): ConversationMetric {
  const baseline = (before * rules.windowMs) / rules.baselineMs;
  const threshold = peakThreshold(rules, memo, baseline);
  const bounds = memo.bounds(start, rules.windowMs);
  return {
    conversation_id: conversationId,
    window_start: bounds.startText,
    window_end: bounds.endText,
    window_kind: rules.hopMs === rules.windowMs ? 'tumbling' : 'hopping',
    message_count: count,
    participant_count: participants,
    is_peak: count >= threshold,
    baseline_count: baseline,
    peak_threshold: threshold,
  };
}

/** The least count of a peak window at `baseline` messages per window (see metricOf). */
export function peakThreshold(rules: ConversationRules, memo: WindowMemo, baseline: number): number {
  const q = memo.quantile(Math.max(baseline, rules.baselineFloor), rules.peakSignificance);
  return Math.max(rules.peakMinCount, rules.peakFactor * baseline, q);
}

const NONE: readonly Bucket[] = [];

/**
 * Close every window of the conversation with end <= closedEnd (a multiple of hopMs): call `emit`
 * with each non-empty one, in end order; then forget what no open window needs. Returns the end of
 * the next window that holds a message (Infinity if none), the end of the first close that forgets
 * a bucket (Infinity if none is left), whether the state is now empty, and the buckets forgotten.
 */
export function closeWindows(
  rules: ConversationRules,
  memo: WindowMemo,
  conversationId: string,
  state: ConversationState,
  closedEnd: number,
  emit: (endMs: number, metric: ConversationMetric) => void,
): { nextEnd: number; forgetEnd: number; empty: boolean; dropped: readonly Bucket[] } {
  const { windowMs, hopMs, baselineMs } = rules;
  const buckets = state.b;
  const first = buckets[0];
  if (first !== undefined) {
    const last = buckets[buckets.length - 1] as Bucket;
    const from = Math.max(state.e === null ? first[0] + hopMs : state.e + hopMs, first[0] + hopMs);
    const to = Math.min(closedEnd, last[0] + windowMs);
    for (let end = from; end <= to; end += hopMs) {
      const m = windowMetric(rules, memo, conversationId, state, end - windowMs);
      if (m !== null) emit(end, m);
    }
  }
  state.e = state.e === null ? closedEnd : Math.max(state.e, closedEnd);
  // The next window to close starts at e + hop − windowMs: it needs buckets from its baseline on.
  const nextStart = state.e + hopMs - windowMs;
  let keep = 0;
  while (keep < buckets.length && (buckets[keep] as Bucket)[0] < nextStart - baselineMs) keep++;
  const dropped = keep > 0 ? buckets.splice(0, keep) : NONE;
  const baseline = state.baseline;
  if (baseline !== undefined && keep > 0) {
    // The remembered sum forgets the dropped buckets too (it covers only buckets still held).
    for (const b of dropped) if (b[0] >= baseline.from && b[0] < baseline.to) baseline.sum -= b[1];
    baseline.from = Math.max(baseline.from, nextStart - baselineMs);
    if (baseline.from > baseline.to) state.baseline = undefined;
  }
  // Buckets before the next window need no participants (earlier ones were cleared by earlier closes).
  const open = firstBucketAtOrAfter(buckets, nextStart);
  for (let i = open - 1; i >= 0 && (buckets[i] as Bucket)[2] !== null; i--) (buckets[i] as Bucket)[2] = null;
  const next = buckets[open];
  const oldest = buckets[0];
  return {
    nextEnd: next === undefined ? Number.POSITIVE_INFINITY : Math.max(next[0] + hopMs, state.e + hopMs),
    // A bucket is forgotten by the close whose next window's baseline starts after it (see `keep`).
    forgetEnd: oldest === undefined ? Number.POSITIVE_INFINITY : oldest[0] + windowMs + baselineMs,
    empty: buckets.length === 0,
    dropped,
  };
}

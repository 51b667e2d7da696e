/**
 * Pure definitions of trend-detection (see README.md): the score of a word in a window against its
 * baseline, and the ranking order. The processors and the oracle tests share nothing else.
 */

/** A word of one window that may trend: count ≥ minCount and above its baseline. */
export interface Candidate {
  /** Window start, ms. */
  readonly s: number;
  readonly w: string;
  readonly c: number;
  /** Baseline: mean count over the previous windows considered. */
  readonly b: number;
  /** Score (see scoreOf). */
  readonly sc: number;
}

/**
 * How far a count stands above the word's baseline, in units of the baseline's Poisson noise:
 * (count − baseline) / √(baseline + 1). A word as frequent as usual scores about 0 whatever its
 * volume; a word from nowhere scores about its count.
 */
export function scoreOf(count: number, baseline: number): number {
  return (count - baseline) / Math.sqrt(baseline + 1);
}

/** Ranking: score descending, then count descending, then the word (code-unit order). */
export function byRank(a: Candidate, b: Candidate): number {
  return b.sc - a.sc || b.c - a.c || (a.w < b.w ? -1 : a.w > b.w ? 1 : 0);
}

/**
 * A word's baseline for the window starting at `start`: the mean count over the previous `k` windows
 * [from, start) in which it did not surge (absent windows count 0). If it surged in all of them, the
 * mean over all of them: a surge that lasts the whole baseline span is the new normal.
 */
export function baselineOf(
  counts: ReadonlyArray<readonly [number, number, 1?]>,
  from: number,
  start: number,
  k: number,
): number {
  let sum = 0;
  let surged = 0;
  let surgedSum = 0;
  for (const [ws, n, surge] of counts) {
    if (ws < from || ws >= start) continue;
    if (surge === 1) {
      surged++;
      surgedSum += n;
    } else sum += n;
  }
  return surged === k ? surgedSum / k : sum / (k - surged);
}

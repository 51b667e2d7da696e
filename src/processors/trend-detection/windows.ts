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

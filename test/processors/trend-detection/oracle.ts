/**
 * trend-detection recomputed by brute force from what each word task received (the words
 * repartition topic, in offset order), from the definitions in src/processors/trend-detection/README.md:
 * lateness by the task's stream time (words and ticks), tumbling counts per word, baseline over the
 * previous windows since the task's first one without the windows where the word surged, score, the
 * exact top N over all partitions.
 */
import { formatRfc3339, type TrendingWord } from '../../../src/events/index.ts';
import type { TrendRules } from '../../../src/processors/trend-detection/index.ts';

/** A record of the words topic: a word occurrence or a tick, at event time `ts`. */
export interface WordRecord {
  readonly key: string;
  readonly tick: boolean;
  readonly ts: number;
}

interface Scored {
  readonly s: number;
  readonly w: string;
  readonly c: number;
  readonly b: number;
  readonly sc: number;
}

/** The trending words, window by window then rank; `late` = word records dropped. */
export function expectedTrends(
  rules: TrendRules,
  partitions: readonly (readonly WordRecord[])[],
): { trends: TrendingWord[]; late: number } {
  const size = rules.windowMs;
  let late = 0;
  const scored: Scored[] = [];
  for (const records of partitions) {
    let st = Number.NEGATIVE_INFINITY;
    const counts = new Map<string, Map<number, number>>();
    let h = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const r of records) {
      st = Math.max(st, r.ts);
      if (r.tick) continue;
      const s = r.ts - (r.ts % size);
      if (s + size + rules.graceMs <= st) {
        late++;
        continue;
      }
      const m = counts.get(r.key) ?? new Map<number, number>();
      m.set(s, (m.get(s) ?? 0) + 1);
      counts.set(r.key, m);
      h = Math.min(h, s);
      last = Math.max(last, s);
    }
    // Window by window, in order: whether a word surged in a window depends on the baselines before.
    const surged = new Set<string>();
    for (let s = h + size; s <= last; s += size) {
      const k = Math.min(rules.baselineWindows, (s - h) / size);
      for (const [w, m] of counts) {
        const c = m.get(s) ?? 0;
        if (c < rules.minCount) continue;
        const previous = Array.from({ length: k }, (_, j) => s - (j + 1) * size);
        const calm = previous.filter((x) => !surged.has(`${w}@${x}`));
        const used = calm.length > 0 ? calm : previous;
        const b = used.reduce((sum, x) => sum + (m.get(x) ?? 0), 0) / used.length;
        const sc = (c - b) / Math.sqrt(b + 1);
        if (sc >= rules.surgeScore) surged.add(`${w}@${s}`);
        if (sc > 0) scored.push({ s, w, c, b, sc });
      }
    }
  }
  const windows = [...new Set(scored.map((x) => x.s))].sort((a, b) => a - b);
  const trends: TrendingWord[] = [];
  for (const s of windows) {
    const ranked = scored
      .filter((x) => x.s === s)
      .sort((a, b) => b.sc - a.sc || b.c - a.c || (a.w < b.w ? -1 : 1))
      .slice(0, rules.topN);
    for (const [i, x] of ranked.entries()) {
      trends.push({
        word: x.w,
        window_start: formatRfc3339(s),
        window_end: formatRfc3339(s + size),
        count: x.c,
        rank: i + 1,
        score: x.sc,
        baseline: x.b,
      });
    }
  }
  return { trends, late };
}

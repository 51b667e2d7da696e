/**
 * The three stages of trend-detection (README.md explains why and how they make the top N exact):
 * 1. `WordSplitter` (per chat.messages partition): a message's words, each once, keyed by word;
 *    every `TICK_MS` of stream time a tick to every partition of the words topic, so that every
 *    word task's stream time moves on and reports progress even when no word hashes to it.
 * 2. `WordWindows` (per words partition): tumbling counts per word; when a window closes (stream
 *    time ≥ end + grace) its local top N candidates, then a watermark "windows ending ≤ E are done
 *    on partition p".
 * 3. `TrendRanker` (one partition): the candidates of a window, ranked once every words partition's
 *    watermark passed its end.
 */

import type { ChatMessage } from '../../events/index.ts';
import { formatRfc3339, type TrendingWord } from '../../events/index.ts';
import { partitionForKey } from '../../log/index.ts';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../streams/index.ts';
import { type TokenizerOptions, tokenize } from './tokenizer.ts';
import { baselineOf, byRank, type Candidate, scoreOf } from './windows.ts';

export interface TrendRules {
  readonly windowMs: number;
  readonly graceMs: number;
  readonly baselineWindows: number;
  readonly minCount: number;
  readonly topN: number;
  /** A word whose score in a window reaches this surged there: that window leaves its baseline. */
  readonly surgeScore: number;
  /** Partitions of the words repartition topic (= word tasks, each sends a watermark). */
  readonly wordPartitions: number;
}

/** The words topic's value: a word occurrence, or a tick (key: a tick key). */
export const WORD = 0;
export const TICK = 1;
/** Stream-time interval of the ticks (stage 1) and of the close checks without records (stage 2), ms. */
const TICK_MS = 1_000;

/** For every partition p of `partitions`, a key that the log's partitioner puts on p (never a word). */
export function tickKeys(partitions: number): string[] {
  const keys: string[] = new Array(partitions);
  let found = 0;
  for (let i = 0; found < partitions; i++) {
    const key = `\u0000tick-${i}`;
    const p = partitionForKey(key, partitions);
    if (keys[p] === undefined) {
      keys[p] = key;
      found++;
    }
  }
  return keys;
}

export class WordSplitter implements Processor<string | null, ChatMessage, string, number> {
  readonly #tokens: TokenizerOptions;
  readonly #tickKeys: readonly string[];
  #ctx!: ProcessorContext<string, number>;

  constructor(tokens: TokenizerOptions, wordPartitions: number) {
    this.#tokens = tokens;
    this.#tickKeys = tickKeys(wordPartitions);
  }

  init(ctx: ProcessorContext<string, number>): void {
    this.#ctx = ctx;
    ctx.schedule(TICK_MS, 'stream-time', (st) => {
      for (const key of this.#tickKeys) ctx.forward({ key, value: TICK, timestamp: st, headers: [] });
    });
  }

  process(record: StreamRecord<string | null, ChatMessage>): void {
    for (const word of tokenize(record.value.content, this.#tokens)) {
      this.#ctx.forward({ key: word, value: WORD, timestamp: record.timestamp, headers: [] });
    }
  }
}

/** Stage 2's progress: h = start of the task's first window with a word, e = windows ending ≤ e are closed. */
export interface WordProgress {
  h: number | null;
  e: number | null;
}
/** A word's counts: [window start, count, 1 when the word surged in that window], ascending. */
export type WordCounts = Array<[number, number, 1?]>;
/** What stage 2 sends to stage 3: a candidate, or a watermark of partition p. */
export type RankerInput =
  | { readonly t: 'c'; readonly c: Candidate }
  | { readonly t: 'm'; readonly p: number; readonly m: number };

const PROGRESS = 'progress';

export class WordWindows implements Processor<string, number, string, RankerInput> {
  readonly #rules: TrendRules;
  readonly #stores: { counts: string; progress: string };
  #ctx!: ProcessorContext<string, RankerInput>;
  #counts!: KeyValueStore<string, WordCounts>;
  #progress!: KeyValueStore<string, WordProgress>;

  constructor(rules: TrendRules, stores: { counts: string; progress: string }) {
    this.#rules = rules;
    this.#stores = stores;
  }

  init(ctx: ProcessorContext<string, RankerInput>): void {
    this.#ctx = ctx;
    this.#counts = ctx.getStateStore(this.#stores.counts);
    this.#progress = ctx.getStateStore(this.#stores.progress);
    ctx.schedule(TICK_MS, 'stream-time', (st) => this.#closeDue(st));
  }

  process(record: StreamRecord<string, number>): void {
    const st = this.#ctx.streamTimeMs();
    this.#closeDue(st);
    if (record.value === TICK) return;
    const { windowMs, graceMs } = this.#rules;
    const start = record.timestamp - (record.timestamp % windowMs);
    if (start + windowMs + graceMs <= st) {
      this.#ctx.late(`window [${start}, ${start + windowMs}) closed (stream time ${st})`);
      return;
    }
    const counts = this.#counts.get(record.key) ?? [];
    let i = counts.length;
    while (i > 0 && (counts[i - 1] as WordCounts[number])[0] > start) i--;
    const at = counts[i - 1];
    if (at !== undefined && at[0] === start) at[1]++;
    else counts.splice(i, 0, [start, 1]);
    this.#counts.put(record.key, counts);
    const progress = this.#progress.get(PROGRESS) ?? { h: null, e: null };
    if (progress.h === null || start < progress.h) {
      progress.h = start;
      this.#progress.put(PROGRESS, progress);
    }
  }

  #closeDue(st: number): void {
    const { windowMs, graceMs, baselineWindows, minCount, topN, surgeScore } = this.#rules;
    const closedEnd = Math.floor((st - graceMs) / windowMs) * windowMs;
    const progress = this.#progress.get(PROGRESS) ?? { h: null, e: null };
    if (progress.e !== null && closedEnd <= progress.e) return;
    const h = progress.h;
    if (h !== null) {
      const words = this.#counts.all();
      const first = Math.max(h, progress.e ?? h);
      for (let s = first; s + windowMs <= closedEnd; s += windowMs) {
        // The task's first window has no history: nothing trends in it.
        if (s === h) continue;
        const k = Math.min(baselineWindows, (s - h) / windowMs);
        const from = s - k * windowMs;
        const local: Candidate[] = [];
        for (const [w, counts] of words) {
          const at = counts.find((x) => x[0] === s);
          if (at === undefined || at[1] < minCount) continue;
          const b = baselineOf(counts, from, s, k);
          const sc = scoreOf(at[1], b);
          if (sc >= surgeScore) {
            // A surge stays out of the word's later baselines (see README: the level before the trend).
            at[2] = 1;
            this.#counts.put(w, counts);
          }
          if (sc > 0) local.push({ s, w, c: at[1], b, sc });
        }
        // The global top N is within the union of the partitions' top N (a word lives in one partition).
        local.sort(byRank);
        for (const c of local.slice(0, topN)) {
          this.#ctx.forward({
            key: String(s),
            value: { t: 'c', c },
            timestamp: s + windowMs - 1,
            headers: [],
          });
        }
      }
      // Keep what the baselines of the windows still to close need.
      const keepFrom = closedEnd - baselineWindows * windowMs;
      for (const [w, counts] of words) {
        let n = 0;
        while (n < counts.length && (counts[n] as WordCounts[number])[0] < keepFrom) n++;
        if (n === counts.length) this.#counts.delete(w);
        else if (n > 0) this.#counts.put(w, counts.slice(n));
      }
    }
    progress.e = closedEnd;
    this.#progress.put(PROGRESS, progress);
    this.#ctx.forward({
      key: 'watermark',
      value: { t: 'm', p: this.#ctx.partition, m: closedEnd },
      timestamp: Math.max(0, st),
      headers: [],
    });
  }
}

export class TrendRanker implements Processor<string, RankerInput, string, TrendingWord> {
  readonly #rules: TrendRules;
  readonly #stores: { candidates: string; watermarks: string };
  #ctx!: ProcessorContext<string, TrendingWord>;
  #candidates!: KeyValueStore<number, Candidate[]>;
  #watermarks!: KeyValueStore<number, number>;

  constructor(rules: TrendRules, stores: { candidates: string; watermarks: string }) {
    this.#rules = rules;
    this.#stores = stores;
  }

  init(ctx: ProcessorContext<string, TrendingWord>): void {
    this.#ctx = ctx;
    this.#candidates = ctx.getStateStore(this.#stores.candidates);
    this.#watermarks = ctx.getStateStore(this.#stores.watermarks);
  }

  process(record: StreamRecord<string, RankerInput>): void {
    const v = record.value;
    if (v.t === 'c') {
      this.#candidates.put(v.c.s, [...(this.#candidates.get(v.c.s) ?? []), v.c]);
      return;
    }
    if (v.m <= (this.#watermarks.get(v.p) ?? Number.NEGATIVE_INFINITY)) return;
    this.#watermarks.put(v.p, v.m);
    let done = Number.POSITIVE_INFINITY;
    for (let p = 0; p < this.#rules.wordPartitions; p++) {
      done = Math.min(done, this.#watermarks.get(p) ?? Number.NEGATIVE_INFINITY);
    }
    const { windowMs, topN } = this.#rules;
    const ready = this.#candidates
      .all()
      .filter(([s]) => s + windowMs <= done)
      .sort((a, b) => a[0] - b[0]);
    for (const [s, list] of ready) {
      const ranked = [...list].sort(byRank).slice(0, topN);
      for (const [i, c] of ranked.entries()) {
        this.#ctx.forward({
          key: c.w,
          value: {
            word: c.w,
            window_start: formatRfc3339(s),
            window_end: formatRfc3339(s + windowMs),
            count: c.c,
            rank: i + 1,
            score: c.sc,
            baseline: c.b,
          },
          timestamp: s + windowMs - 1,
          headers: [],
        });
      }
      this.#candidates.delete(s);
    }
  }
}

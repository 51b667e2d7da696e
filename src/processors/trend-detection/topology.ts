import { Topics, TrendingWordSchema } from '../../events/index.ts';
import type { Log } from '../../log/index.ts';
import {
  Codecs,
  DEFAULT_GRACE_MS,
  Stores,
  type StreamsBuilder,
  type StreamsRuntime,
} from '../../streams/index.ts';
import { chatMessageCodec, messageTime } from '../codecs.ts';
import { type ProcessorRuntimeOptions, processorRuntime } from '../runtime.ts';
import {
  type RankerInput,
  TrendRanker,
  type TrendRules,
  type WordCounts,
  type WordProgress,
  WordSplitter,
  WordWindows,
} from './processors.ts';
import { DEFAULT_STOP_WORDS } from './stop-words.ts';
import type { Candidate } from './windows.ts';

export const TREND_DETECTION_APPLICATION_ID = 'trend-detection';

/** Every window, threshold and list (config: TREND_*, STREAMS_*); defaults as in the config schema. */
export interface TrendDetectionOptions extends ProcessorRuntimeOptions {
  /** Tumbling window length, ms. Default 120 000. */
  readonly windowMs?: number;
  /** Words emitted per window at most. Default 10. */
  readonly topN?: number;
  /** Previous windows whose mean count is a word's baseline. Default 5. */
  readonly baselineWindows?: number;
  /** Fewest messages with the word in a window for it to trend. Default 5. */
  readonly minCount?: number;
  /** Score at which a word surged in a window (kept out of its later baselines). Default 3. */
  readonly surgeScore?: number;
  /** Lower-case stop words. Default DEFAULT_STOP_WORDS. */
  readonly stopWords?: readonly string[];
  /** How long after its end a window still accepts words, ms. Default 5 000. */
  readonly graceMs?: number;
  /**
   * Partitions of the words repartition topic. Default 6 (as chat.messages). In TopologyTestDriver,
   * which runs one task per sub-topology, it must be 1: the ranker waits for a watermark from each.
   */
  readonly wordPartitions?: number;
}

export function trendRules(options: TrendDetectionOptions = {}): TrendRules {
  return {
    windowMs: options.windowMs ?? 120_000,
    graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
    baselineWindows: options.baselineWindows ?? 5,
    minCount: options.minCount ?? 5,
    topN: options.topN ?? 10,
    surgeScore: options.surgeScore ?? 3,
    wordPartitions: options.wordPartitions ?? 6,
  };
}

const STORES = {
  counts: 'trend-word-counts',
  progress: 'trend-progress',
  candidates: 'trend-candidates',
  watermarks: 'trend-watermarks',
} as const;

/**
 * trend-detection: `chat.messages` → words (each once per message) → `<app>-words-repartition`
 * (by word) → tumbling counts, local top N → `<app>-by-window-repartition` (1 partition) → exact
 * top N per window → `trending-words` (key word). See README.md.
 */
export function trendDetectionTopology(options: TrendDetectionOptions = {}) {
  const rules = trendRules(options);
  const tokens = { stopWords: new Set(options.stopWords ?? DEFAULT_STOP_WORDS) };
  return (b: StreamsBuilder): void => {
    b.addStateStore(Stores.keyValue(STORES.counts, { key: Codecs.string, value: Codecs.json<WordCounts>() }));
    b.addStateStore(
      Stores.keyValue(STORES.progress, { key: Codecs.string, value: Codecs.json<WordProgress>() }),
    );
    b.addStateStore(
      Stores.keyValue(STORES.candidates, { key: Codecs.json<number>(), value: Codecs.json<Candidate[]>() }),
    );
    b.addStateStore(
      Stores.keyValue(STORES.watermarks, { key: Codecs.json<number>(), value: Codecs.float64 }),
    );
    b.stream(Topics.chatMessages.name, {
      key: Codecs.nullable(Codecs.string),
      value: chatMessageCodec,
      timestamp: messageTime,
    })
      .process(() => new WordSplitter(tokens, rules.wordPartitions), { name: 'trend-words' })
      .repartition({
        name: 'words',
        key: Codecs.string,
        value: Codecs.json<number>(),
        partitions: rules.wordPartitions,
      })
      .process(() => new WordWindows(rules, STORES), {
        name: 'trend-word-windows',
        stores: [STORES.counts, STORES.progress],
      })
      .repartition({
        name: 'by-window',
        key: Codecs.string,
        value: Codecs.json<RankerInput>(),
        partitions: 1,
      })
      .process(() => new TrendRanker(rules, STORES), {
        name: 'trend-ranker',
        stores: [STORES.candidates, STORES.watermarks],
      })
      .to(Topics.trendingWords.name, { key: Codecs.string, value: Codecs.schema(TrendingWordSchema) });
  };
}

export interface TrendDetectionDeps {
  readonly log: Log;
}

/** trend-detection as a running application (its own group, transactional id, internal topics). */
export function createTrendDetection(
  deps: TrendDetectionDeps,
  options: TrendDetectionOptions = {},
): StreamsRuntime {
  return processorRuntime(
    deps.log,
    { applicationId: TREND_DETECTION_APPLICATION_ID, commitIntervalMs: 100 },
    options,
    trendDetectionTopology(options),
  );
}

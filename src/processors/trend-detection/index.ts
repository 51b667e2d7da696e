export { TICK, type TrendRules, tickKeys, WORD } from './processors.ts';
export { DEFAULT_STOP_WORDS } from './stop-words.ts';
export { type TokenizerOptions, tokenize } from './tokenizer.ts';
export {
  createTrendDetection,
  TREND_DETECTION_APPLICATION_ID,
  type TrendDetectionDeps,
  type TrendDetectionOptions,
  trendDetectionTopology,
  trendRules,
} from './topology.ts';
export { byRank, type Candidate, scoreOf } from './windows.ts';

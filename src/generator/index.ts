export { type HttpTargetOptions, httpTarget } from './http-target.ts';
export { MOST_FREQUENT_WORD, ORDINARY_WORDS } from './ordinary-words.ts';
export {
  type EventSink,
  logSink,
  type PublishOptions,
  type PublishResult,
  type PublishTotals,
  publishTo,
  publishTraffic,
} from './publish.ts';
export { derivedRandom, Random, seededFloats } from './random.ts';
export {
  DEFAULT_DUPLICATE_RULE,
  DEFAULT_RATE_RULE,
  maxRateFor,
  RULE_MARGIN_MS,
  type Rule,
  usersForRate,
} from './rules.ts';
export { formatGoRfc3339 } from './seed-profile.ts';
export {
  createTraffic,
  DEFAULT_START_MS,
  type GeneratedEvent,
  generateTraffic,
  type Traffic,
  type TrafficOptions,
  takeTraffic,
  takeTrafficWithTruth,
} from './traffic.ts';
export type { TrafficTruth, TruthBurst, TruthPeak, TruthSpammer, TruthTrend } from './truth.ts';
export { FILLER_WORDS, FRAMES, SPAM_PARTS, TREND_WORDS } from './vocabulary.ts';

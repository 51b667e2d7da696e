/**
 * Fast paths of the output schemas (src/events/outputs.ts) for the records the clickhouse-sink reads
 * back from the processors' output topics: as input-fast-path.ts does for the inputs, a plain check
 * of a parsed JSON value that accepts only values the schema accepts and then builds exactly the
 * schema's output (its fields in shape order, unknown keys dropped). Anything else returns
 * undefined, and the caller runs the schema, which gives the precise reason for a dead letter.
 *
 * test/processors/output-fast-path.test.ts checks the equivalence on valid, mutated and edge inputs,
 * and that each field list below is its schema's shape.
 */
import {
  AlertKind,
  AlertStatus,
  type AnomalyAlert,
  type ConversationMetric,
  Severity,
  Topics,
  type TrendingWord,
  type UserActivityMetric,
} from '../events/index.ts';
import { dateTimeMs, digitsIn, hasDateTimeShape, isPlainObject } from './input-fast-path.ts';

type Check = (v: unknown) => boolean;

/** `z.string().min(1)`. */
const text: Check = (v) => typeof v === 'string' && v.length >= 1;
/** `z.number().int().nonnegative()`. */
const count: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** `z.number().int().positive()`. */
const positive: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
/** `z.number().nonnegative()` (finite, as every zod number). */
const nonNegative: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const bool: Check = (v) => typeof v === 'boolean';
const oneOf = (values: readonly string[]): Check => {
  const set = new Set(values);
  return (v) => typeof v === 'string' && set.has(v);
};
/** `isoInstant`: `YYYY-MM-DDThh:mm:ss.mmmZ`, a real date and time. */
const instant: Check = (v) => typeof v === 'string' && isoInstantMs(v) !== undefined;

/**
 * Epoch ms of `YYYY-MM-DDThh:mm:ss.mmmZ` (the output schemas' `isoInstant`: UTC, exactly three
 * fraction digits) when the text is one with a real date and time and a year from 1000 on (the
 * schema's regex allows 0000–9999; earlier years are left to it); else undefined.
 */
export function isoInstantMs(t: string): number | undefined {
  // Records of a window share its bounds, and the sink reads each instant twice (check, then row).
  for (let i = 0; i < CACHE_SIZE; i++) if (cachedText[i] === t) return cachedMs[i];
  const ms = parseIsoInstant(t);
  if (ms !== undefined) {
    cachedText[cacheNext] = t;
    cachedMs[cacheNext] = ms;
    cacheNext = (cacheNext + 1) % CACHE_SIZE;
  }
  return ms;
}

const CACHE_SIZE = 4;
const cachedText: Array<string | undefined> = new Array<string | undefined>(CACHE_SIZE).fill(undefined);
const cachedMs: number[] = new Array<number>(CACHE_SIZE).fill(0);
let cacheNext = 0;

function parseIsoInstant(t: string): number | undefined {
  if (
    t.length !== 24 ||
    t.charCodeAt(19) !== 46 || // .
    t.charCodeAt(23) !== 90 || // Z
    !hasDateTimeShape(t) ||
    !digitsIn(t, 20, 23)
  ) {
    return undefined;
  }
  const millis = (t.charCodeAt(20) - 48) * 100 + (t.charCodeAt(21) - 48) * 10 + (t.charCodeAt(22) - 48);
  return dateTimeMs(t, millis);
}

/** A schema's fields in shape order, each with its check. */
type Fields = ReadonlyArray<readonly [name: string, check: Check]>;

/** @internal The field lists (the test compares them with the schemas' shapes). */
export const OUTPUT_FIELDS = {
  [Topics.conversationMetrics.name]: [
    ['conversation_id', text],
    ['window_start', instant],
    ['window_end', instant],
    ['window_kind', oneOf(['sliding', 'hopping', 'tumbling'])],
    ['message_count', count],
    ['participant_count', count],
    ['is_peak', bool],
    ['baseline_count', nonNegative],
    ['peak_threshold', nonNegative],
  ],
  [Topics.trendingWords.name]: [
    ['word', text],
    ['window_start', instant],
    ['window_end', instant],
    ['count', count],
    ['rank', positive],
    ['score', nonNegative],
    ['baseline', nonNegative],
  ],
  [Topics.userActivityMetrics.name]: [
    ['user_id', text],
    ['window_start', instant],
    ['window_end', instant],
    ['messages_sent', count],
    ['messages_received', count],
    ['reads', count],
    ['active_conversations', count],
  ],
  [Topics.anomalyAlerts.name]: [
    ['alert_id', text],
    ['user_id', text],
    ['kind', oneOf(Object.values(AlertKind))],
    ['count', count],
    ['threshold', count],
    ['window_start', instant],
    ['window_end', instant],
    ['window_ms', positive],
    ['severity', oneOf(Object.values(Severity))],
    ['first_message_id', text],
    ['last_message_id', text],
    ['trigger_message_id', text],
    ['triggered_at', instant],
    ['message_count', count],
    ['status', oneOf(Object.values(AlertStatus))],
    ['version', positive],
  ],
} as const satisfies Record<string, Fields>;

/** The output topics with a fast path. */
export type FastOutputTopic = keyof typeof OUTPUT_FIELDS;

interface OutputOf {
  [Topics.conversationMetrics.name]: ConversationMetric;
  [Topics.trendingWords.name]: TrendingWord;
  [Topics.userActivityMetrics.name]: UserActivityMetric;
  [Topics.anomalyAlerts.name]: AnomalyAlert;
}

/** `schema.parse(input)` of `topic`'s schema when `input` is plainly valid, else undefined. */
export function fastOutput<T extends FastOutputTopic>(topic: T, input: unknown): OutputOf[T] | undefined {
  if (!isPlainObject(input)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, check] of OUTPUT_FIELDS[topic] as Fields) {
    const v = input[name];
    if (!check(v)) return undefined;
    out[name] = v;
  }
  return out as unknown as OutputOf[T];
}

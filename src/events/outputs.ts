import { z } from 'zod';
import { isoInstant } from './fields.ts';

/**
 * Output topics of the stream processors (docs/events.md). All instants are UTC RFC 3339 with milliseconds;
 * windows are [window_start, window_end) for tumbling/hopping windows and [window_start, window_end]
 * for sliding windows (the `window_kind` field says which).
 */

const windowFields = {
  window_start: isoInstant,
  window_end: isoInstant,
};

const count = z.number().int().nonnegative();

/** `conversation-metrics`, key conversation_id. */
export const ConversationMetricSchema = z.object({
  conversation_id: z.string().min(1),
  ...windowFields,
  window_kind: z.enum(['sliding', 'hopping', 'tumbling']),
  message_count: count,
  participant_count: count,
  /** True when message_count ≥ peak_threshold. */
  is_peak: z.boolean(),
  /**
   * The basis of the peak flag: the conversation's messages in the CONVERSATION_BASELINE_MS (10 min)
   * before window_start, per window length (src/processors/conversation-analytics/README.md).
   */
  baseline_count: z.number().nonnegative(),
  /**
   * The count a window needs to be a peak: max(CONVERSATION_PEAK_MIN_COUNT, CONVERSATION_PEAK_FACTOR ×
   * baseline_count, the Poisson upper quantile at CONVERSATION_PEAK_SIGNIFICANCE of
   * max(baseline_count, CONVERSATION_BASELINE_FLOOR)).
   */
  peak_threshold: z.number().nonnegative(),
});
export type ConversationMetric = z.infer<typeof ConversationMetricSchema>;

/** `trending-words`, key word. */
export const TrendingWordSchema = z.object({
  word: z.string().min(1),
  ...windowFields,
  /** Messages in the window that contain the word (each message counts once). */
  count: count,
  /** 1 = most trending in this window. */
  rank: z.number().int().positive(),
  /** How far above its baseline the word is: (count − baseline) / √(baseline + 1), always > 0. */
  score: z.number().nonnegative(),
  /** Mean count of the word over the previous TREND_BASELINE_WINDOWS windows (fewer at the start). */
  baseline: z.number().nonnegative(),
});
export type TrendingWord = z.infer<typeof TrendingWordSchema>;

/** `user-activity-metrics`, key user_id. */
export const UserActivityMetricSchema = z.object({
  user_id: z.string().min(1),
  ...windowFields,
  messages_sent: count,
  messages_received: count,
  reads: count,
  active_conversations: count,
});
export type UserActivityMetric = z.infer<typeof UserActivityMetricSchema>;

export const AlertKind = { RATE: 'rate', DUPLICATE_CONTENT: 'duplicate_content' } as const;
export const Severity = { LOW: 'low', MEDIUM: 'medium', HIGH: 'high' } as const;
/** `open`: the burst is in progress (first record, then one per severity rise); `closed`: final. */
export const AlertStatus = { OPEN: 'open', CLOSED: 'closed', RETRACTED: 'retracted' } as const;

/**
 * `anomaly-alerts`, key user_id. One alert per burst (see src/processors/anomaly-detection/README.md):
 * the first record (`open`) when the burst's threshold-th message is processed, an update
 * when its severity rises, and a last one (`closed`) once the burst is final. An out-of-order message
 * that joins two bursts, or moves a burst's start earlier, `retracted`s the alert it superseded. The
 * record with the highest `version` of an alert_id is its current state.
 */
export const AnomalyAlertSchema = z.object({
  /** Deterministic: the same burst always yields the same id (replays do not create new alerts). */
  alert_id: z.string().min(1),
  user_id: z.string().min(1),
  kind: z.enum([AlertKind.RATE, AlertKind.DUPLICATE_CONTENT]),
  /** The most messages of the burst within one window (the figure compared with the threshold). */
  count: count,
  threshold: count,
  /** Event times of the burst's first and last message (both included). */
  ...windowFields,
  /** Length of the sliding window the rule counts in, ms. */
  window_ms: z.number().int().positive(),
  severity: z.enum([Severity.LOW, Severity.MEDIUM, Severity.HIGH]),
  first_message_id: z.string().min(1),
  last_message_id: z.string().min(1),
  /** The message that brought the count to the threshold (its event time is the record's timestamp). */
  trigger_message_id: z.string().min(1),
  /** Event time of the trigger message: when the rule was met. */
  triggered_at: isoInstant,
  /** Messages in the burst: every message of a window in which the rule held. */
  message_count: count,
  status: z.enum([AlertStatus.OPEN, AlertStatus.CLOSED, AlertStatus.RETRACTED]),
  /**
   * What the record says, so that an alert's last record has the same version whatever came before:
   * open low/medium/high = 1/2/3, closed = 4, retracted = 5; each record of an alert has a higher one.
   */
  version: z.number().int().positive(),
});
export type AnomalyAlert = z.infer<typeof AnomalyAlertSchema>;

import { z } from 'zod';
import { isoInstant } from './fields.ts';

/**
 * Output topics of the stream processors (SPEC §2). All instants are UTC RFC 3339 with milliseconds;
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
  /** The basis of the peak flag: mean message_count of the conversation's recent windows. */
  baseline_count: z.number().nonnegative(),
  /** The count a window needs to be a peak: max(min_peak_count, baseline_count × peak_factor). */
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
  /** How far above its baseline the word is: (count + 1) / (baseline + 1). */
  score: z.number().nonnegative(),
  /** Mean count of the word over the previous windows considered. */
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

/** `anomaly-alerts`, key user_id. */
export const AnomalyAlertSchema = z.object({
  /** Deterministic: the same burst always yields the same id (replays do not create new alerts). */
  alert_id: z.string().min(1),
  user_id: z.string().min(1),
  kind: z.enum([AlertKind.RATE, AlertKind.DUPLICATE_CONTENT]),
  count: count,
  threshold: count,
  ...windowFields,
  severity: z.enum([Severity.LOW, Severity.MEDIUM, Severity.HIGH]),
  first_message_id: z.string().min(1),
  last_message_id: z.string().min(1),
});
export type AnomalyAlert = z.infer<typeof AnomalyAlertSchema>;

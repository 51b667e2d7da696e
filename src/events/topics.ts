import type { z } from 'zod';
import { ChatMessageSchema } from './chat-message.ts';
import { MessageViewSchema } from './message-view.ts';
import {
  AnomalyAlertSchema,
  ConversationMetricSchema,
  TrendingWordSchema,
  UserActivityMetricSchema,
} from './outputs.ts';

const DAY_MS = 86_400_000;

/** The platform's topics (docs/topics.md): name, partitions, retention, the key field and the payload schema. */
export const Topics = {
  chatMessages: {
    name: 'chat.messages',
    partitions: 6,
    retentionMs: 7 * DAY_MS,
    key: 'conversation_id',
    schema: ChatMessageSchema,
  },
  messageViews: {
    name: 'message-views',
    partitions: 4,
    retentionMs: 30 * DAY_MS,
    key: 'user_id',
    schema: MessageViewSchema,
  },
  conversationMetrics: {
    name: 'conversation-metrics',
    partitions: 3,
    retentionMs: 7 * DAY_MS,
    key: 'conversation_id',
    schema: ConversationMetricSchema,
  },
  trendingWords: {
    name: 'trending-words',
    partitions: 3,
    retentionMs: 7 * DAY_MS,
    key: 'word',
    schema: TrendingWordSchema,
  },
  userActivityMetrics: {
    name: 'user-activity-metrics',
    partitions: 3,
    retentionMs: 7 * DAY_MS,
    key: 'user_id',
    schema: UserActivityMetricSchema,
  },
  anomalyAlerts: {
    name: 'anomaly-alerts',
    partitions: 2,
    retentionMs: 7 * DAY_MS,
    key: 'user_id',
    schema: AnomalyAlertSchema,
  },
} as const satisfies Record<
  string,
  { name: string; partitions: number; retentionMs: number; key: string; schema: z.ZodType }
>;

export type TopicName = (typeof Topics)[keyof typeof Topics]['name'];

export type { MessageParties } from './processor.ts';
export {
  CONVERSATION_ANALYTICS_APPLICATION_ID,
  type ConversationAnalyticsDeps,
  type ConversationAnalyticsOptions,
  conversationAnalyticsTopology,
  conversationRules,
  createConversationAnalytics,
} from './topology.ts';
export { type ConversationRules, isLate, metricOf, WindowMemo } from './windows.ts';

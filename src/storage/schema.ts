/**
 * The ClickHouse schema as versioned migrations. `$db` stands for the database (`message_db` unless a
 * test asks for another); every other identifier is a constant here, never input. A migration, once
 * released, never changes: its checksum is recorded and a changed one stops start-up. Add a new one.
 *
 * Time columns are `DateTime64(3, 'UTC')`: the seed's `DateTime64(3)`, pinned to UTC so that
 * `toStartOfHour(created_at)` means the same hour on every host.
 */

import {
  M13_LIGHTER_INSERTS,
  M15_SLIMMER_COPIES,
  M16_BASE_CODECS,
  M17_SENDER_PAGE_PROJECTION,
} from './schema-insert-cost.ts';
import { M12_MESSAGE_EVENTS } from './schema-insert-path.ts';
import { M7_MESSAGE_ROWS, M10_MESSAGE_ROWS_CODECS, M14_MESSAGE_ROWS_DAILY } from './schema-messages.ts';
import {
  M2_ANALYTICS,
  M4_SINK_PROGRESS,
  M5_PROCESSOR_TABLES,
  M6_STORE_CHECK,
  M11_SINK_BATCHES,
} from './schema-processor-tables.ts';
import { M1_MESSAGES, M3_ROLLUPS } from './schema-receipts.ts';
import { M8_HOURLY_ROLLUPS, M9_READ_ROLLUPS } from './schema-rollups.ts';

export const DEFAULT_DATABASE = 'message_db';

/** Table names (unqualified). */
export const Tables = {
  schemaMigrations: 'schema_migrations',
  messagesBase: 'messages_base',
  messages: 'messages',
  messageViews: 'message_views',
  messageReceipts: 'message_receipts',
  userStats: 'user_stats',
  realtimeUserActivity: 'realtime_user_activity',
  conversationMetrics: 'conversation_metrics',
  trendingWords: 'trending_words',
  anomalyAlerts: 'anomaly_alerts',
  hourlyVolume: 'hourly_volume',
  senderReadRateTotal: 'sender_read_rate_total',
  messageIndex: 'message_index',
  messageRows: 'message_rows',
  sinkProgress: 'sink_progress',
  storeWatermarks: 'store_watermarks',
  earlyViews: 'early_views',
  conversationHourly: 'conversation_hourly',
  hourlyTotals: 'hourly_totals',
  conversationSenders: 'conversation_senders',
  minuteTotals: 'minute_totals',
  senderHourly: 'sender_hourly',
  senderReadDelays: 'sender_read_delays',
  senderTotals: 'sender_totals',
  messageFirstReads: 'message_first_reads',
  messageEvents: 'message_events',
} as const;
export type TableName = (typeof Tables)[keyof typeof Tables];

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** One statement each; `$db` is replaced by the database name. */
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  M1_MESSAGES,
  M2_ANALYTICS,
  M3_ROLLUPS,
  M4_SINK_PROGRESS,
  M5_PROCESSOR_TABLES,
  M6_STORE_CHECK,
  M7_MESSAGE_ROWS,
  M8_HOURLY_ROLLUPS,
  M9_READ_ROLLUPS,
  M10_MESSAGE_ROWS_CODECS,
  M11_SINK_BATCHES,
  M12_MESSAGE_EVENTS,
  M13_LIGHTER_INSERTS,
  M14_MESSAGE_ROWS_DAILY,
  M15_SLIMMER_COPIES,
  M16_BASE_CODECS,
  M17_SENDER_PAGE_PROJECTION,
];

/** Retention, in days; 0 keeps rows forever. Applied at start-up (`applyRetention`), not a migration. */
export interface Retention {
  /** messages_base and message_rows (default 0: forever). */
  messagesDays: number;
  /** message_views (the raw view events) and early_views (default 30, like the `message-views` topic). */
  viewsDays: number;
  /** realtime_user_activity, conversation_metrics, trending_words (default 30). */
  metricsDays: number;
  /** anomaly_alerts (default 90). */
  alertsDays: number;
}

export const DEFAULT_RETENTION: Retention = Object.freeze({
  messagesDays: 0,
  viewsDays: 30,
  metricsDays: 30,
  alertsDays: 90,
});

/** Which table each retention knob governs, and the row time its TTL counts from. */
export const RETENTION_TARGETS: readonly { table: TableName; column: string; key: keyof Retention }[] = [
  { table: Tables.messagesBase, column: 'created_at', key: 'messagesDays' },
  { table: Tables.messageRows, column: 'created_at', key: 'messagesDays' },
  { table: Tables.conversationHourly, column: 'hour', key: 'messagesDays' },
  { table: Tables.hourlyTotals, column: 'hour', key: 'messagesDays' },
  { table: Tables.conversationSenders, column: 'hour', key: 'messagesDays' },
  { table: Tables.minuteTotals, column: 'minute', key: 'messagesDays' },
  { table: Tables.senderHourly, column: 'hour', key: 'messagesDays' },
  { table: Tables.senderReadDelays, column: 'hour', key: 'messagesDays' },
  { table: Tables.messageFirstReads, column: 'created_at', key: 'messagesDays' },
  { table: Tables.messageViews, column: 'viewed_at', key: 'viewsDays' },
  { table: Tables.earlyViews, column: 'viewed_at', key: 'viewsDays' },
  { table: Tables.realtimeUserActivity, column: 'window_start', key: 'metricsDays' },
  { table: Tables.conversationMetrics, column: 'window_start', key: 'metricsDays' },
  { table: Tables.trendingWords, column: 'window_start', key: 'metricsDays' },
  { table: Tables.anomalyAlerts, column: 'window_start', key: 'alertsDays' },
];

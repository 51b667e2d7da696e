import { checkDatabaseName } from './migrations.ts';
import type { ClickHouse, InsertSummary } from './port.ts';
import { Tables } from './schema.ts';
import { toDateTime64 } from './wire.ts';

/**
 * A message as the sink hands it over: the seed's `messages` columns (snake_case), times in epoch ms.
 * `read_status`/`read_at` are not written: the receiver's first view sets them (message_rows, read by
 * the `messages` view).
 */
export interface MessageRow {
  message_id: string;
  conversation_id: string;
  sender_id: string;
  receiver_id: string;
  content: string;
  /** Event time (the payload's `timestamp`), epoch ms. */
  created_at: number;
  /** Default 'text'. */
  message_type?: string;
  /** Default: sender_id (the seed's producer sends user_id = sender). */
  user_id?: string;
  /** Default 'message_sent'. */
  event_type?: string;
}

/** One view of a message (`message-views`): who, when (epoch ms), on what device. */
export interface ReceiptRow {
  message_id: string;
  /** The viewer: the event's `user_id`. */
  reader_id: string;
  viewed_at: number;
  /** Default 'web'. */
  device?: string;
}

function qualified(database: string, table: string): string {
  return `${checkDatabaseName(database)}.${table}`;
}

/**
 * Inserts a batch of messages into `messages_base` (and through its materialized views message_index,
 * message_rows and the rollups). With the same `dedupToken` (e.g. `chat.messages/3/1200-1299`), a
 * retried batch is dropped by every table; a replay under another token still does not double count
 * `messages` (message_rows read FINAL folds the copies).
 */
export function insertMessages(
  ch: ClickHouse,
  rows: readonly MessageRow[],
  dedupToken?: string,
  database = 'message_db',
): Promise<InsertSummary> {
  const out = new Array<object>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out[i] = {
      message_id: r.message_id,
      conversation_id: r.conversation_id,
      sender_id: r.sender_id,
      receiver_id: r.receiver_id,
      content: r.content,
      created_at: toDateTime64(r.created_at),
      message_type: r.message_type ?? 'text',
      user_id: r.user_id ?? r.sender_id,
      event_type: r.event_type ?? 'message_sent',
    };
  }
  return ch.insert(qualified(database, Tables.messagesBase), out, {
    ...withToken(dedupToken),
    foldOnMerge: true,
  });
}

/**
 * Inserts a batch of view events into `message_views`; materialized views fold them into
 * `message_receipts` (first/last view per message and reader) and turn a receiver's first view into
 * the message's read state (message_rows, the rollups). Order does not matter: a view may arrive
 * before its message (it waits in early_views).
 */
export function insertReceipts(
  ch: ClickHouse,
  rows: readonly ReceiptRow[],
  dedupToken?: string,
  database = 'message_db',
): Promise<InsertSummary> {
  const out = new Array<object>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out[i] = {
      message_id: r.message_id,
      reader_id: r.reader_id,
      viewed_at: toDateTime64(r.viewed_at),
      device: r.device ?? 'web',
    };
  }
  return ch.insert(qualified(database, Tables.messageViews), out, {
    ...withToken(dedupToken),
    foldOnMerge: true,
  });
}

/*
 * Message and view inserts fold on merge (`foldOnMerge`): every table they reach is read folded —
 * messages_base through FINAL or LIMIT 1 BY, message_rows through FINAL (the `messages` view),
 * message_index and message_receipts by GROUP BY / DISTINCT, the rollups by sums of blocks their
 * views already grouped by key — so folding rows of one block while writing each part was a second
 * sort-and-fold pass over every target for nothing: ~20 % of a batch's insert CPU (686 vs 903 ms per
 * 50k messages + 35k views, merges no dearer: schema-insert-cost.ts).
 */
function withToken(dedupToken: string | undefined): { dedupToken?: string } {
  return dedupToken === undefined ? {} : { dedupToken };
}

/*
 * The processors' tables (migration 5), written by the clickhouse-sink from the output topics. Times
 * are epoch ms; `version` is the record's offset in its output-topic partition (the latest emission of
 * a window wins) or, for alerts, the alert's own version; `emitted_at` the output record's timestamp.
 */

/** `conversation-metrics` → conversation_metrics. */
export interface ConversationMetricRow {
  conversation_id: string;
  window_start: number;
  window_end: number;
  window_kind: string;
  message_count: number;
  participant_count: number;
  is_peak: boolean;
  /** The record's `baseline_count`. */
  baseline: number;
  peak_threshold: number;
  emitted_at: number;
  version: number;
}

/** `trending-words` → trending_words. */
export interface TrendingWordRow {
  window_start: number;
  window_end: number;
  word: string;
  count: number;
  rank: number;
  score: number;
  baseline: number;
  emitted_at: number;
  version: number;
}

/** `user-activity-metrics` → realtime_user_activity (and, by its materialized view, user_stats). */
export interface UserActivityRow {
  user_id: string;
  window_start: number;
  window_end: number;
  messages_sent: number;
  messages_received: number;
  reads: number;
  active_conversations: number;
  emitted_at: number;
  version: number;
}

/** `anomaly-alerts` → anomaly_alerts (one row per alert_id after merges: the highest version). */
export interface AnomalyAlertRow {
  alert_id: string;
  user_id: string;
  kind: string;
  severity: string;
  /** open, closed or retracted. */
  status: string;
  count: number;
  threshold: number;
  window_ms: number;
  window_start: number;
  window_end: number;
  first_message_id: string;
  last_message_id: string;
  trigger_message_id: string;
  message_count: number;
  /** The record's `triggered_at`: when the rule was met. */
  detected_at: number;
  emitted_at: number;
  /** 1 when status is retracted: FINAL reads leave the alert out. */
  retracted: number;
  /** The alert's own version (1, 2, … per alert_id). */
  version: number;
}

/** Time columns of each processor table: converted from epoch ms to DateTime64 text on the way in. */
const TIME_COLUMNS = {
  [Tables.conversationMetrics]: ['window_start', 'window_end', 'emitted_at'],
  [Tables.trendingWords]: ['window_start', 'window_end', 'emitted_at'],
  [Tables.realtimeUserActivity]: ['window_start', 'window_end', 'emitted_at'],
  [Tables.anomalyAlerts]: ['window_start', 'window_end', 'detected_at', 'emitted_at'],
} as const;

function insertWithTimes(
  ch: ClickHouse,
  table: keyof typeof TIME_COLUMNS,
  rows: readonly object[],
  dedupToken: string | undefined,
  database: string,
): Promise<InsertSummary> {
  const times = TIME_COLUMNS[table];
  const out = rows.map((row) => {
    const r: Record<string, unknown> = { ...row };
    for (const c of times) r[c] = toDateTime64(r[c] as number);
    return r;
  });
  return ch.insert(qualified(database, table), out, withToken(dedupToken));
}

export function insertConversationMetrics(
  ch: ClickHouse,
  rows: readonly ConversationMetricRow[],
  dedupToken?: string,
  database = 'message_db',
): Promise<InsertSummary> {
  return insertWithTimes(ch, Tables.conversationMetrics, rows, dedupToken, database);
}

export function insertTrendingWords(
  ch: ClickHouse,
  rows: readonly TrendingWordRow[],
  dedupToken?: string,
  database = 'message_db',
): Promise<InsertSummary> {
  return insertWithTimes(ch, Tables.trendingWords, rows, dedupToken, database);
}

export function insertUserActivity(
  ch: ClickHouse,
  rows: readonly UserActivityRow[],
  dedupToken?: string,
  database = 'message_db',
): Promise<InsertSummary> {
  return insertWithTimes(ch, Tables.realtimeUserActivity, rows, dedupToken, database);
}

export function insertAnomalyAlerts(
  ch: ClickHouse,
  rows: readonly AnomalyAlertRow[],
  dedupToken?: string,
  database = 'message_db',
): Promise<InsertSummary> {
  return insertWithTimes(ch, Tables.anomalyAlerts, rows, dedupToken, database);
}

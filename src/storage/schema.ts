/**
 * The ClickHouse schema as versioned migrations. `$db` stands for the database (`message_db` unless a
 * test asks for another); every other identifier is a constant here, never input. A migration, once
 * released, never changes: its checksum is recorded and a changed one stops start-up. Add a new one.
 *
 * Time columns are `DateTime64(3, 'UTC')`: the seed's `DateTime64(3)`, pinned to UTC so that
 * `toStartOfHour(created_at)` means the same hour on every host.
 */

import { M12_MESSAGE_EVENTS } from './schema-insert-path.ts';
import { DEDUP, M7_MESSAGE_ROWS, M10_MESSAGE_ROWS_CODECS } from './schema-messages.ts';
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
  senderReadRate: 'sender_read_rate',
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

/*
 * Messages and read receipts — why `messages` was a VIEW over a join (migrations 1–6; migration 7 in
 * schema-messages.ts replaces the view by one over `message_rows`, which stays fast at 100M messages:
 * the comparison is there).
 *
 * The seed's queries count rows of `message_db.messages` (count(*), countIf(read_status = 'read')), so
 * one message must be exactly one row at every moment, without FINAL, while receipts keep arriving
 * and must never cost one `ALTER TABLE … UPDATE` each. Candidates measured on chDB 26.7 (2 vCPUs)
 * with 1M messages + 1M receipts (70 % by the receiver, 10 inserts each), hourly query / read-rate
 * query in ms — `npm run bench:sink -- --designs` reruns this; first column an idle machine, second
 * one shared with other builds (load ≈ 5):
 *
 *   plain MergeTree, no read state at all (lower bound)                13 /   —    17 /    —
 *   VIEW: base ⟕ receipts on (message_id, reader_id) String keys     480 / 520  1985 / 1111
 *   VIEW: same, joined on a 128-bit hash of the pair                  210 / 235   418 /  552  ← chosen
 *   VIEW: hash join + FINAL over a ReplacingMergeTree base            ~+10 %      662 /  725  ← (with)
 *   VIEW: correlated scalar subquery (experimental)                   700 / 1300 1547 / 2721
 *   VIEW: dictGet on a COMPLEX_KEY_DIRECT dictionary                   10 / 28000   (not rerun)
 *   MergeTree + one lightweight UPDATE (patch parts) per 10k receipts  20 /  80    15 /   81
 *     … but each batched UPDATE took 0.8–1.5 s (1.1–2.4 s loaded) at 1M rows — a scan of
 *     message_id growing with the table, i.e. ~1 s of engine time per second of receipts — a receipt
 *     before its message needs a second path, and servers older than 25.7 lack UPDATE.
 *
 * So: `messages_base` holds the seed's columns except the read state (ReplacingMergeTree on the
 * seed's sort key: a message replayed under a different dedup token collapses, and the view reads it
 * FINAL so it never counts twice); `message_views` holds every view event; `message_receipts`
 * (AggregatingMergeTree, one row per message and reader after merges) keeps first/last view, count
 * and devices. `messages` joins the base to the receipts on `read_key = sipHash128(message_id,
 * reader)` with reader = the message's receiver:
 *   - the receiver's first view sets read_status = 'read' and read_at = min(viewed_at);
 *   - later or repeated views cannot move read_at (min), duplicates are harmless (min);
 *   - views by anyone else are kept in message_views/message_receipts but never mark it read;
 *   - a view that arrives before its message waits in message_receipts and applies by the join.
 * Inserts stay append-only and cheap; the join is paid by queries on `messages`. Dashboards read
 * the rollups below instead.
 */
const M1_MESSAGES: Migration = {
  version: 1,
  name: 'messages_and_receipts',
  statements: [
    'CREATE DATABASE IF NOT EXISTS $db',
    `CREATE TABLE IF NOT EXISTS $db.messages_base (
      message_id String CODEC(ZSTD(1)),
      conversation_id String CODEC(ZSTD(1)),
      sender_id String CODEC(ZSTD(1)),
      receiver_id String CODEC(ZSTD(1)),
      content String CODEC(ZSTD(1)),
      created_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
      message_type LowCardinality(String) DEFAULT 'text',
      user_id String DEFAULT '' CODEC(ZSTD(1)),
      event_type LowCardinality(String) DEFAULT 'message_sent',
      read_key FixedString(16) MATERIALIZED sipHash128(message_id, receiver_id)
    )
    ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(created_at)
    ORDER BY (conversation_id, created_at, message_id)
    SETTINGS ${DEDUP}`,
    // Lookup by message_id (status, rollups): the base table is sorted by conversation.
    `CREATE TABLE IF NOT EXISTS $db.message_index (
      message_id String,
      conversation_id String,
      sender_id String,
      receiver_id String,
      created_at DateTime64(3, 'UTC'),
      read_key FixedString(16)
    )
    ENGINE = ReplacingMergeTree
    ORDER BY message_id
    SETTINGS index_granularity = 256, ${DEDUP}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.message_index_mv TO $db.message_index AS
    SELECT message_id, conversation_id, sender_id, receiver_id, created_at, read_key
    FROM $db.messages_base`,
    `CREATE TABLE IF NOT EXISTS $db.message_views (
      message_id String CODEC(ZSTD(1)),
      reader_id String CODEC(ZSTD(1)),
      viewed_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
      device LowCardinality(String) DEFAULT 'web'
    )
    ENGINE = MergeTree
    PARTITION BY toYYYYMM(viewed_at)
    ORDER BY (message_id, reader_id, viewed_at)
    SETTINGS ${DEDUP}`,
    `CREATE TABLE IF NOT EXISTS $db.message_receipts (
      message_id String,
      reader_id String,
      read_key SimpleAggregateFunction(any, FixedString(16)),
      first_viewed_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
      last_viewed_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
      view_count SimpleAggregateFunction(sum, UInt64),
      devices SimpleAggregateFunction(groupUniqArrayArray, Array(String))
    )
    ENGINE = AggregatingMergeTree
    ORDER BY (message_id, reader_id)
    SETTINGS index_granularity = 256, ${DEDUP}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.message_receipts_mv TO $db.message_receipts AS
    SELECT message_id, reader_id, sipHash128(message_id, reader_id) AS read_key,
           viewed_at AS first_viewed_at, viewed_at AS last_viewed_at,
           toUInt64(1) AS view_count, [toString(device)] AS devices
    FROM $db.message_views`,
    `CREATE VIEW IF NOT EXISTS $db.messages AS
    SELECT
      m.message_id AS message_id,
      m.conversation_id AS conversation_id,
      m.sender_id AS sender_id,
      m.receiver_id AS receiver_id,
      m.content AS content,
      m.created_at AS created_at,
      m.message_type AS message_type,
      m.user_id AS user_id,
      m.event_type AS event_type,
      if(r.first_read IS NULL, 'sent', 'read') AS read_status,
      r.first_read AS read_at
    FROM $db.messages_base AS m FINAL
    LEFT JOIN (
      SELECT read_key, toNullable(min(first_viewed_at)) AS first_read
      FROM $db.message_receipts
      GROUP BY read_key
    ) AS r ON m.read_key = r.read_key`,
  ],
};

/*
 * Tables the processors write (windowed metrics, trends, alerts). Each row is one closed window (or
 * one alert) and may be re-emitted by a replay: ReplacingMergeTree on the window's identity keeps the
 * latest emission (`emitted_at`); readers that need exact values use FINAL or argMax.
 */
const M2_ANALYTICS: Migration = {
  version: 2,
  name: 'analytics_tables',
  statements: [
    // user-activity: one row per user and 1-minute window (heatmap, per-minute behaviour).
    `CREATE TABLE IF NOT EXISTS $db.realtime_user_activity (
      user_id String,
      window_start DateTime64(3, 'UTC'),
      window_end DateTime64(3, 'UTC'),
      messages_sent UInt32,
      messages_received UInt32,
      reads UInt32,
      active_conversations UInt32,
      emitted_at DateTime64(3, 'UTC')
    )
    ENGINE = ReplacingMergeTree(emitted_at)
    PARTITION BY toYYYYMM(window_start)
    ORDER BY (window_start, user_id)
    SETTINGS ${DEDUP}`,
    // user-activity: running totals per user; rows are per-window deltas summed by the engine.
    `CREATE TABLE IF NOT EXISTS $db.user_stats (
      user_id String,
      messages_sent SimpleAggregateFunction(sum, UInt64),
      messages_received SimpleAggregateFunction(sum, UInt64),
      reads SimpleAggregateFunction(sum, UInt64),
      active_windows SimpleAggregateFunction(sum, UInt64),
      first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
      last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
    )
    ENGINE = AggregatingMergeTree
    ORDER BY user_id
    SETTINGS ${DEDUP}`,
    // conversation-analytics: volume per conversation and window, with the peak decision.
    `CREATE TABLE IF NOT EXISTS $db.conversation_metrics (
      conversation_id String,
      window_start DateTime64(3, 'UTC'),
      window_end DateTime64(3, 'UTC'),
      message_count UInt32,
      participant_count UInt16,
      is_peak Bool,
      baseline Float64,
      emitted_at DateTime64(3, 'UTC')
    )
    ENGINE = ReplacingMergeTree(emitted_at)
    PARTITION BY toYYYYMM(window_start)
    ORDER BY (conversation_id, window_start, window_end)
    SETTINGS ${DEDUP}`,
    // trend-detection: top words per 2-minute window, scored against the previous windows.
    `CREATE TABLE IF NOT EXISTS $db.trending_words (
      window_start DateTime64(3, 'UTC'),
      window_end DateTime64(3, 'UTC'),
      word String,
      count UInt32,
      rank UInt16,
      score Float64,
      baseline Float64,
      emitted_at DateTime64(3, 'UTC')
    )
    ENGINE = ReplacingMergeTree(emitted_at)
    PARTITION BY toYYYYMM(window_start)
    ORDER BY (window_start, word)
    SETTINGS ${DEDUP}`,
    // anomaly-detection: one row per alert; alert_id is deterministic, so a replay replaces it.
    `CREATE TABLE IF NOT EXISTS $db.anomaly_alerts (
      alert_id String,
      user_id String,
      kind LowCardinality(String),
      severity LowCardinality(String),
      count UInt32,
      threshold UInt32,
      window_start DateTime64(3, 'UTC'),
      window_end DateTime64(3, 'UTC'),
      first_message_id String,
      last_message_id String,
      detected_at DateTime64(3, 'UTC')
    )
    ENGINE = ReplacingMergeTree(detected_at)
    PARTITION BY toYYYYMM(window_start)
    ORDER BY (user_id, window_start, alert_id)
    SETTINGS ${DEDUP}`,
  ],
};

/*
 * Rollups for the dashboard (read these, not the `messages` view, for charts):
 * - sender_read_rate: per sender and hour (of the message), the sets of sent and read message ids as
 *   uniqExact states, so replays (under any token) and duplicate receipts are idempotent. A read is a
 *   view by the message's receiver, found from either side: a view batch looks up its messages in
 *   message_index (primary key message_id) and files the views it found no message for in
 *   early_views; a message batch looks up only early_views (small: the views that beat their
 *   message, kept as long as message_views). In a materialized view every reference to the source table means the inserted
 *   block, so the lookups are batch-sized; counting ids, not events, makes the two paths safe to
 *   overlap. On a server, a view and its message inserted at the same instant by two writers can
 *   miss each other in the rollup (never in `messages`). Read with uniqExactMerge, or the views below.
 * - hourly_volume (view): messages per hour from the same states.
 * - sender_read_rate_total (view): the seed's read-rate query, from the rollup.
 * (A separate SummingMergeTree count per hour was measured too: one more view on every message insert
 * and double counts on a replay under a new token; deriving it from the id sets avoids both.)
 * Cost: the two join views are most of the insert cost beyond the base tables — bench/sink.bench.ts
 * reports `messages_50k_without_read_rollup` beside `rows_per_s`. The lookups are by primary key on
 * tables with index_granularity 256, so a batch of k ids reads about k × 256 rows, not the table.
 */
const M3_ROLLUPS: Migration = {
  version: 3,
  name: 'rollups',
  statements: [
    `CREATE TABLE IF NOT EXISTS $db.sender_read_rate (
      sender_id String,
      hour DateTime('UTC'),
      sent AggregateFunction(uniqExact, String),
      read AggregateFunction(uniqExact, String)
    )
    ENGINE = AggregatingMergeTree
    ORDER BY (sender_id, hour)`,
    // Views whose message was not stored yet when they arrived: the only ones the message side needs
    // to look up, so that lookup stays small. Retention: viewsDays, like message_views.
    `CREATE TABLE IF NOT EXISTS $db.early_views (
      message_id String,
      read_key FixedString(16),
      viewed_at DateTime64(3, 'UTC')
    )
    ENGINE = MergeTree
    ORDER BY message_id
    SETTINGS index_granularity = 256`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.early_views_mv TO $db.early_views AS
    SELECT v.message_id AS message_id, sipHash128(v.message_id, v.reader_id) AS read_key, v.viewed_at AS viewed_at
    FROM $db.message_views AS v
    LEFT ANTI JOIN (
      SELECT message_id FROM $db.message_index
      WHERE message_id IN (SELECT message_id FROM $db.message_views)
    ) AS i ON v.message_id = i.message_id`,
    // Message side: every message counts as sent; it counts as read if its receiver's view came first.
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.sender_read_rate_msg_mv TO $db.sender_read_rate AS
    SELECT m.sender_id AS sender_id, toStartOfHour(m.created_at) AS hour,
           uniqExactState(m.message_id) AS sent,
           uniqExactStateIf(m.message_id, r.read_key != '') AS read
    FROM $db.messages_base AS m
    LEFT JOIN (
      SELECT DISTINCT read_key FROM $db.early_views
      WHERE message_id IN (SELECT message_id FROM $db.messages_base)
    ) AS r ON m.read_key = r.read_key
    GROUP BY sender_id, hour`,
    // View side: a view by the receiver of a message already stored.
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.sender_read_rate_view_mv TO $db.sender_read_rate AS
    SELECT i.sender_id AS sender_id, toStartOfHour(i.created_at) AS hour,
           uniqExactStateIf(i.message_id, false) AS sent,
           uniqExactState(i.message_id) AS read
    FROM $db.message_views AS v
    INNER JOIN (
      SELECT message_id, sender_id, created_at, read_key FROM $db.message_index
      WHERE message_id IN (SELECT message_id FROM $db.message_views)
    ) AS i ON sipHash128(v.message_id, v.reader_id) = i.read_key
    GROUP BY sender_id, hour`,
    // Hourly volume from the same rollup: each message has one sender, so the sum over senders of
    // distinct ids per hour is the distinct ids per hour.
    `CREATE VIEW IF NOT EXISTS $db.hourly_volume AS
    SELECT hour, sum(sent) AS messages
    FROM (SELECT hour, sender_id, uniqExactMerge(sent) AS sent FROM $db.sender_read_rate GROUP BY hour, sender_id)
    GROUP BY hour`,
    // Read rate per sender over all time, as the seed's query computes it from messages.
    `CREATE VIEW IF NOT EXISTS $db.sender_read_rate_total AS
    SELECT sender_id, uniqExactMerge(sent) AS sent, uniqExactMerge(read) AS read_count,
           round(read_count * 100.0 / sent, 2) AS read_rate
    FROM $db.sender_read_rate GROUP BY sender_id`,
  ],
};

/*
 * The clickhouse-sink's progress per source partition (see processors/clickhouse-sink): the last
 * offset range it inserted and whether the insert finished. Kept in ClickHouse, beside the rows it
 * describes, so that any sink instance that takes the partition over finds it. The latest row per
 * partition wins by `seq` (progress only moves forward).
 */
const M4_SINK_PROGRESS: Migration = {
  version: 4,
  name: 'sink_progress',
  statements: [
    `CREATE TABLE IF NOT EXISTS $db.sink_progress (
      application_id LowCardinality(String),
      topic LowCardinality(String),
      partition UInt32,
      first_offset UInt64,
      last_offset UInt64,
      status LowCardinality(String),
      seq UInt64,
      saved_at DateTime64(3, 'UTC') DEFAULT now64(3)
    )
    ENGINE = ReplacingMergeTree(seq)
    ORDER BY (application_id, topic, partition)`,
  ],
};

/*
 * What the store check (processors/clickhouse-sink/store-check.ts) compares the sink's tables with, to
 * notice rows deleted behind the sink's progress:
 * - sink_progress.rows: the rows the sink surely has in its table for the partition (through the
 *   previous range while a range is `inserting`, through it once `inserted`); progress saved before
 *   this migration counts 0. Compared with count() of tables that never collapse rows.
 * - store_watermarks: per table, the distinct rows (sorting keys; count() FINAL) it held at store
 *   checks (a row each time the number grew). No legitimate change lowers that number in a table
 *   without a TTL or an is_deleted column (inserts add keys, merges keep one row per key), so falling
 *   below it means rows were deleted. `expired` = 1: the table had a TTL or an is_deleted column at a
 *   check, so its rows may have vanished legitimately: neither measure applies to it any more (until
 *   `msgtrack replay --rebuild` empties it). A plain MergeTree: no merge may drop the flag.
 */
const M6_STORE_CHECK: Migration = {
  version: 6,
  name: 'store_check',
  statements: [
    'ALTER TABLE $db.sink_progress ADD COLUMN IF NOT EXISTS rows UInt64 DEFAULT 0',
    `CREATE TABLE IF NOT EXISTS $db.store_watermarks (
      table_name LowCardinality(String),
      keys UInt64,
      expired UInt8 DEFAULT 0,
      checked_at DateTime64(3, 'UTC') DEFAULT now64(3)
    )
    ENGINE = MergeTree
    ORDER BY table_name`,
  ],
};

/*
 * The processors' tables as the clickhouse-sink writes them from the output topics (exactly once:
 * one insert per offset range under its dedup token, see processors/clickhouse-sink).
 *
 * Why the four tables of migration 2 are re-created: a row may be updated (an alert as its burst
 * grows, a window re-emitted by an `onUpdate` processor), and the latest emission must win. The only
 * order that is the same on every replay is the record's offset in its output-topic partition (a
 * key's records all go to one partition), so each window table is a ReplacingMergeTree on `version` =
 * that offset, which no ALTER can give an existing engine; alerts carry their own version and are
 * keyed by alert_id alone (their window grows). No release wrote these tables (the seed's processors only printed lines), so each is
 * dropped only `IF EMPTY`: a non-empty one stops the migration (TABLE_NOT_EMPTY) and keeps its rows.
 * Column names of migration 2 are kept; new: window_kind, peak_threshold, version, and the alert's
 * status, trigger and figures. `emitted_at` = the output record's timestamp (the processor's event
 * time).
 *
 * user_stats (migration 2, kept) gets its rows from realtime_user_activity through user_stats_mv:
 * per-window values summed by the engine. This is exact because (a) user-activity emits each
 * (user, minute) window once, when it closes, and the topic holds it exactly once (transactions);
 * (b) the sink inserts each offset once: a replayed range is skipped, an interrupted one re-inserted
 * under its token — ClickHouse drops the copy in realtime_user_activity and, with
 * deduplicate_blocks_in_dependent_materialized_views, in user_stats too, and an insert that landed in
 * the table but not yet in the view completes the view (test/processors/clickhouse-sink/output-tables).
 */
const M5_PROCESSOR_TABLES: Migration = {
  version: 5,
  name: 'processor_tables',
  statements: [
    'DROP TABLE IF EXISTS IF EMPTY $db.conversation_metrics SYNC',
    `CREATE TABLE IF NOT EXISTS $db.conversation_metrics (
      conversation_id String,
      window_start DateTime64(3, 'UTC'),
      window_end DateTime64(3, 'UTC'),
      window_kind LowCardinality(String),
      message_count UInt32,
      participant_count UInt32,
      is_peak Bool,
      baseline Float64,
      peak_threshold Float64,
      emitted_at DateTime64(3, 'UTC'),
      version UInt64
    )
    ENGINE = ReplacingMergeTree(version)
    PARTITION BY toYYYYMM(window_start)
    ORDER BY (conversation_id, window_start, window_end)
    SETTINGS ${DEDUP}`,
    'DROP TABLE IF EXISTS IF EMPTY $db.trending_words SYNC',
    `CREATE TABLE IF NOT EXISTS $db.trending_words (
      window_start DateTime64(3, 'UTC'),
      window_end DateTime64(3, 'UTC'),
      word String,
      count UInt32,
      rank UInt16,
      score Float64,
      baseline Float64,
      emitted_at DateTime64(3, 'UTC'),
      version UInt64
    )
    ENGINE = ReplacingMergeTree(version)
    PARTITION BY toYYYYMM(window_start)
    ORDER BY (window_start, word)
    SETTINGS ${DEDUP}`,
    'DROP TABLE IF EXISTS IF EMPTY $db.anomaly_alerts SYNC',
    // One row per alert_id after merges: the record with the highest `version` (the alert's own,
    // 1, 2, … per alert_id) is its current state; a retracted alert (`retracted` = 1, an out-of-order
    // message merged its burst into another) is left out of FINAL reads. detected_at = triggered_at,
    // the event time the rule was met. Few rows; no partitioning, so all versions meet in one part.
    `CREATE TABLE IF NOT EXISTS $db.anomaly_alerts (
      alert_id String,
      user_id String,
      kind LowCardinality(String),
      severity LowCardinality(String),
      status LowCardinality(String),
      count UInt32,
      threshold UInt32,
      window_ms UInt32,
      window_start DateTime64(3, 'UTC'),
      window_end DateTime64(3, 'UTC'),
      first_message_id String,
      last_message_id String,
      trigger_message_id String,
      message_count UInt32,
      detected_at DateTime64(3, 'UTC'),
      emitted_at DateTime64(3, 'UTC'),
      retracted UInt8,
      version UInt64
    )
    ENGINE = ReplacingMergeTree(version, retracted)
    ORDER BY (user_id, alert_id)
    SETTINGS ${DEDUP}`,
    'DROP TABLE IF EXISTS IF EMPTY $db.realtime_user_activity SYNC',
    `CREATE TABLE IF NOT EXISTS $db.realtime_user_activity (
      user_id String,
      window_start DateTime64(3, 'UTC'),
      window_end DateTime64(3, 'UTC'),
      messages_sent UInt32,
      messages_received UInt32,
      reads UInt32,
      active_conversations UInt32,
      emitted_at DateTime64(3, 'UTC'),
      version UInt64
    )
    ENGINE = ReplacingMergeTree(version)
    PARTITION BY toYYYYMM(window_start)
    ORDER BY (window_start, user_id)
    SETTINGS ${DEDUP}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.user_stats_mv TO $db.user_stats AS
    SELECT user_id,
           toUInt64(messages_sent) AS messages_sent,
           toUInt64(messages_received) AS messages_received,
           toUInt64(reads) AS reads,
           toUInt64(1) AS active_windows,
           window_start AS first_seen,
           window_end AS last_seen
    FROM $db.realtime_user_activity`,
  ],
};

/*
 * The clickhouse-sink inserts the rows of every source partition of a table that has rows at a commit
 * in one insert, under one dedup token for the batch; each partition's progress row names the batch
 * (`<id>|<partition>:<first>-<last>,…`; '' before batches) so that a replay re-inserts exactly
 * that batch under its token (processors/clickhouse-sink/table-batch.ts).
 */
const M11_SINK_BATCHES: Migration = {
  version: 11,
  name: 'sink_batches',
  statements: ["ALTER TABLE $db.sink_progress ADD COLUMN IF NOT EXISTS batch String DEFAULT ''"],
};

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

import type { Migration } from './schema.ts';
import { DEDUP } from './schema-messages.ts';

/*
 * Tables the processors write (windowed metrics, trends, alerts). Each row is one closed window (or
 * one alert) and may be re-emitted by a replay: ReplacingMergeTree on the window's identity keeps the
 * latest emission (`emitted_at`); readers that need exact values use FINAL or argMax.
 */
export const M2_ANALYTICS: Migration = {
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
 * The clickhouse-sink's progress per source partition (see processors/clickhouse-sink): the last
 * offset range it inserted and whether the insert finished. Kept in ClickHouse, beside the rows it
 * describes, so that any sink instance that takes the partition over finds it. The latest row per
 * partition wins by `seq` (progress only moves forward).
 */
export const M4_SINK_PROGRESS: Migration = {
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
export const M5_PROCESSOR_TABLES: Migration = {
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
export const M6_STORE_CHECK: Migration = {
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
 * The clickhouse-sink inserts the rows of every source partition of a table that has rows at a commit
 * in one insert, under one dedup token for the batch; each partition's progress row names the batch
 * (`<id>|<partition>:<first>-<last>,…`; '' before batches) so that a replay re-inserts exactly
 * that batch under its token (processors/clickhouse-sink/table-batch.ts).
 */
export const M11_SINK_BATCHES: Migration = {
  version: 11,
  name: 'sink_batches',
  statements: ["ALTER TABLE $db.sink_progress ADD COLUMN IF NOT EXISTS batch String DEFAULT ''"],
};

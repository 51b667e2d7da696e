import type { Migration } from './schema.ts';
import { DEDUP } from './schema-messages.ts';

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
export const M1_MESSAGES: Migration = {
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
export const M3_ROLLUPS: Migration = {
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

import type { Migration } from './schema.ts';
import { EARLY_READS_JOIN, MESSAGE_ROWS_MV, INSERT_TOKEN as TOKEN } from './schema-messages.ts';

/*
 * One insert path for a message's row and everything rolled up from it (migration 12).
 *
 * Where a batch's insert time goes (chDB 26.7, 2 shared vCPUs, load 9–15 from other builds; CPU time
 * of the process, which is less disturbed by the load than wall time; a batch = 50k messages + 35k
 * views as bench:storage generates them, on top of 300k–1M messages):
 *   - the two base tables alone (every materialized view detached, merges stopped): ~190 ms for the
 *     messages (parse, sort by conversation, compress) and ~90 ms for the views;
 *   - all materialized views of migration 11 (merges stopped): +~470 ms in all (751 ms per batch);
 *     no single one dominates: each target table written costs 10–60 ms, each lookup join 20–40 ms;
 *   - background merges of the ~15 tables a batch writes: about as much again. Merging 16 batches'
 *     parts of each table once (OPTIMIZE … FINAL, the table's merges alone) cost, in ms of CPU:
 *     message_rows 1721, messages_base 1657, message_index (with its by-sender projection) 1401,
 *     sender_read_rate (uniqExact states) 996, message_receipts 580, conversation_hourly 443,
 *     conversation_senders 393, the other rollups 2–216 each.
 * This migration removes the duplicated lookups and rollup work (751 → 693 ms per batch, merges
 * stopped, the two schemas alternating in one process); the rest is the price of the copies the
 * reads need (messages_base by conversation, message_rows by time, message_index by id and sender).
 * In wall-clock rows/s (`npm run bench:storage -- --sizes 1e6`, migrations ≤ 11 and ≤ 12 alternating,
 * 4 runs each, load 5–8): 39.0k, 42.9k, 66.3k, 85.4k before; 65.6k, 47.2k, 35.0k, 69.5k after — the
 * machine's load moves the rate 2× from run to run, more than this change does.
 *
 * Before this migration every message batch looked up its early reads (early_views) three times —
 * once for message_rows, once for the old sender_read_rate rollup (migration 3), once for the read
 * rollups (rollup_events, migration 9) — and every view batch fed message_rows and sender_read_rate
 * from each receiver's view, while the read rollups already worked out which views change a message's
 * read (the read transitions). Now both paths emit one row per message or read transition into the
 * Null table `message_events`, and everything downstream is a plain filter or GROUP BY of it:
 *
 *   messages_base ─ message_events_msg_mv (the batch's early reads: ONE lookup) ─┐
 *   view_lookups ── message_events_view_mv (read transitions, message_first_reads) ┴→ message_events
 *   message_events → message_rows_mv       → message_rows (a message's row; a transition's patch)
 *                  → sender_read_rate_mv   → sender_read_rate (uniqExact id sets, as migration 3)
 *                  → rollup_events_mv      → rollup_events (sender_id != '') → the read rollups of
 *                                            migration 9, unchanged, and conversation_hourly_mv
 *
 * Why each table's contents stay what they were:
 *   - message_rows: a message row is written as before (read_at = its receiver's earliest early view).
 *     A read patch is now written for each read transition instead of each receiver's view. A view
 *     that is not a transition is not earlier than a read already recorded — in message_first_reads,
 *     whose every row also reached message_rows (both come from the same message_events rows, or, for
 *     rows of migration 9's carry-over, from message_rows itself) — so its patch could not lower
 *     read_at (min). A batch replayed under its token after a crash ignores its own transitions
 *     (migration 9), so it re-emits whatever patch it had not written yet.
 *   - sender_read_rate: sent = the ids of message rows, read = the ids of messages read on arrival or
 *     by a transition: the same id sets as the two materialized views it replaces (every receiver's
 *     view of a stored message either is a transition or follows one), and uniqExact states stay
 *     idempotent under any replay.
 *   - message_first_reads is still written from rollup_events (messages with a sender), as before.
 *     A message without a sender (the event schema refuses one; kept exact anyway) has no recorded
 *     read, so each receiver's view of it is a transition and patches message_rows, as before.
 *   - conversation_hourly: counts and last message time as before; its `senders` state (unread since
 *     migration 9: participants come from conversation_senders) is no longer computed — rows written
 *     from now on carry an empty state.
 * No data moves: the tables are the same, only the materialized views between them change.
 */

export const M12_MESSAGE_EVENTS: Migration = {
  version: 12,
  name: 'message_events',
  statements: [
    // One row per message (sent = 1: its columns, read_at from early views) or per read transition
    // (sent = 0: key, sender, read_at, and prev_read_at = the read time it replaces, NULL: a new read).
    `CREATE TABLE IF NOT EXISTS $db.message_events (
      message_id String,
      created_at DateTime64(3, 'UTC'),
      conversation_id String,
      sender_id String,
      receiver_id String,
      content String,
      message_type LowCardinality(String),
      user_id String,
      event_type LowCardinality(String),
      sent UInt8,
      read_at Nullable(DateTime64(3, 'UTC')),
      prev_read_at Nullable(DateTime64(3, 'UTC')),
      insert_token String
    )
    ENGINE = Null`,
    'DROP VIEW IF EXISTS $db.message_rows_msg_mv SYNC',
    'DROP VIEW IF EXISTS $db.message_rows_read_mv SYNC',
    'DROP VIEW IF EXISTS $db.sender_read_rate_msg_mv SYNC',
    'DROP VIEW IF EXISTS $db.sender_read_rate_view_mv SYNC',
    'DROP VIEW IF EXISTS $db.rollup_events_msg_mv SYNC',
    'DROP VIEW IF EXISTS $db.rollup_events_view_mv SYNC',
    'DROP VIEW IF EXISTS $db.conversation_hourly_mv SYNC',
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.message_events_msg_mv TO $db.message_events AS
    SELECT m.message_id AS message_id, m.created_at AS created_at, m.conversation_id AS conversation_id,
           m.sender_id AS sender_id, m.receiver_id AS receiver_id, m.content AS content,
           m.message_type AS message_type, m.user_id AS user_id, m.event_type AS event_type,
           toUInt8(1) AS sent, e.first_read AS read_at,
           CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS prev_read_at, ${TOKEN} AS insert_token
${EARLY_READS_JOIN}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.message_events_view_mv TO $db.message_events AS
    SELECT v.message_id AS message_id, v.created AS created_at, v.sender AS sender_id, toUInt8(0) AS sent,
           toNullable(v.first_view) AS read_at, p.recorded AS prev_read_at, ${TOKEN} AS insert_token
    FROM (
      SELECT message_id, any(created_at) AS created, any(sender_id) AS sender, min(viewed_at) AS first_view
      FROM $db.view_lookups WHERE by_receiver GROUP BY message_id
    ) AS v
    LEFT JOIN (
      SELECT message_id, toNullable(min(read_at)) AS recorded FROM $db.message_first_reads
      WHERE message_id IN (SELECT message_id FROM $db.view_lookups WHERE by_receiver)
        AND (insert_token != ${TOKEN} OR ${TOKEN} = '')
      GROUP BY message_id
    ) AS p ON v.message_id = p.message_id
    WHERE p.recorded IS NULL OR v.first_view < p.recorded`,
    MESSAGE_ROWS_MV,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.sender_read_rate_mv TO $db.sender_read_rate AS
    SELECT sender_id, toStartOfHour(created_at) AS hour,
           uniqExactStateIf(message_id, sent = 1) AS sent, uniqExactStateIf(message_id, read_at IS NOT NULL) AS read
    FROM $db.message_events GROUP BY sender_id, hour`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.rollup_events_mv TO $db.rollup_events AS
    SELECT message_id, created_at, conversation_id, sender_id, sent, read_at, prev_read_at, insert_token
    FROM $db.message_events WHERE sender_id != ''`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.conversation_hourly_mv TO $db.conversation_hourly AS
    SELECT toStartOfHour(created_at) AS hour, conversation_id, toUInt64(count()) AS messages,
           max(created_at) AS last_message_at
    FROM $db.rollup_events WHERE sent = 1 GROUP BY hour, conversation_id`,
  ],
};

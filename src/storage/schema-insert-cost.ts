import type { Migration } from './schema.ts';

/*
 * What a batch costs to insert, and why migration 13 drops `sender_read_rate`.
 *
 * Method (.tmp is not kept; the harness is described so it can be rebuilt): one chDB session holds
 * one database per candidate schema (migrate(ch, {database})); the same 50k-message + 35k-view
 * batches as bench:storage go to each in turn, alternating the order; process.cpuUsage() around
 * each batch's two inserts counts chDB's threads too (it runs in-process), with SYSTEM STOP MERGES
 * so that the insert path is measured alone; then each table's parts are merged once (OPTIMIZE …
 * FINAL, one table at a time) and that CPU is the merge cost. Median of 10–12 batches after 3 warm-up
 * ones, chDB 26.7, 2 shared vCPUs (load in brackets: other engineers' builds; absolute numbers
 * inflate with the load, ratios within one run do not much):
 *
 *   per batch, ms of CPU                              insert path   merges    load
 *   migration 12 (every view)                          674–744      570–590   5–10
 *   the base tables alone (no materialized view)          276          132
 *   without the 7 rollup views of migrations 8–9         537          410
 *   without sender_read_rate_mv                          629          514
 *   without message_index's by_sender projection         658          513
 *   without message_rows_mv                              640          472
 *   migration 12 → 13, same run                 725 → 641; 1082 → 1002   552 → 487; 917 → 743   9; 17
 *   13, rows folded at insert → on merge only (writes.ts)   903 → 686        614 → 581      10
 *
 * Every view costs what its target table costs to sort, compress and later merge; four tables hold
 * about one row per message in this traffic (500k conversations, 100k senders: conversation_hourly,
 * conversation_senders, sender_hourly, sender_read_delays), so no single one dominates. Of the ~15
 * tables a batch writes, sender_read_rate (migration 3: per sender and hour, the uniqExact sets of
 * sent and read message ids) is the one nothing reads any more: the API and the dashboard read
 * sender_totals, sender_hourly and hourly_totals (migration 9); only its two views, hourly_volume and
 * sender_read_rate_total, remained, exact under a replay under any token. Those two views now read
 * `messages` (message_rows FINAL: one row per message whatever was replayed), with the same columns
 * and types; they scan the messages (as the seed's queries do) instead of the rollup, so nothing in
 * the service reads them: the two Grafana panels that did now read hourly_totals and sender_totals (the
 * rollups of migration 9: cheap, exact under the sink's replays under their tokens, but a message
 * inserted again under another token counts twice there — which these two views, kept exact for such
 * callers, must not). Dropping the table and its view saves ~10 % of the insert path and ~15–20 %
 * of the merges. No data moves: the views derive from message_rows, which already holds every message
 * and read. No materialized view is recreated, so a batch interrupted before this migration and
 * replayed after it is deduplicated by every remaining view as before (a recreated view would get a
 * new id, and ClickHouse deduplicates a replayed block per view id).
 *
 * Tried and not taken: dropping the by_sender projection (~−60 ms with its merges: a sender's recent
 * messages need a copy sorted by sender); one table instead of conversation_hourly + conversation_senders
 * (same key set in two orders, ~−40 ms insert and ~−40 ms merges, but the ranking needs the hour order
 * and the participants the conversation order, and it would recreate their views); LZ4 instead of
 * ZSTD(1) on messages_base's strings (137 vs 170 ms to insert 50k messages into a plain copy, but
 * 1.5× the bytes, and no gain within noise through the full schema when measured in migration 12).
 *
 * Beside this migration (not schema): message and view inserts leave rows of a block that share a
 * key to the merges (optimize_on_insert = 0, writes.ts: every table they reach is read folded).
 * Tried and reverted: running an insert's materialized views side by side (parallel_view_processing:
 * 1316 → 1027 ms of wall time per batch at load 7, same CPU). A crash could then leave any subset of a
 * batch's views written — its message rows without its message_index rows — and a read of such a
 * message was lost across a SIGKILL (wire.ts, insertSettings, says how).
 */
export const M13_LIGHTER_INSERTS: Migration = {
  version: 13,
  name: 'lighter_inserts',
  statements: [
    'DROP VIEW IF EXISTS $db.sender_read_rate_mv SYNC',
    // The two views of migration 3, same columns and types, now over `messages` (message_rows FINAL):
    // one row per message, whatever was replayed under whichever token.
    `CREATE OR REPLACE VIEW $db.hourly_volume AS
    SELECT toDateTime(toStartOfHour(created_at), 'UTC') AS hour, count() AS messages
    FROM $db.messages GROUP BY hour`,
    `CREATE OR REPLACE VIEW $db.sender_read_rate_total AS
    SELECT sender_id, count() AS sent, countIf(read_status = 'read') AS read_count,
           round(read_count * 100.0 / sent, 2) AS read_rate
    FROM $db.messages GROUP BY sender_id`,
    'DROP TABLE IF EXISTS $db.sender_read_rate SYNC',
  ],
};

/*
 * Two more copies slimmed (migration 15; 14 is the seed queries'). Same method and runs as above,
 * after migration 13 and the fold-on-merge inserts (load 8–10):
 *
 *   per batch, ms of CPU                                     insert path   merges
 *   migration 13                                                 548         443
 *   conversation_hourly without `senders`, by_sender narrowed     501         396
 *     (conversation_hourly's merges alone: 601 → 149 ms per 15 batches; message_index's 1260 → 1003)
 *   LZ4 instead of ZSTD(1) on the strings of messages_base and
 *     message_rows (not taken: messages_base's merges −34 ms per batch, message_rows' +27, more bytes)   549   421
 *
 *   - conversation_hourly.senders, a uniqExact state per conversation and hour, has been unread since
 *     migration 9 and unwritten since migration 12 (rows carry an empty state), but an
 *     AggregatingMergeTree still creates and merges a state per row: three quarters of that table's
 *     merge cost. Dropped (a one-time rewrite of the table's parts, no materialized view involved).
 *   - message_index's by_sender projection (migration 7) was a whole second copy of the index (6
 *     columns, among them the 16-byte read_key) sorted by sender and time. Only a sender's recent
 *     messages read it, and only to find ids: it now holds (sender_id, created_at, message_id), and
 *     senderMessages takes the page's ids from it and their other columns from message_index by
 *     primary key — one more index read: a sender's latest 50 took 19.3 ms against 12.9 ms with the
 *     whole copy (median of 30 senders on the same 1.5M messages, both projections present, load 11),
 *     a price in read time for ~25 ms of CPU per inserted batch.
 * Neither recreates a materialized view (a batch replayed across the upgrade is deduplicated as before).
 */
export const M15_SLIMMER_COPIES: Migration = {
  version: 15,
  name: 'slimmer_copies',
  statements: [
    'ALTER TABLE $db.conversation_hourly DROP COLUMN IF EXISTS senders',
    'ALTER TABLE $db.message_index DROP PROJECTION IF EXISTS by_sender',
    'ALTER TABLE $db.message_index ADD PROJECTION IF NOT EXISTS by_sender (SELECT sender_id, created_at, message_id ORDER BY sender_id, created_at)',
    'ALTER TABLE $db.message_index MATERIALIZE PROJECTION by_sender',
  ],
};

/*
 * messages_base's codecs (migration 16). Its strings and times were ZSTD(1) since migration 1; it is
 * the sink's insert target, sorted by conversation, read per conversation or per message (histories,
 * a message's content, the sink's store check), never scanned by the seed's queries (message_rows
 * is). Same method and run as above (load 11–13), per batch, ms of CPU:
 *
 *                                                      insert path   merges (messages_base's alone)
 *   migration 15                                           623        472 (1798 per 17 batches)
 *   messages_base's strings and created_at LZ4             594        441 (1139 per 17 batches)
 *
 * i.e. ~6 % of a batch (−29 ms inserting, −39 ms merging), against ~1.5× the bytes for these columns
 * (measured in migration 12's session). A codec change is metadata only: no mutation; old parts are
 * re-encoded when merges fold them anyway, new parts are LZ4.
 */
export const M16_BASE_CODECS: Migration = {
  version: 16,
  name: 'base_codecs',
  statements: [
    ...['message_id', 'conversation_id', 'sender_id', 'receiver_id', 'content', 'user_id'].map(
      (c) => `ALTER TABLE $db.messages_base MODIFY COLUMN ${c} CODEC(LZ4)`,
    ),
    'ALTER TABLE $db.messages_base MODIFY COLUMN created_at CODEC(Delta, LZ4)',
  ],
};

/*
 * A sender's page in one projection read again (migration 17). Migration 15's by_sender projection
 * (sender, time, id) made a sender's latest 50 look the page's other columns up in message_index by
 * id: 19.3 against 12.9 ms (1.5M messages, load 11) and 44 ms at 10M under load 9.5 — too close to the
 * 50 ms aim for ~3 % of a batch. Same method and run as above (3 + 10 batches, load ~10), per batch:
 *
 *   by_sender projection columns                         insert path   merges
 *   sender, time, id (migration 15)                          478         370
 *   + conversation_id, receiver_id (this migration)           470         383
 *   all six, with the 16-byte read_key (migrations 7–14)      450         397
 *
 * The page needs conversation_id, receiver_id and read_key; read_key is sipHash128(message_id,
 * receiver_id) by definition (messages_base), so it is computed at read time instead of stored twice:
 * the incompressible 16 bytes per row stay out of the projection, and the page is one projection read.
 */
export const M17_SENDER_PAGE_PROJECTION: Migration = {
  version: 17,
  name: 'sender_page_projection',
  statements: [
    'ALTER TABLE $db.message_index DROP PROJECTION IF EXISTS by_sender',
    `ALTER TABLE $db.message_index ADD PROJECTION IF NOT EXISTS by_sender
    (SELECT sender_id, created_at, message_id, conversation_id, receiver_id ORDER BY sender_id, created_at)`,
    'ALTER TABLE $db.message_index MATERIALIZE PROJECTION by_sender',
  ],
};

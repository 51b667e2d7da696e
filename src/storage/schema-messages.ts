import type { Migration } from './schema.ts';

/** Settings on every MergeTree we insert into: keep the last 1000 insert tokens for dedup. */
export const DEDUP = 'non_replicated_deduplication_window = 1000';

/** The insert's deduplication token, as SQL (materialized views record it to recognise a replay). */
export const INSERT_TOKEN = "getSetting('insert_deduplication_token')";

/**
 * A message batch (`m`) joined to its receivers' views that came before it (`e.first_read`: the
 * earliest per read_key), looking up early_views once per batch: the FROM of every materialized view
 * that writes a message with its read state on arrival (migrations 7, 9 and 12).
 */
export const EARLY_READS_JOIN = `    FROM $db.messages_base AS m
    LEFT JOIN (
      SELECT read_key, toNullable(min(viewed_at)) AS first_read FROM $db.early_views
      WHERE message_id IN (SELECT message_id FROM $db.messages_base)
      GROUP BY read_key
    ) AS e ON m.read_key = e.read_key`;

/**
 * Seconds after its last write at which a day of message_rows is merged into one part (migration 14):
 * how long a day that went quiet still costs FINAL work, against how often a day that keeps getting
 * late reads is rewritten. An operator may change it: ALTER TABLE message_rows MODIFY SETTING
 * min_age_to_force_merge_seconds = N.
 */
const FORCE_MERGE_AGE_S = 600;

/**
 * A message's row (sent = 1) or a read transition's patch (key + read_at; sender '') into
 * message_rows, from the one insert path's events (migrations 12 and 14).
 */
export const MESSAGE_ROWS_MV = `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.message_rows_mv TO $db.message_rows AS
    SELECT created_at, message_id, conversation_id, if(sent = 1, sender_id, '') AS sender_id, receiver_id,
           content, message_type, user_id, event_type, read_at
    FROM $db.message_events`;

/*
 * Messages at a hundred million rows — why `messages` reads `message_rows` FINAL (migration 7).
 *
 * Until migration 7, `messages` joined `messages_base` FINAL to every receipt at query time: correct,
 * but linear in the whole history on both sides (26 s / 45 s for the seed's two queries at 64M,
 * 8.3 s for one message's status through the view). Candidates measured on chDB (ClickHouse 26.7,
 * 2 shared vCPUs, load 3–8 from other builds), the seed's hourly / read-rate query in ms, a live
 * sink's parts (10k–100k-row inserts, no OPTIMIZE) — `npm run bench:storage` reruns the winner at
 * 1M/10M/100M, `npm run bench:sink -- --designs` the older candidates:
 *
 *                                                              1M           4M
 *   VIEW: base FINAL ⟕ all receipts (migrations 1–6)        358 / 490   2200 / 3600
 *   plain MergeTree scan, no read state (lower bound)         35 /  51    150 /  156
 *   VIEW over AggregatingMergeTree FINAL on the seed's key      —           17 s / 55 s at 64M unmerged,
 *     (conversation, time, id): every patch part overlaps      1.9 s / 6.7 s after OPTIMIZE
 *     every other part, so FINAL merges the whole table
 *   VIEW over AggregatingMergeTree FINAL, key (time, id),     85 / 102    130 / 367 (live parts)
 *     monthly partitions — a patch overlaps only recent parts             174 / 313 (after OPTIMIZE)
 *   same, ReplacingMergeTree(version) with full-row versions    —         214 / 989 (live parts)
 *     (a read must re-write the message's every column)
 *   MergeTree + batched lightweight UPDATE (bench:sink --designs) 20 / 80, but each UPDATE 0.8–1.5 s
 *   dictionary / Join engine holding every read key             in memory: grows with the history
 *
 * The winner: `message_rows`, an AggregatingMergeTree sorted by (created_at, message_id). Each message
 * is one row written when it arrives; a read is a small patch row (key + read_at) written when the
 * receiver's view arrives, and the engine folds the two (read_at: min, every other column: max, the
 * patch's '' never beating a value). `messages` is a VIEW over it read FINAL: because the key starts
 * with the time, new messages and their patches sort after (or among the last few minutes of) the
 * merged history, so only the recent, still-unmerged ranges are merged at query time and the rest is
 * read like a plain MergeTree (split_parts_ranges_into_intersecting_and_non_intersecting_final) —
 * measured within noise of the plain scan at 4M, where the seed's key was 10× slower unmerged. A read
 * rewrites nothing (a patch is ~30 bytes), no mutation ever runs, and the hourly query reads two
 * columns. The price: one more copy of each message (messages_base stays: the sink's insert target,
 * sorted by conversation for histories), and one lookup per view batch in message_index (by
 * primary key, as the rollup already did).
 *
 * The invariants, each enforced by the engine rather than by query-time joins:
 *   - one row per message: FINAL folds a message's row, its patches and any replayed copy (a replay
 *     under another dedup token: `max` of equal values is the value);
 *   - the receiver's first view sets read_status = 'read' and read_at: a patch is written only for a
 *     view whose reader is the message's receiver (read_key = sipHash128(message_id, receiver));
 *   - later or repeated views never move read_at (min);
 *   - a view that arrives before its message waits in early_views (migration 3: views whose message
 *     message_index did not know); the message's own row looks those up when it is written (a
 *     batch-sized lookup: in a materialized view the source table means the inserted block);
 *   - nothing is ever updated in place; every write is an idempotent insert, so retries, replays and
 *     the carry-over below may write a row twice without changing any result.
 * A view and its message must not be looked up at the same instant by two writers (each would miss
 * the other): in one process (chDB) statements run one at a time, and the clickhouse-sink runs its
 * message and view inserts one at a time on a server too; two sink processes on one server share
 * that window, as the rollup of migration 3 always did.
 */
export const M7_MESSAGE_ROWS: Migration = {
  version: 7,
  name: 'message_rows',
  statements: [
    `CREATE TABLE IF NOT EXISTS $db.message_rows (
      created_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
      message_id String CODEC(ZSTD(1)),
      conversation_id SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
      sender_id SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
      receiver_id SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
      content SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
      message_type SimpleAggregateFunction(max, LowCardinality(String)),
      user_id SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
      event_type SimpleAggregateFunction(max, LowCardinality(String)),
      read_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC')))
    )
    ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMM(created_at)
    ORDER BY (created_at, message_id)
    SETTINGS ${DEDUP}`,
    // The message's row, already read when its receiver's view came first (early_views).
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.message_rows_msg_mv TO $db.message_rows AS
    SELECT m.created_at AS created_at, m.message_id AS message_id, m.conversation_id AS conversation_id,
           m.sender_id AS sender_id, m.receiver_id AS receiver_id, m.content AS content,
           m.message_type AS message_type, m.user_id AS user_id, m.event_type AS event_type,
           e.first_read AS read_at
${EARLY_READS_JOIN}`,
    // One lookup of message_index per view batch, shared by everything a view feeds (migration 3 had
    // one per materialized view): a Null table carries each view with what the lookup found.
    `CREATE TABLE IF NOT EXISTS $db.view_lookups (
      message_id String,
      reader_id String,
      viewed_at DateTime64(3, 'UTC'),
      read_key FixedString(16),
      found Bool,
      by_receiver Bool,
      sender_id String,
      created_at DateTime64(3, 'UTC')
    )
    ENGINE = Null`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.view_lookups_mv TO $db.view_lookups AS
    SELECT v.message_id AS message_id, v.reader_id AS reader_id, v.viewed_at AS viewed_at,
           sipHash128(v.message_id, v.reader_id) AS read_key, i.message_id != '' AS found,
           i.read_key = sipHash128(v.message_id, v.reader_id) AS by_receiver,
           i.sender_id AS sender_id, i.created_at AS created_at
    FROM $db.message_views AS v
    LEFT JOIN (
      SELECT message_id, any(sender_id) AS sender_id, any(created_at) AS created_at, any(read_key) AS read_key
      FROM $db.message_index WHERE message_id IN (SELECT message_id FROM $db.message_views)
      GROUP BY message_id
    ) AS i ON v.message_id = i.message_id`,
    // A receiver's view of a stored message: a patch row (key + read_at).
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.message_rows_read_mv TO $db.message_rows AS
    SELECT created_at, message_id, toNullable(viewed_at) AS read_at
    FROM $db.view_lookups WHERE by_receiver`,
    // Migration 3's two view-side materialized views, now fed from the shared lookup.
    'DROP VIEW IF EXISTS $db.early_views_mv SYNC',
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.early_views_mv TO $db.early_views AS
    SELECT message_id, read_key, viewed_at FROM $db.view_lookups WHERE NOT found`,
    'DROP VIEW IF EXISTS $db.sender_read_rate_view_mv SYNC',
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.sender_read_rate_view_mv TO $db.sender_read_rate AS
    SELECT sender_id, toStartOfHour(created_at) AS hour,
           uniqExactStateIf(message_id, false) AS sent, uniqExactState(message_id) AS read
    FROM $db.view_lookups WHERE by_receiver
    GROUP BY sender_id, hour`,
    // Carry-over of an installation's data. The views above exist first, so a message or view written
    // meanwhile is in message_rows either way; writing one twice changes nothing (max/min).
    `INSERT INTO $db.message_rows
    SELECT m.created_at, m.message_id, m.conversation_id, m.sender_id, m.receiver_id, m.content,
           m.message_type, m.user_id, m.event_type, r.first_read
    FROM $db.messages_base AS m FINAL
    LEFT JOIN (
      SELECT read_key, toNullable(min(first_viewed_at)) AS first_read
      FROM $db.message_receipts GROUP BY read_key
    ) AS r ON m.read_key = r.read_key`,
    // A sender's recent messages: message_index (by id) gets a projection sorted by sender and time,
    // rebuilt when merges fold replayed copies of a message.
    `ALTER TABLE $db.message_index MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'`,
    'ALTER TABLE $db.message_index ADD PROJECTION IF NOT EXISTS by_sender (SELECT * ORDER BY sender_id, created_at)',
    'ALTER TABLE $db.message_index MATERIALIZE PROJECTION by_sender',
    `CREATE OR REPLACE VIEW $db.messages AS
    SELECT message_id, conversation_id, sender_id, receiver_id, content, created_at, message_type,
           user_id, event_type, if(read_at IS NULL, 'sent', 'read') AS read_status, read_at
    FROM $db.message_rows FINAL`,
  ],
};

/*
 * Where the seed queries' time goes at 100M, and why migration 10 changes only codecs.
 *
 * Measured on chDB 26.7 (2 shared vCPUs, load 6–11 from other builds), 100M messages as `bench:storage`
 * generates them (10 ms apart, 100k senders, 49 % read), the seed's two queries in s, 3 runs each:
 *
 *                                                                  hourly        read rate per sender
 *   plain MergeTree (created_at, message_id), no FINAL, codecs
 *     of migration 7: created_at Delta+ZSTD(1), Strings ZSTD(1)   2.5–8.5       3.4–12.7
 *     only reading created_at (sum of it)                         2.5–4.3
 *   the same rows, created_at Delta+LZ4, Strings LZ4               0.39–0.52     1.7–3.9
 *     only reading created_at                                     0.63–0.80
 *   sender_id LowCardinality(String) (100k senders: dictionaries
 *     overflow into per-granule ones)                                 —          26–51
 *   a worst case for FINAL, same run (load 11–15): message_rows' engine, 100M messages + 49M
 *     patches inserted 10M at a time, so every range intersects (17 and 27 parts)
 *       created_at Delta+LZ4, Strings LZ4 (migration 10)          4.0–15        15–17
 *       codecs of migration 7 (ZSTD)                              6.8–13.8      20–40
 *       plain MergeTree, LZ4, no FINAL (same run)                 0.54–1.2      11–15
 *
 * So at 100M the cost is the scan — decompressing ZSTD is ~5× slower than LZ4 for the 800 MB of
 * timestamps, and the GROUP BY over 100M String keys — plus FINAL on whatever ranges intersect. A live
 * sink's patches land within minutes of their message, so only the newest ranges intersect
 * (split_parts_ranges_into_intersecting_and_non_intersecting_final) and the merged history is read
 * like the plain table: the previous 100M run of bench:storage (4.0 s / 9.5 s on live parts, ZSTD)
 * sat inside the plain ZSTD scan's spread above. Migration 10 moves the columns the seed queries and
 * FINAL read (created_at, message_id, sender_id; read_at already LZ4) to LZ4: more disk (sender_id
 * 331 → 549 MiB per 100M, created_at 37 → 4 MiB for evenly spaced times), less CPU per scan. Other
 * columns stay ZSTD (read per message, not scanned). A codec change is metadata only: no mutation,
 * existing parts are re-encoded by the merges that fold them anyway, new parts are LZ4.
 *
 * What it does not reach: ≤ 1 s for the read-rate query at 100M. Pre-aggregation behind the verbatim
 * query would need an aggregate projection, and ClickHouse uses none for a FINAL read, nor on a table
 * with pending patch parts (lightweight UPDATE) — the two ways to keep one row per message while
 * reads arrive. Dashboards read rollups (schema-rollups.ts).
 */
export const M10_MESSAGE_ROWS_CODECS: Migration = {
  version: 10,
  name: 'message_rows_codecs',
  statements: [
    'ALTER TABLE $db.message_rows MODIFY COLUMN created_at CODEC(Delta, LZ4)',
    'ALTER TABLE $db.message_rows MODIFY COLUMN message_id CODEC(LZ4)',
    'ALTER TABLE $db.message_rows MODIFY COLUMN sender_id CODEC(LZ4)',
  ],
};

/*
 * The seed queries at a hundred million messages, and why migration 14 partitions message_rows by day.
 *
 * Measured on chDB 26.7 (2 vCPUs shared with three other engineers' builds, load 7–12), synthetic rows
 * in bench:storage's shape written straight into message_rows' engine with INSERT … SELECT FROM
 * numbers() (100k senders, 500k conversations, 10 ms apart, 48 % read by a patch row, 1 % read on
 * arrival), bulk-loaded 1M messages + their patches at a time, then a live tail (50k-message batches,
 * each followed by the previous batch's patches). Times are ms of process CPU (chDB runs in-process;
 * wall time on this machine moved 2× from run to run, CPU ~10 %), median of 3–5, merges stopped while
 * measuring, every candidate on the same rows in the same run:
 *
 *   10M messages, history merged, a 1M tail in 40 parts                 hourly    read rate per sender
 *     `messages` as today (message_rows FINAL, monthly partitions)      160–180   598–805
 *     the same rows by day (+/- do_not_merge_across_partitions_select_final)
 *                                                                        168–176   651–860
 *     view SETTINGS: no layers / no range split / no vertical final / one FINAL thread
 *                                                                        163–463   670–1480 (none better)
 *     read_status as Enum8 instead of String; countIf(read_at IS NOT NULL) instead
 *                                                                           —      590–776; 534–712
 *     the table without FINAL (a lower bound, wrong answers)              77–83    339–460
 *     … of which GROUP BY of 10M String senders alone                       —      275 (numeric hash key 228)
 *     sender_id LowCardinality(String), no FINAL: 100k senders overflow the dictionary merges write
 *       (its size is a query setting merges do not see) into per-granule ones  —  1129–1229
 *     an aggregate projection (sender, count, countIf): never used under FINAL (EXPLAIN), nor can the
 *       view drop FINAL: patch rows and replayed copies are separate rows until merged
 *   one fully merged part: FINAL = the plain scan (76 / 76 ms): FINAL costs only where parts overlap.
 *
 *   100M messages, history as background merges left it (6 parts), the last day in 2–5 parts
 *     monthly (today)                                                   3281      11362
 *     by day, each older day merged into one part (this migration)       899       4990
 *     the table without FINAL (lower bound)                               816       3271
 *
 * Where FINAL's time goes: overlapping ranges are merged row by row at query time (roughly 20× a
 * plain scan's cost per row), and merges leave overlaps where they cut between a batch of messages
 * and the later batch that holds their read patches. Background merges join parts of similar size, so
 * in one monthly partition the boundaries between big parts stay for weeks (here 4× the plain scan
 * for the hourly query after all the merges that ran). Partitioned by day, a day stops being written once its messages'
 * receivers have read them, and `min_age_to_force_merge_seconds` (with `…_on_partition_only`) then
 * merges the whole day into one part: FINAL works only on today (and on a day while a late read of
 * it is fresh), within 10 % of the plain scan for the hourly query. The price: a late read rewrites its
 * day's part once more, at most once per FORCE_MERGE_AGE_S (a day of bench traffic is ~300 MB), and
 * ~365 partitions a year; an insert may now touch more than 100 of them (chdb.ts lifts that limit per
 * insert; a clickhouse-server needs max_partitions_per_insert_block = 0 in the sink user's profile).
 *
 * Not reached: the read rate per sender ≤ 1 s at 100M. With every older day in one part, the verbatim
 * query costs 4.9 s of CPU: 3.9 s to group 100M rows and their read_at by a String sender — as much
 * as on the table without FINAL — and 1.0 s to build the view's read_status strings (an Enum8 would
 * save part of that, but is not the seed's String type); ClickHouse groups by a view's column
 * as it is (an injective dictGet over a numeric key is not rewritten through the view: 84 s at 10M),
 * and pre-aggregation behind a verbatim query would need a projection, which FINAL rules out.
 *
 * Invariants: the table, its key, columns, codecs, engine and materialized view are those of
 * migrations 7, 10 and 12; a message's row and its patches share created_at, so they share a day and
 * still fold. Carry-over: the raw rows are copied (100M messages took 13 min at load 10, once, at
 * start-up) before the old table is dropped; the statements re-run cleanly from any point.
 */
export const M14_MESSAGE_ROWS_DAILY: Migration = {
  version: 14,
  name: 'message_rows_daily',
  statements: [
    `CREATE TABLE IF NOT EXISTS $db.message_rows_daily (
      created_at DateTime64(3, 'UTC') CODEC(Delta, LZ4),
      message_id String CODEC(LZ4),
      conversation_id SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
      sender_id SimpleAggregateFunction(max, String) CODEC(LZ4),
      receiver_id SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
      content SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
      message_type SimpleAggregateFunction(max, LowCardinality(String)),
      user_id SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
      event_type SimpleAggregateFunction(max, LowCardinality(String)),
      read_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC')))
    )
    ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMMDD(created_at)
    ORDER BY (created_at, message_id)
    SETTINGS ${DEDUP}, min_age_to_force_merge_seconds = ${FORCE_MERGE_AGE_S},
      min_age_to_force_merge_on_partition_only = 1`,
    // Nothing writes the old table from here on (migrations run before the sink starts).
    'DROP VIEW IF EXISTS $db.message_rows_mv SYNC',
    // The carry-over: raw rows (a message's row, its patches, replayed copies), folded as before by
    // FINAL and merges. Read through merge() so that a re-run after the old table was dropped copies
    // nothing instead of failing; a re-run before that copies again, which changes nothing (max/min).
    `INSERT INTO $db.message_rows_daily
    SELECT created_at, message_id, conversation_id, sender_id, receiver_id, content, message_type, user_id,
           event_type, read_at
    FROM merge('$db', '^message_rows(_daily)?$') WHERE _table = 'message_rows'
    SETTINGS max_partitions_per_insert_block = 0`,
    'DROP TABLE IF EXISTS $db.message_rows SYNC',
    'RENAME TABLE $db.message_rows_daily TO $db.message_rows',
    MESSAGE_ROWS_MV,
  ],
};

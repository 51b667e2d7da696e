import type { Migration } from './schema.ts';
import { DEDUP, EARLY_READS_JOIN, INSERT_TOKEN as TOKEN } from './schema-messages.ts';

/*
 * Hourly rollups for the dashboard's charts over long ranges (the dashboard's budget: every call a
 * page makes < 300 ms with 1M messages over 24 h, README "Dashboard"). Filled at insert by materialized views on
 * messages_base; reads take the whole hours of a range from here and only the partial hours at its
 * edges from message_rows (aggregate-reads.ts, insight-reads.ts), so a 24-hour range reads ~24 × conversations rollup rows
 * instead of every message.
 *
 * conversation_hourly: per conversation and hour of the message — messages (a count), senders (the
 * distinct senders as a uniqExact state: a conversation has a few), the last message's time. The
 * conversations ranked by volume sum its counts. (At this migration the hourly volume and the heatmap
 * merged it too, and stats/summary read message_rows; since migration 9 below they read hourly_totals
 * and minute_totals, a ranking's participants come from conversation_senders, and the `senders`
 * states here are written but no longer read; migration 15 drops the column.)
 *
 * Why counts and not uniqExact states of message ids (as sender_read_rate): measured on chDB with 1M
 * messages over 24 h (20k conversations), ranking the conversations of the whole range took ~60 ms
 * from counts (and sender states), 250 ms merging id states (the states hold every id: merging them is a scan of the
 * history again), 400 ms from the raw rows. The price: a count is exact only if each message is
 * inserted once into messages_base — which is what the clickhouse-sink guarantees, as for user_stats
 * (migration 5): a replayed offset range is skipped, an interrupted one re-inserted under its dedup
 * token, and ClickHouse then drops the block in messages_base and, with
 * deduplicate_blocks_in_dependent_materialized_views, in this table too (it keeps the last 1000
 * insert tokens, DEDUP). A message inserted again under another token (by hand, or two processes
 * inserting one message) counts twice here while `messages` still shows it once. Read-state numbers
 * (read rate, time to read) are not rolled up: a read arrives later, by views that may repeat.
 *
 * The carry-over of an installation's messages runs after the views exist, at start-up before any
 * writer (migrations run before the sink starts).
 */
export const M8_HOURLY_ROLLUPS: Migration = {
  version: 8,
  name: 'hourly_rollups',
  statements: [
    `CREATE TABLE IF NOT EXISTS $db.conversation_hourly (
      hour DateTime('UTC'),
      conversation_id String,
      messages SimpleAggregateFunction(sum, UInt64),
      senders AggregateFunction(uniqExact, String),
      last_message_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
    )
    ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMM(hour)
    ORDER BY (hour, conversation_id)
    SETTINGS ${DEDUP}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.conversation_hourly_mv TO $db.conversation_hourly AS
    SELECT toStartOfHour(created_at) AS hour, conversation_id, toUInt64(count()) AS messages,
           uniqExactState(sender_id) AS senders, max(created_at) AS last_message_at
    FROM $db.messages_base WHERE sender_id != '' GROUP BY hour, conversation_id`,
    `INSERT INTO $db.conversation_hourly
    SELECT toStartOfHour(created_at) AS hour, conversation_id, toUInt64(count()),
           uniqExactState(sender_id), max(created_at)
    FROM $db.message_rows FINAL WHERE sender_id != '' GROUP BY hour, conversation_id`,
  ],
};

/*
 * Read state rolled up at insert (migration 9): per hour, per sender and hour, per sender —
 * so that stats/summary, stats/senders, the volume chart and the heatmap never scan the messages of
 * their range (only the partial hours at its edges, as above).
 *
 * A message counts as read once: when its receiver's first view meets it. That moment is seen on one
 * of two paths, and each emits one row into the Null table rollup_events, which three tables sum up:
 *   - the message path (messages_base): every message is one `sent` row; it is read on arrival when
 *     its receiver's view came first (early_views, as message_rows_msg_mv finds it);
 *   - the view path (view_lookups: views by the receiver of a stored message): the batch's earliest
 *     view per message is compared with the read already recorded in message_first_reads (the read
 *     transitions so far, one row each): none → a new read; an earlier view than the one recorded
 *     (views may arrive out of order) → read_at moves back (`prev_read_at`: the time it replaces);
 *     otherwise nothing. Later, duplicate or replayed views find their read recorded and add nothing;
 *     views by anyone else never reach view_lookups' by_receiver.
 * message_first_reads is written from rollup_events too, so the lookup of a batch never sees the
 * batch's own transitions, whatever order the materialized views run in. Exactly once under the
 * sink's dedup token: a batch inserted again under its token is dropped by every table that has it
 * (deduplicate_blocks_in_dependent_materialized_views); and because each transition row carries its
 * insert's token (getSetting('insert_deduplication_token')), a replay after a crash that stored the
 * batch's transitions but not all of its sums does not take those transitions for earlier reads: the
 * lookup ignores rows of the current token (a write without a token never matches: it is a duplicate,
 * not a replay). A message inserted again under ANOTHER token counts twice (as in conversation_hourly);
 * a view inserted again under another token adds nothing.
 *
 * Sums kept (each an AggregatingMergeTree; rows merge, readers sum):
 *   - hourly_totals, per hour of the message: messages, reads, the distinct conversations and senders
 *     (the summary's "active conversations / senders" over any whole hours) as arrays of their 64-bit
 *     sipHash — exact up to a hash collision (~n²/2^65 for n ids: 3·10⁻⁶ at 10M). uniqExact states
 *     hold the same sets but cost ~18 ms of CPU to deserialise and merge for 23 hours of 20k
 *     conversations, the arrays ~4;
 *   - minute_totals, per minute of the message: messages, reads — the volume chart's minute
 *     buckets, and the read count of a range's partial hours (the default range, the last hour, is
 *     never whole hours), so that only its partial minutes are read FINAL from message_rows. No
 *     distinct states per minute: merging 60 of them cost more than reading the hour's rows without
 *     FINAL (distinct ids, conversations and senders need no FINAL: a read patch has no sender);
 *   - sender_hourly, per hour and sender: sent, read (ranking the senders of a range reads these two
 *     numbers only);
 *   - sender_read_delays, per sender and hour (sorted by sender: the delays of the few senders shown
 *     are a primary-key read): the time to read of every read message as a map delay_ms → count
 *     (sumMap; a read moved back subtracts its old delay), so the exact median and p90
 *     (quantileExact's ⌊level·n⌋-th value) come from the map — merging the maps of every sender of a
 *     24-hour range took ~190 ms on 1M messages, the 20 shown a few ms;
 *   - sender_totals, per sender over all time: sent, read (the seed's read-rate query as data, and a
 *     user's read rate).
 *   - conversation_senders, per conversation and hour, sorted by conversation (index granularity 256):
 *     the distinct senders as a plain array and the last message's time — a ranking sums the range's
 *     counts (conversation_hourly), then reads the participants of the page's conversations only, by
 *     primary key. (conversation_hourly's uniqExact states cost ~20 ms of CPU to deserialise for the
 *     granules of 50 conversations, even through a projection sorted by conversation; arrays of a
 *     conversation's few senders do not.)
 * Time to read = greatest(read_at − created_at, 0), in ms, as insight-reads computes it raw.
 * Retention: hourly_totals, minute_totals, sender_hourly, sender_read_delays and message_first_reads follow
 * RETENTION_MESSAGES_DAYS (as message_rows); sender_totals is all-time, like user_stats.
 *
 * The carry-over writes message_first_reads and the three sums from message_rows FINAL, after the
 * views exist, at start-up before any writer.
 */
const delayMs = (readAt: string) =>
  `toUInt64(greatest(toUnixTimestamp64Milli(${readAt}) - toUnixTimestamp64Milli(created_at), 0))`;

export const M9_READ_ROLLUPS: Migration = {
  version: 9,
  name: 'read_rollups',
  statements: [
    `CREATE TABLE IF NOT EXISTS $db.message_first_reads (
      message_id String,
      created_at DateTime64(3, 'UTC'),
      read_at DateTime64(3, 'UTC'),
      insert_token String CODEC(ZSTD(1))
    )
    ENGINE = MergeTree
    ORDER BY message_id
    SETTINGS index_granularity = 256, ${DEDUP}`,
    `CREATE TABLE IF NOT EXISTS $db.hourly_totals (
      hour DateTime('UTC'),
      messages SimpleAggregateFunction(sum, UInt64),
      reads SimpleAggregateFunction(sum, UInt64),
      conversations SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
      senders SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64))
    )
    ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMM(hour)
    ORDER BY hour
    SETTINGS ${DEDUP}`,
    `CREATE TABLE IF NOT EXISTS $db.minute_totals (
      minute DateTime('UTC'),
      messages SimpleAggregateFunction(sum, UInt64),
      reads SimpleAggregateFunction(sum, UInt64)
    )
    ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMM(minute)
    ORDER BY minute
    SETTINGS ${DEDUP}`,
    `CREATE TABLE IF NOT EXISTS $db.sender_hourly (
      hour DateTime('UTC'),
      sender_id String,
      sent SimpleAggregateFunction(sum, UInt64),
      reads SimpleAggregateFunction(sum, UInt64)
    )
    ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMM(hour)
    ORDER BY (hour, sender_id)
    SETTINGS ${DEDUP}`,
    `CREATE TABLE IF NOT EXISTS $db.sender_read_delays (
      sender_id String,
      hour DateTime('UTC'),
      read_delays SimpleAggregateFunction(sumMap, Tuple(Array(UInt64), Array(Int64)))
    )
    ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMM(hour)
    ORDER BY (sender_id, hour)
    SETTINGS ${DEDUP}`,
    `CREATE TABLE IF NOT EXISTS $db.sender_totals (
      sender_id String,
      sent SimpleAggregateFunction(sum, UInt64),
      reads SimpleAggregateFunction(sum, UInt64)
    )
    ENGINE = AggregatingMergeTree
    ORDER BY sender_id
    SETTINGS ${DEDUP}`,
    `CREATE TABLE IF NOT EXISTS $db.conversation_senders (
      conversation_id String,
      hour DateTime('UTC'),
      senders SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
      last_message_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
    )
    ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMM(hour)
    ORDER BY (conversation_id, hour)
    SETTINGS index_granularity = 256, ${DEDUP}`,
    // One row per message (sent = 1) or per read transition (sent = 0); read_at: the message's read
    // time from now on (NULL: unread), prev_read_at: the read time it replaces (NULL: a new read).
    `CREATE TABLE IF NOT EXISTS $db.rollup_events (
      message_id String,
      created_at DateTime64(3, 'UTC'),
      conversation_id String,
      sender_id String,
      sent UInt8,
      read_at Nullable(DateTime64(3, 'UTC')),
      prev_read_at Nullable(DateTime64(3, 'UTC')),
      insert_token String
    )
    ENGINE = Null`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.rollup_events_msg_mv TO $db.rollup_events AS
    SELECT m.message_id AS message_id, m.created_at AS created_at, m.conversation_id AS conversation_id,
           m.sender_id AS sender_id, toUInt8(1) AS sent, e.first_read AS read_at,
           CAST(NULL AS Nullable(DateTime64(3, 'UTC'))) AS prev_read_at, ${TOKEN} AS insert_token
${EARLY_READS_JOIN}
    WHERE m.sender_id != ''`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.rollup_events_view_mv TO $db.rollup_events AS
    SELECT v.message_id AS message_id, v.created AS created_at, '' AS conversation_id,
           v.sender AS sender_id, toUInt8(0) AS sent, toNullable(v.first_view) AS read_at,
           p.recorded AS prev_read_at, ${TOKEN} AS insert_token
    FROM (
      SELECT message_id, any(created_at) AS created, any(sender_id) AS sender, min(viewed_at) AS first_view
      FROM $db.view_lookups WHERE by_receiver AND sender_id != '' GROUP BY message_id
    ) AS v
    LEFT JOIN (
      SELECT message_id, toNullable(min(read_at)) AS recorded FROM $db.message_first_reads
      WHERE message_id IN (SELECT message_id FROM $db.view_lookups WHERE by_receiver)
        AND (insert_token != ${TOKEN} OR ${TOKEN} = '')
      GROUP BY message_id
    ) AS p ON v.message_id = p.message_id
    WHERE p.recorded IS NULL OR v.first_view < p.recorded`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.message_first_reads_mv TO $db.message_first_reads AS
    SELECT message_id, created_at, assumeNotNull(first_read) AS read_at, insert_token
    FROM (SELECT message_id, created_at, read_at AS first_read, insert_token FROM $db.rollup_events)
    WHERE first_read IS NOT NULL`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.hourly_totals_mv TO $db.hourly_totals AS
    SELECT toStartOfHour(created_at) AS hour, toUInt64(sum(sent)) AS messages,
           toUInt64(countIf(read_at IS NOT NULL AND prev_read_at IS NULL)) AS reads,
           groupUniqArrayIf(sipHash64(conversation_id), sent = 1) AS conversations,
           groupUniqArrayIf(sipHash64(sender_id), sent = 1) AS senders
    FROM $db.rollup_events GROUP BY hour`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.minute_totals_mv TO $db.minute_totals AS
    SELECT toStartOfMinute(created_at) AS minute, toUInt64(sum(sent)) AS messages,
           toUInt64(countIf(read_at IS NOT NULL AND prev_read_at IS NULL)) AS reads
    FROM $db.rollup_events GROUP BY minute`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.sender_hourly_mv TO $db.sender_hourly AS
    SELECT toStartOfHour(created_at) AS hour, sender_id, toUInt64(sum(sent)) AS sent,
           toUInt64(countIf(read_at IS NOT NULL AND prev_read_at IS NULL)) AS reads
    FROM $db.rollup_events GROUP BY hour, sender_id`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.sender_read_delays_mv TO $db.sender_read_delays AS
    SELECT sender_id, toStartOfHour(created_at) AS hour,
           sumMap(
             arrayConcat(if(read_at IS NULL, [], [${delayMs('assumeNotNull(read_at)')}]),
                         if(prev_read_at IS NULL, [], [${delayMs('assumeNotNull(prev_read_at)')}])),
             arrayConcat(if(read_at IS NULL, [], [toInt64(1)]), if(prev_read_at IS NULL, [], [toInt64(-1)]))
           ) AS read_delays
    FROM $db.rollup_events WHERE read_at IS NOT NULL GROUP BY sender_id, hour`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.sender_totals_mv TO $db.sender_totals AS
    SELECT sender_id, toUInt64(sum(sent)) AS sent,
           toUInt64(countIf(read_at IS NOT NULL AND prev_read_at IS NULL)) AS reads
    FROM $db.rollup_events GROUP BY sender_id`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS $db.conversation_senders_mv TO $db.conversation_senders AS
    SELECT conversation_id, toStartOfHour(created_at) AS hour, groupUniqArray(sender_id) AS senders,
           max(created_at) AS last_message_at
    FROM $db.rollup_events WHERE sent = 1 GROUP BY conversation_id, hour`,
    // Carry-over: each stored message as the message path would have seen it with its read known.
    `INSERT INTO $db.rollup_events
    SELECT message_id, created_at, conversation_id, sender_id, 1, read_at, NULL, ''
    FROM $db.message_rows FINAL WHERE sender_id != ''`,
  ],
};

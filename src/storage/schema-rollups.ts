import type { Migration } from './schema.ts';
import { DEDUP } from './schema-messages.ts';

/*
 * Hourly rollups for the dashboard's charts over long ranges (issue 13; the budget of issue 10: every
 * call a page makes < 300 ms with 1M messages over 24 h). Filled at insert by materialized views on
 * messages_base; reads take the whole hours of a range from here and only the partial hours at its
 * edges from message_rows (api-reads.ts), so a 24-hour range reads ~24 × conversations rollup rows
 * instead of every message.
 *
 * conversation_hourly: per conversation and hour of the message — messages (a count), senders (the
 * distinct senders as a uniqExact state: a conversation has a few), the last message's time. Hourly
 * volume, the day × hour heatmap (messages, distinct senders) and the conversations ranked by volume
 * are sums and merges of it. No per-sender table: what the dashboard reads per sender is read rate and
 * time to read (below), and stats/summary keeps its one pass over message_rows — its read count needs
 * that range anyway, and taking its other three numbers from here measured no faster (1M messages,
 * 24 h: 168 ms before, 187 ms after, under load).
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

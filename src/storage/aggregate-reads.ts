import type { TimeRange } from './api-reads.ts';
import {
  ALL_MINUTES,
  EDGE_MINUTES,
  EDGES,
  HOUR_MS,
  HOURS,
  MINUTE_MS,
  RAW_EDGES,
  splitByHour,
  splitByMinute,
} from './hourly-split.ts';
import { checkDatabaseName } from './migrations.ts';
import type { ClickHouse } from './port.ts';

/**
 * The REST API's aggregate reads — conversations ranked by volume or peaks, volume over time, read
 * rates per sender, a user's totals, the activity heatmap — each from the rollups kept at insert
 * (schema-rollups.ts): the whole hours (or minutes) of a range from a rollup, only the partial hours
 * (or minutes) at its edges from message_rows. Values go in as `{name:Type}` parameters, times in and
 * out as epoch milliseconds (see api-reads.ts).
 */

const ms = (column: string) => `toUnixTimestamp64Milli(${column})`;
const at = (param: string) => `fromUnixTimestamp64Milli({${param}:Int64}, 'UTC')`;
const num = (v: unknown) => Number(v);
/**
 * message_rows read without FINAL (sorted by created_at, so a range reads its own granules, not the
 * history): each message once, plus a patch row per read whose other columns are ''. Counting
 * distinct ids needs no filter; anything grouped by a message's column keeps message rows only.
 */
const MESSAGE_ROW = "sender_id != ''";

export interface ConversationSummary {
  conversation_id: string;
  messages: number;
  participants: number;
  peaks: number;
  last_message_at: number | null;
}

/**
 * Conversations ranked by volume (distinct messages in the range: the whole hours from
 * conversation_hourly, the edges from message_rows; participants and last message of the page's
 * conversations only) or by peaks (peak windows in the range), `offset` rows skipped.
 */
export async function rankedConversations(
  ch: ClickHouse,
  options: TimeRange & { sort: 'volume' | 'peaks'; limit: number; offset: number },
  database = 'message_db',
): Promise<ConversationSummary[]> {
  const db = checkDatabaseName(database);
  const params = { ...splitByHour(options), n: options.limit, o: options.offset };
  if (options.sort === 'peaks') {
    return summaries(
      await ch.query<Record<string, unknown>>(
        `SELECT conversation_id, toUInt64(sum(message_count)) AS messages,
                toUInt64(max(participant_count)) AS participants, countIf(is_peak) AS peaks,
                ${ms('max(window_end)')} AS last_message_at
         FROM ${db}.conversation_metrics FINAL
         WHERE window_start >= ${at('from')} AND window_start < ${at('to')}
         GROUP BY conversation_id HAVING peaks > 0
         ORDER BY peaks DESC, conversation_id LIMIT {n:UInt32} OFFSET {o:UInt64}`,
        params,
      ),
    );
  }
  // By volume, in two reads: the page's conversations ranked by their counts alone
  // (conversation_hourly), then the participants and last message of just those (conversation_senders,
  // sorted by conversation: a primary-key read). Merging the sender states of every conversation in
  // the range cost ~75 ms of CPU over 24 h of 1M messages in 20k conversations.
  const ranked = await ch.query<{ conversation_id: string; messages: string | number }>(
    `SELECT conversation_id, sum(m) AS messages FROM (
       SELECT conversation_id, messages AS m FROM ${db}.conversation_hourly WHERE ${HOURS}
       UNION ALL
       SELECT conversation_id, toUInt64(uniqExact(message_id)) FROM ${db}.message_rows
       WHERE ${EDGES} AND ${MESSAGE_ROW} GROUP BY conversation_id
     )
     GROUP BY conversation_id ORDER BY messages DESC, conversation_id LIMIT {n:UInt32} OFFSET {o:UInt64}`,
    params,
  );
  if (ranked.length === 0) return [];
  const rest = await ch.query<Record<string, unknown>>(
    `SELECT conversation_id, length(groupUniqArrayArray(s)) AS participants, ${ms('max(l)')} AS last_message_at
     FROM (
       SELECT conversation_id, senders AS s, last_message_at AS l FROM ${db}.conversation_senders
       WHERE conversation_id IN {ids:Array(String)} AND ${HOURS}
       UNION ALL
       SELECT conversation_id, groupUniqArray(toString(sender_id)), max(created_at) FROM ${db}.message_rows
       WHERE ${EDGES} AND ${MESSAGE_ROW} AND conversation_id IN {ids:Array(String)} GROUP BY conversation_id
     )
     GROUP BY conversation_id`,
    { ...params, ids: ranked.map((r) => r.conversation_id) },
  );
  const by = new Map(rest.map((r) => [String(r.conversation_id), r]));
  return summaries(ranked.map((r) => ({ ...by.get(r.conversation_id), ...r, peaks: 0 })));
}

function summaries(rows: Record<string, unknown>[]): ConversationSummary[] {
  return rows.map((r) => ({
    conversation_id: String(r.conversation_id),
    messages: num(r.messages),
    participants: num(r.participants),
    peaks: num(r.peaks),
    last_message_at: r.last_message_at === null ? null : num(r.last_message_at),
  }));
}

/**
 * Messages per bucket of `stepMs` (epoch-aligned, UTC) in [from, to): the seed's hourly query as data.
 * With a step of whole hours: the whole hours from hourly_totals, the whole minutes of the partial
 * hours from minute_totals; with a step of whole minutes: every whole minute from minute_totals; only
 * the partial minutes at the edges from message_rows (sorted by time: a range reads its own
 * granules). Any other step reads message_rows.
 */
export async function messageVolume(
  ch: ClickHouse,
  options: TimeRange & { stepMs: number },
  database = 'message_db',
): Promise<{ start: number; messages: number }[]> {
  const db = checkDatabaseName(database);
  const minutes = (where: string) =>
    `SELECT ${ms('toDateTime64(minute, 3)')} AS t, messages AS m FROM ${db}.minute_totals WHERE ${where}`;
  const rollup =
    options.stepMs % HOUR_MS === 0
      ? `SELECT ${ms('toDateTime64(hour, 3)')} AS t, messages AS m FROM ${db}.hourly_totals WHERE ${HOURS}
         UNION ALL ${minutes(EDGE_MINUTES)}`
      : minutes(ALL_MINUTES);
  const split =
    options.stepMs % MINUTE_MS === 0
      ? splitByMinute(options)
      : splitByMinute({ ...options, from: options.to });
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT intDiv(t, {step:Int64}) * {step:Int64} AS start, sum(m) AS messages
     FROM (
       ${rollup}
       UNION ALL
       SELECT intDiv(${ms('created_at')}, {step:Int64}) * {step:Int64} AS t, toUInt64(uniqExact(message_id)) AS m
       FROM ${db}.message_rows WHERE ${RAW_EDGES} GROUP BY t
     )
     GROUP BY start ORDER BY start`,
    { ...split, from: options.from, step: options.stepMs },
  );
  return rows.map((r) => ({ start: num(r.start), messages: num(r.messages) }));
}

export interface SenderReadRate {
  sender_id: string;
  sent: number;
  read_count: number;
  read_rate: number;
}

/**
 * The seed's read-rate query as data (all time, from the sender_totals rollup: a row per sender),
 * most active senders first.
 */
export async function senderReadRates(
  ch: ClickHouse,
  options: { limit: number; offset: number; senderId?: string },
  database = 'message_db',
): Promise<SenderReadRate[]> {
  const db = checkDatabaseName(database);
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT sender_id, sum(sent) AS sent, sum(reads) AS read_count,
            if(sent = 0, 0, round(read_count * 100.0 / sent, 2)) AS read_rate
     FROM ${db}.sender_totals ${options.senderId === undefined ? '' : 'WHERE sender_id = {s:String}'}
     GROUP BY sender_id ORDER BY sent DESC, sender_id LIMIT {n:UInt32} OFFSET {o:UInt64}`,
    {
      n: options.limit,
      o: options.offset,
      ...(options.senderId === undefined ? {} : { s: options.senderId }),
    },
  );
  return rows.map((r) => ({
    sender_id: String(r.sender_id),
    sent: num(r.sent),
    read_count: num(r.read_count),
    read_rate: num(r.read_rate),
  }));
}

export interface UserStats {
  user_id: string;
  messages_sent: number;
  messages_received: number;
  reads: number;
  active_windows: number;
  first_seen: number | null;
  last_seen: number | null;
  read_rate: number | null;
}

/**
 * A user's totals: user_stats (written by the user-activity processor) and the read rate of what they
 * sent (rollup). Undefined when neither knows the user.
 */
export async function userStats(
  ch: ClickHouse,
  userId: string,
  database = 'message_db',
): Promise<UserStats | undefined> {
  const db = checkDatabaseName(database);
  const [stats] = await ch.query<Record<string, unknown>>(
    `SELECT sum(messages_sent) AS sent, sum(messages_received) AS received, sum(reads) AS reads,
            sum(active_windows) AS windows, ${ms('min(first_seen)')} AS first_seen_ms, ${ms('max(last_seen)')} AS last_seen_ms
     FROM ${db}.user_stats WHERE user_id = {u:String} GROUP BY user_id`,
    { u: userId },
  );
  const [rate] = await senderReadRates(ch, { limit: 1, offset: 0, senderId: userId }, db);
  if (stats === undefined && rate === undefined) return undefined;
  return {
    user_id: userId,
    messages_sent: stats === undefined ? (rate?.sent ?? 0) : num(stats.sent),
    messages_received: stats === undefined ? 0 : num(stats.received),
    reads: stats === undefined ? 0 : num(stats.reads),
    active_windows: stats === undefined ? 0 : num(stats.windows),
    first_seen: stats === undefined ? null : num(stats.first_seen_ms),
    last_seen: stats === undefined ? null : num(stats.last_seen_ms),
    read_rate: rate?.read_rate ?? null,
  };
}

/**
 * Messages and distinct senders per UTC day × hour of the day in [from, to): a heatmap's cells (whole
 * hours from hourly_totals, the partial hours from message_rows: distinct ids and senders of the
 * message rows, no FINAL needed).
 */
export async function activityHeatmap(
  ch: ClickHouse,
  range: TimeRange,
  database = 'message_db',
): Promise<{ day: string; hour: number; messages: number; active_users: number }[]> {
  const db = checkDatabaseName(database);
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT toString(toDate(h)) AS day, toHour(h) AS hour, sum(m) AS messages,
            length(groupUniqArrayArray(s)) AS active_users
     FROM (
       SELECT hour AS h, messages AS m, senders AS s FROM ${db}.hourly_totals WHERE ${HOURS}
       UNION ALL
       SELECT toStartOfHour(toDateTime(created_at, 'UTC')) AS h, toUInt64(uniqExact(message_id)),
              groupUniqArray(sipHash64(sender_id))
       FROM ${db}.message_rows WHERE ${EDGES} AND ${MESSAGE_ROW} GROUP BY h
     )
     GROUP BY day, hour ORDER BY day, hour`,
    splitByHour(range),
  );
  return rows.map((r) => ({
    day: String(r.day),
    hour: num(r.hour),
    messages: num(r.messages),
    active_users: num(r.active_users),
  }));
}

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
import { type MessageStatus, messageStatus } from './reads.ts';

/**
 * The reads behind the REST API. Every value from a request is a `{name:Type}` parameter; the only
 * identifier spliced into SQL is the database name (checked). Times go in and out as epoch
 * milliseconds (`fromUnixTimestamp64Milli` / `toUnixTimestamp64Milli`), so no text format of a
 * DateTime64 is ever parsed. Pages are at most `limit` rows; a page that is full returns the key of
 * its last row for the next one (keyset pagination), or the next offset for ranked lists.
 */

/** [from, to) in epoch ms. */
export interface TimeRange {
  readonly from: number;
  readonly to: number;
}

const ms = (column: string) => `toUnixTimestamp64Milli(${column})`;
const at = (param: string) => `fromUnixTimestamp64Milli({${param}:Int64}, 'UTC')`;
const num = (v: unknown) => Number(v);
/**
 * Reads by time range use message_rows (sorted by created_at, so a range reads its own granules, not
 * the history): each message once, plus a patch row per read whose other columns are ''. Counting
 * distinct ids needs no filter; anything grouped by a message's column keeps message rows only.
 */
const MESSAGE_ROW = "sender_id != ''";

export interface StoredMessage extends MessageStatus {
  content: string;
  message_type: string;
  user_id: string;
  event_type: string;
}

/**
 * One message by id with its delivery state: a primary-key lookup in message_index, then one in
 * messages_base by its sort key (conversation, time, id) — never a scan.
 */
export async function messageById(
  ch: ClickHouse,
  messageId: string,
  database = 'message_db',
): Promise<StoredMessage | undefined> {
  const db = checkDatabaseName(database);
  const [status] = await messageStatus(ch, [messageId], db);
  if (status === undefined) return undefined;
  const [row] = await ch.query<{
    content: string;
    message_type: string;
    user_id: string;
    event_type: string;
  }>(
    `SELECT content, message_type, user_id, event_type FROM ${db}.messages_base
     WHERE conversation_id = {c:String} AND created_at = ${at('t')} AND message_id = {id:String} LIMIT 1`,
    { c: status.conversation_id, t: status.created_at, id: messageId },
  );
  return {
    ...status,
    content: row?.content ?? '',
    message_type: row?.message_type ?? 'text',
    user_id: row?.user_id || status.sender_id,
    event_type: row?.event_type ?? 'message_sent',
  };
}

export interface HistoryMessage {
  message_id: string;
  conversation_id: string;
  sender_id: string;
  receiver_id: string;
  content: string;
  message_type: string;
  created_at: number;
  read_status: 'sent' | 'read';
  read_at: number | null;
}

/** Position in a history page: messages strictly older than (created_at, message_id). */
export interface HistoryKey {
  readonly created_at: number;
  readonly message_id: string;
}

/**
 * A conversation's messages, newest first (sort key order of messages_base, read backwards), in one
 * statement: the receiver's first view comes from message_receipts by primary key (read_key = the
 * message's id and receiver), the rule of `messages` and messageStatus.
 */
export async function conversationHistory(
  ch: ClickHouse,
  conversationId: string,
  options: { limit: number; before?: HistoryKey },
  database = 'message_db',
): Promise<HistoryMessage[]> {
  const db = checkDatabaseName(database);
  const before = options.before;
  const latest = `SELECT message_id, conversation_id, sender_id, receiver_id, content, message_type, created_at, read_key
     FROM ${db}.messages_base FINAL
     WHERE conversation_id = {c:String}
       ${before === undefined ? '' : `AND (created_at < ${at('bt')} OR (created_at = ${at('bt')} AND message_id < {bid:String}))`}
     ORDER BY created_at DESC, message_id DESC
     LIMIT {n:UInt32}`;
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT m.message_id AS message_id, m.conversation_id AS conversation_id, m.sender_id AS sender_id,
            m.receiver_id AS receiver_id, m.content AS content, m.message_type AS message_type,
            ${ms('m.created_at')} AS created_at_ms, ${ms('r.first_read')} AS read_at_ms
     FROM (${latest}) AS m
     LEFT JOIN (
       SELECT read_key, toNullable(min(first_viewed_at)) AS first_read FROM ${db}.message_receipts
       WHERE message_id IN (SELECT message_id FROM (${latest})) GROUP BY read_key
     ) AS r ON m.read_key = r.read_key
     ORDER BY m.created_at DESC, m.message_id DESC`,
    {
      c: conversationId,
      n: options.limit,
      ...(before ? { bt: before.created_at, bid: before.message_id } : {}),
    },
  );
  return rows.map((r) => ({
    message_id: String(r.message_id),
    conversation_id: String(r.conversation_id),
    sender_id: String(r.sender_id),
    receiver_id: String(r.receiver_id),
    content: String(r.content),
    message_type: String(r.message_type),
    created_at: num(r.created_at_ms),
    read_status: r.read_at_ms === null ? 'sent' : 'read',
    read_at: r.read_at_ms === null ? null : num(r.read_at_ms),
  }));
}

export interface SentMessage {
  message_id: string;
  conversation_id: string;
  receiver_id: string;
  created_at: number;
  read_status: 'sent' | 'read';
  read_at: number | null;
}

/**
 * A sender's messages, newest first, strictly older than `before` when given, in one statement:
 * message_index's `by_sender` projection (sorted by sender and time) finds them, and the receiver's
 * first view comes from message_receipts by primary key (read_key = the message's id and receiver),
 * the rule of `messages` and messageStatus. Replayed copies of a message count once.
 */
export async function senderMessages(
  ch: ClickHouse,
  senderId: string,
  options: { limit: number; before?: HistoryKey },
  database = 'message_db',
): Promise<SentMessage[]> {
  const db = checkDatabaseName(database);
  const before = options.before;
  const latest = `SELECT message_id, any(conversation_id) AS conversation_id, any(receiver_id) AS receiver_id,
            created_at, any(read_key) AS read_key
     FROM ${db}.message_index
     WHERE sender_id = {s:String}
       ${before === undefined ? '' : `AND (created_at < ${at('bt')} OR (created_at = ${at('bt')} AND message_id < {bid:String}))`}
     GROUP BY message_id, created_at
     ORDER BY created_at DESC, message_id DESC
     LIMIT {n:UInt32}`;
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT m.message_id AS message_id, m.conversation_id AS conversation_id, m.receiver_id AS receiver_id,
            ${ms('m.created_at')} AS created_at_ms, ${ms('r.first_read')} AS read_at_ms
     FROM (${latest}) AS m
     LEFT JOIN (
       SELECT read_key, toNullable(min(first_viewed_at)) AS first_read FROM ${db}.message_receipts
       WHERE message_id IN (SELECT message_id FROM (${latest})) GROUP BY read_key
     ) AS r ON m.read_key = r.read_key
     ORDER BY m.created_at DESC, m.message_id DESC`,
    {
      s: senderId,
      n: options.limit,
      ...(before ? { bt: before.created_at, bid: before.message_id } : {}),
    },
  );
  return rows.map((r) => ({
    message_id: String(r.message_id),
    conversation_id: String(r.conversation_id),
    receiver_id: String(r.receiver_id),
    created_at: num(r.created_at_ms),
    read_status: r.read_at_ms === null ? 'sent' : 'read',
    read_at: r.read_at_ms === null ? null : num(r.read_at_ms),
  }));
}

export interface ConversationWindow {
  window_start: number;
  window_end: number;
  message_count: number;
  participant_count: number;
  is_peak: boolean;
  baseline: number;
}

/** Windows of one conversation whose start is in [from, to), oldest first, after `after` (a window start). */
export async function conversationWindows(
  ch: ClickHouse,
  conversationId: string,
  options: TimeRange & { limit: number; after?: { window_start: number; window_end: number } },
  database = 'message_db',
): Promise<ConversationWindow[]> {
  const db = checkDatabaseName(database);
  const after = options.after;
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT ${ms('window_start')} AS window_start_ms, ${ms('window_end')} AS window_end_ms,
            message_count, participant_count, toUInt8(is_peak) AS is_peak, baseline
     FROM ${db}.conversation_metrics FINAL
     WHERE conversation_id = {c:String} AND window_start >= ${at('from')} AND window_start < ${at('to')}
       ${after === undefined ? '' : `AND (window_start > ${at('aws')} OR (window_start = ${at('aws')} AND window_end > ${at('awe')}))`}
     ORDER BY window_start, window_end
     LIMIT {n:UInt32}`,
    {
      c: conversationId,
      from: options.from,
      to: options.to,
      n: options.limit,
      ...(after ? { aws: after.window_start, awe: after.window_end } : {}),
    },
  );
  return rows.map((r) => ({
    window_start: num(r.window_start_ms),
    window_end: num(r.window_end_ms),
    message_count: num(r.message_count),
    participant_count: num(r.participant_count),
    is_peak: num(r.is_peak) === 1,
    baseline: num(r.baseline),
  }));
}

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

export interface TrendRow {
  window_start: number;
  window_end: number;
  word: string;
  count: number;
  rank: number;
  score: number;
  baseline: number;
}

/** The ranked words of one trend window: the latest one, or the window starting at `windowStart`. */
export async function trendWindow(
  ch: ClickHouse,
  options: { windowStart?: number; limit: number },
  database = 'message_db',
): Promise<TrendRow[]> {
  const db = checkDatabaseName(database);
  const which =
    options.windowStart === undefined ? `(SELECT max(window_start) FROM ${db}.trending_words)` : at('ws');
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT ${ms('window_start')} AS window_start_ms, ${ms('window_end')} AS window_end_ms, word, count, rank, score, baseline
     FROM ${db}.trending_words FINAL WHERE window_start = ${which}
     ORDER BY rank, word LIMIT {n:UInt32}`,
    { n: options.limit, ...(options.windowStart === undefined ? {} : { ws: options.windowStart }) },
  );
  return rows.map((r) => ({
    window_start: num(r.window_start_ms),
    window_end: num(r.window_end_ms),
    word: String(r.word),
    count: num(r.count),
    rank: num(r.rank),
    score: num(r.score),
    baseline: num(r.baseline),
  }));
}

export interface AlertRow {
  alert_id: string;
  user_id: string;
  kind: string;
  severity: string;
  count: number;
  threshold: number;
  window_start: number;
  window_end: number;
  first_message_id: string;
  last_message_id: string;
  detected_at: number;
}

/** Position in an alert page: alerts strictly older than (detected_at, alert_id). */
export interface AlertKey {
  readonly detected_at: number;
  readonly alert_id: string;
}

/** Alerts detected at or after `since`, newest first, optionally of one user and one kind. */
export async function listAlerts(
  ch: ClickHouse,
  options: { since: number; userId?: string; kind?: string; limit: number; before?: AlertKey },
  database = 'message_db',
): Promise<AlertRow[]> {
  const db = checkDatabaseName(database);
  const b = options.before;
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT alert_id, user_id, kind, severity, count, threshold,
            ${ms('window_start')} AS window_start_ms, ${ms('window_end')} AS window_end_ms,
            first_message_id, last_message_id, ${ms('detected_at')} AS detected_at_ms
     FROM ${db}.anomaly_alerts FINAL
     WHERE detected_at >= ${at('since')}
       ${options.userId === undefined ? '' : 'AND user_id = {u:String}'}
       ${options.kind === undefined ? '' : 'AND kind = {k:String}'}
       ${b === undefined ? '' : `AND (detected_at < ${at('bt')} OR (detected_at = ${at('bt')} AND alert_id < {bid:String}))`}
     ORDER BY detected_at DESC, alert_id DESC LIMIT {n:UInt32}`,
    {
      since: options.since,
      n: options.limit,
      ...(options.userId === undefined ? {} : { u: options.userId }),
      ...(options.kind === undefined ? {} : { k: options.kind }),
      ...(b === undefined ? {} : { bt: b.detected_at, bid: b.alert_id }),
    },
  );
  return rows.map((r) => ({
    alert_id: String(r.alert_id),
    user_id: String(r.user_id),
    kind: String(r.kind),
    severity: String(r.severity),
    count: num(r.count),
    threshold: num(r.threshold),
    window_start: num(r.window_start_ms),
    window_end: num(r.window_end_ms),
    first_message_id: String(r.first_message_id),
    last_message_id: String(r.last_message_id),
    detected_at: num(r.detected_at_ms),
  }));
}

/** Which of these message ids are stored (message_index primary key lookups). */
export async function storedMessageIds(
  ch: ClickHouse,
  messageIds: readonly string[],
  database = 'message_db',
): Promise<Set<string>> {
  if (messageIds.length === 0) return new Set();
  const db = checkDatabaseName(database);
  const rows = await ch.query<{ message_id: string }>(
    `SELECT DISTINCT message_id FROM ${db}.message_index WHERE message_id IN {ids:Array(String)}`,
    { ids: messageIds },
  );
  return new Set(rows.map((r) => r.message_id));
}

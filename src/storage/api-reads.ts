import { checkDatabaseName } from './migrations.ts';
import type { ClickHouse } from './port.ts';
import { type MessageStatus, messageStatus } from './reads.ts';

/**
 * The reads behind the REST API. Every value from a request is a `{name:Type}` parameter; the only
 * identifier spliced into SQL is the database name (checked). Times go in and out as epoch
 * milliseconds (`fromUnixTimestamp64Milli` / `toUnixTimestamp64Milli`), so no text format of a
 * DateTime64 is ever parsed. Pages are at most `limit` rows; a page that is full returns the key of
 * its last row for the next one (keyset pagination), or the next offset for ranked lists. The
 * aggregates (rankings, volume, read rates, heatmap) are in aggregate-reads.ts.
 */

/** [from, to) in epoch ms. */
export interface TimeRange {
  readonly from: number;
  readonly to: number;
}

const ms = (column: string) => `toUnixTimestamp64Milli(${column})`;
const at = (param: string) => `fromUnixTimestamp64Milli({${param}:Int64}, 'UTC')`;
const num = (v: unknown) => Number(v);

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

/** Keyset paging, newest first: rows strictly older than `before` (time, then id) when given. */
const olderThan = (before: HistoryKey | undefined): string =>
  before === undefined
    ? ''
    : `AND (created_at < ${at('bt')} OR (created_at = ${at('bt')} AND message_id < {bid:String}))`;
const pageParams = (before: HistoryKey | undefined) =>
  before === undefined ? {} : { bt: before.created_at, bid: before.message_id };

/**
 * The page's messages `m` (the subquery `latest`, with read_key) joined to the receiver's first view
 * from message_receipts by primary key, the rule of `messages` and messageStatus; newest first.
 */
const withFirstRead = (db: string, latest: string): string => `FROM (${latest}) AS m
     LEFT JOIN (
       SELECT read_key, toNullable(min(first_viewed_at)) AS first_read FROM ${db}.message_receipts
       WHERE message_id IN (SELECT message_id FROM (${latest})) GROUP BY read_key
     ) AS r ON m.read_key = r.read_key
     ORDER BY m.created_at DESC, m.message_id DESC`;

const readState = (readAtMs: unknown): { read_status: 'sent' | 'read'; read_at: number | null } =>
  readAtMs === null
    ? { read_status: 'sent', read_at: null }
    : { read_status: 'read', read_at: num(readAtMs) };

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
  // Replayed copies of a message are equal rows under one key: LIMIT 1 BY keeps one without FINAL,
  // which reads the key range in order and stops early (12–13 ms against 26–36 ms with FINAL for the
  // latest 50 at 50M messages, 13 parts).
  const latest = `SELECT message_id, conversation_id, sender_id, receiver_id, content, message_type, created_at, read_key
     FROM ${db}.messages_base
     WHERE conversation_id = {c:String}
       ${olderThan(before)}
     ORDER BY created_at DESC, message_id DESC
     LIMIT 1 BY message_id
     LIMIT {n:UInt32}`;
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT m.message_id AS message_id, m.conversation_id AS conversation_id, m.sender_id AS sender_id,
            m.receiver_id AS receiver_id, m.content AS content, m.message_type AS message_type,
            ${ms('m.created_at')} AS created_at_ms, ${ms('r.first_read')} AS read_at_ms
     ${withFirstRead(db, latest)}`,
    {
      c: conversationId,
      n: options.limit,
      ...pageParams(before),
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
    ...readState(r.read_at_ms),
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
 * message_index's `by_sender` projection (sorted by sender and time; read_key is not in it and is
 * computed, as messages_base defines it) finds them, and the receiver's first view comes from
 * message_receipts by primary key (read_key = the message's id and receiver), the rule of `messages`
 * and messageStatus. Replayed copies of a message count once.
 */
export async function senderMessages(
  ch: ClickHouse,
  senderId: string,
  options: { limit: number; before?: HistoryKey },
  database = 'message_db',
): Promise<SentMessage[]> {
  const db = checkDatabaseName(database);
  const before = options.before;
  const latest = `SELECT message_id, conversation_id, receiver_id, created_at,
            sipHash128(message_id, receiver_id) AS read_key
     FROM (
       SELECT message_id, any(conversation_id) AS conversation_id, any(receiver_id) AS receiver_id, created_at
       FROM ${db}.message_index
       WHERE sender_id = {s:String}
         ${olderThan(before)}
       GROUP BY message_id, created_at
       ORDER BY created_at DESC, message_id DESC
       LIMIT {n:UInt32}
     )`;
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT m.message_id AS message_id, m.conversation_id AS conversation_id, m.receiver_id AS receiver_id,
            ${ms('m.created_at')} AS created_at_ms, ${ms('r.first_read')} AS read_at_ms
     ${withFirstRead(db, latest)}`,
    {
      s: senderId,
      n: options.limit,
      ...pageParams(before),
    },
  );
  return rows.map((r) => ({
    message_id: String(r.message_id),
    conversation_id: String(r.conversation_id),
    receiver_id: String(r.receiver_id),
    created_at: num(r.created_at_ms),
    ...readState(r.read_at_ms),
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

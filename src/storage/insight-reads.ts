import type { TimeRange } from './api-reads.ts';
import { EDGE_MINUTES, EDGES, HOURS, RAW_EDGES, splitByHour, splitByMinute } from './hourly-split.ts';
import { checkDatabaseName } from './migrations.ts';
import type { ClickHouse } from './port.ts';

/**
 * Reads behind the dashboard's summaries and drill-downs (totals of a range, read rate and time to
 * read per sender, a word's history, an alert's burst), each asking only for what it is about: the
 * rollups' whole hours of a time range and the messages of its partial edge hours (message_rows,
 * sorted by time: a range reads its own granules), one word's ranked windows in a range (trending_words' sort key), one sender's messages between two
 * instants. Values go in as `{name:Type}` parameters; times in and out as epoch milliseconds (see
 * api-reads.ts).
 */

const ms = (column: string) => `toUnixTimestamp64Milli(${column})`;
const at = (param: string) => `fromUnixTimestamp64Milli({${param}:Int64}, 'UTC')`;
const num = (v: unknown) => Number(v);

export interface WordWindow {
  window_start: number;
  window_end: number;
  count: number;
  baseline: number;
  score: number;
  rank: number;
}

/**
 * The windows starting in [from, to) in which `word` was among the ranked (trending) words, oldest
 * first: its count there against its baseline. trending_words holds only ranked words (the top
 * TREND_TOP_N of a window, and only words that trend), so a window without a row is one where the
 * word did not trend — its count there is not stored. Read by the table's sort key (window_start).
 */
export async function wordHistory(
  ch: ClickHouse,
  word: string,
  options: TimeRange & { limit: number },
  database = 'message_db',
): Promise<WordWindow[]> {
  const db = checkDatabaseName(database);
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT ${ms('window_start')} AS window_start_ms, ${ms('window_end')} AS window_end_ms,
            count, baseline, score, rank
     FROM ${db}.trending_words FINAL
     WHERE window_start >= ${at('from')} AND window_start < ${at('to')} AND word = {w:String}
     ORDER BY window_start LIMIT {n:UInt32}`,
    { w: word, from: options.from, to: options.to, n: options.limit },
  );
  return rows.map((r) => ({
    window_start: num(r.window_start_ms),
    window_end: num(r.window_end_ms),
    count: num(r.count),
    baseline: num(r.baseline),
    score: num(r.score),
    rank: num(r.rank),
  }));
}

export interface SenderReadStats {
  sender_id: string;
  /** Messages of the sender created in the range. */
  sent: number;
  /** …of which the receiver has read. */
  read_count: number;
  /** read_count / sent, in percent (2 decimals); null when nothing was sent. */
  read_rate: number | null;
  /** Median and 90th percentile of read_at − created_at over the read ones, ms (null: none read). */
  median_ms: number | null;
  p90_ms: number | null;
}

/**
 * The messages of the partial hours at the edges of a `splitByHour` range, one row each with its read
 * state: message_rows FINAL (what the `messages` view reads) with the range on its sort key inside the
 * FINAL — through the view the range is applied after FINAL and the read grows with the history. A
 * message's row and its read patches fold into one (read_at: the receiver's first view); a group
 * without the message's own row (sender '') is no message. The whole hours come from the rollups of
 * migration 9 (schema-rollups.ts), which count the same reads at insert.
 */
const edgeMessages = (db: string) => `${db}.message_rows FINAL WHERE ${EDGES} AND sender_id != ''`;

/** Time to read of a message row, ms: the receiver's first view − sent, 0 for a view stamped before. */
const DELAY = `toUInt64(greatest(${ms('assumeNotNull(read_at)')} - ${ms('created_at')}, 0))`;

/** A delay → count map as ClickHouse returns a sumMap: keys and counts (64-bit values may be strings). */
type DelayMap = [readonly (number | string)[], readonly (number | string)[]];

/**
 * The `levels` quantiles of the delays in `maps` (summed), each as ClickHouse's quantileExact picks
 * it: the value at position ⌊level·n⌋ of the n sorted values. Null when there is none.
 */
function mapQuantiles(maps: readonly DelayMap[], levels: readonly number[]): (number | null)[] {
  const counts = new Map<number, number>();
  for (const [keys, values] of maps) {
    for (const [i, k] of keys.entries()) counts.set(num(k), (counts.get(num(k)) ?? 0) + num(values[i]));
  }
  const sorted = [...counts.entries()].filter(([, c]) => c > 0).sort((x, y) => x[0] - y[0]);
  const n = sorted.reduce((a, [, c]) => a + c, 0);
  return levels.map((level) => {
    if (n === 0) return null;
    const at = Math.floor(level * n);
    let seen = 0;
    for (const [delay, c] of sorted) {
      seen += c;
      if (seen > at) return delay;
    }
    return sorted.at(-1)![0];
  });
}

/**
 * Read rate and time to read per sender over the messages created in [from, to) (read_at: the
 * receiver's first view, as in `messages`; a view timestamped before its message counts as 0): the
 * whole hours from the rollups, the partial hours at the edges from message_rows. Two reads: the
 * senders' counts (sender_hourly, sorted by hour: the range's rows) with the time to read of their
 * edge messages, then the time-to-read maps of just those senders' whole hours (sender_read_delays,
 * sorted by sender: a primary-key read). Quantiles as ClickHouse's quantileExact: the value at
 * position ⌊level·n⌋ of the sorted times. `senders`: a row for each, in that order (zeros when one
 * sent nothing in the range); otherwise the `limit` senders with the most messages in the range,
 * most first.
 */
export async function senderReadStats(
  ch: ClickHouse,
  options: TimeRange & { senders?: readonly string[]; limit: number },
  database = 'message_db',
): Promise<SenderReadStats[]> {
  const db = checkDatabaseName(database);
  const senders = options.senders;
  if (senders?.length === 0) return [];
  const only = 'AND sender_id IN {s:Array(String)}';
  const split = splitByHour(options);
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT sender_id, h.n + e.n AS sent, h.r + e.r AS read_count, e.d AS edge_delays
     FROM (
       SELECT sender_id, sum(sent) AS n, sum(reads) AS r FROM ${db}.sender_hourly
       WHERE ${HOURS} ${senders === undefined ? '' : only} GROUP BY sender_id
     ) AS h
     FULL OUTER JOIN (
       SELECT sender_id, count() AS n, countIf(read_at IS NOT NULL) AS r,
              sumMap(if(read_at IS NULL, [], [${DELAY}]), if(read_at IS NULL, [], [toInt64(1)])) AS d
       FROM ${edgeMessages(db)} ${senders === undefined ? '' : only} GROUP BY sender_id
     ) AS e USING sender_id
     ORDER BY sent DESC, sender_id LIMIT {n:UInt32}`,
    { ...split, n: senders?.length ?? options.limit, ...(senders ? { s: senders } : {}) },
  );
  const read = rows.filter((r) => num(r.read_count) > 0).map((r) => String(r.sender_id));
  const hourly =
    read.length === 0 || split.from_h === split.to_h
      ? []
      : await ch.query<{ sender_id: string; d: DelayMap }>(
          `SELECT sender_id, sumMap(read_delays) AS d FROM ${db}.sender_read_delays
           WHERE ${HOURS} ${only} GROUP BY sender_id`,
          { ...split, s: read },
        );
  const whole = new Map(hourly.map((h) => [h.sender_id, h.d]));
  const stats = (sender_id: string, r: Record<string, unknown> | undefined): SenderReadStats => {
    const sent = num(r?.sent ?? 0);
    const nRead = num(r?.read_count ?? 0);
    const maps = [r?.edge_delays as DelayMap | undefined, whole.get(sender_id)].filter(
      (m): m is DelayMap => m !== undefined,
    );
    const [median, p90] = mapQuantiles(maps, [0.5, 0.9]);
    return {
      sender_id,
      sent,
      read_count: nRead,
      read_rate: sent === 0 ? null : Math.round((10_000 * nRead) / sent) / 100,
      median_ms: nRead === 0 ? null : (median ?? null),
      p90_ms: nRead === 0 ? null : (p90 ?? null),
    };
  };
  if (senders === undefined) return rows.map((r) => stats(String(r.sender_id), r));
  const by = new Map(rows.map((r) => [String(r.sender_id), r]));
  return senders.map((s) => stats(s, by.get(s)));
}

export interface RangeSummary {
  /** Messages created in the range. */
  messages: number;
  /** …of which the receiver has read (read_status = 'read' in `messages`). */
  read_count: number;
  conversations: number;
  senders: number;
}

/**
 * Totals of the messages created in [from, to). Counts: the whole hours from hourly_totals, the whole
 * minutes of the partial hours from minute_totals, the partial minutes from message_rows FINAL (read
 * state folded). Distinct conversations and senders: the whole hours' arrays of 64-bit sipHashes
 * from hourly_totals, the partial hours' message rows of message_rows hashed the same way (no FINAL:
 * a read patch has no sender) — exact unless two ids collide (≈ n²/2⁶⁵ for n ids, schema-rollups.ts).
 */
export async function rangeSummary(
  ch: ClickHouse,
  range: TimeRange,
  database = 'message_db',
): Promise<RangeSummary> {
  const db = checkDatabaseName(database);
  const [r] = await ch.query<Record<string, unknown>>(
    `SELECT n.messages AS messages, n.read_count AS read_count, d.conversations AS conversations, d.senders AS senders
     FROM (
       SELECT sum(m) AS messages, sum(rd) AS read_count FROM (
         SELECT messages AS m, reads AS rd FROM ${db}.hourly_totals WHERE ${HOURS}
         UNION ALL
         SELECT messages, reads FROM ${db}.minute_totals WHERE ${EDGE_MINUTES}
         UNION ALL
         SELECT count(), countIf(read_at IS NOT NULL) FROM ${db}.message_rows FINAL
         WHERE ${RAW_EDGES} AND sender_id != ''
       )
     ) AS n
     CROSS JOIN (
       SELECT length(groupUniqArrayArray(c)) AS conversations, length(groupUniqArrayArray(s)) AS senders
       FROM (
         SELECT conversations AS c, senders AS s FROM ${db}.hourly_totals WHERE ${HOURS}
         UNION ALL
         SELECT groupUniqArray(sipHash64(conversation_id)), groupUniqArray(sipHash64(sender_id))
         FROM ${db}.message_rows WHERE ${EDGES} AND sender_id != ''
       )
     ) AS d`,
    splitByMinute(range),
  );
  return {
    messages: num(r?.messages ?? 0),
    read_count: num(r?.read_count ?? 0),
    conversations: num(r?.conversations ?? 0),
    senders: num(r?.senders ?? 0),
  };
}

/** What locates an alert's burst: its sender, rule, first and last message times, first message. */
export interface AlertBurst {
  alert_id: string;
  user_id: string;
  kind: string;
  /** Event times of the burst's first and last message (both included), epoch ms. */
  window_start: number;
  window_end: number;
  first_message_id: string;
  /** Messages in the burst, as the alert counts them. */
  message_count: number;
}

/** One alert by id (its current state; a retracted alert is not found). */
export async function alertBurst(
  ch: ClickHouse,
  alertId: string,
  database = 'message_db',
): Promise<AlertBurst | undefined> {
  const db = checkDatabaseName(database);
  const [r] = await ch.query<Record<string, unknown>>(
    `SELECT alert_id, user_id, kind, ${ms('window_start')} AS ws, ${ms('window_end')} AS we,
            first_message_id, message_count
     FROM ${db}.anomaly_alerts FINAL WHERE alert_id = {id:String} LIMIT 1`,
    { id: alertId },
  );
  return r === undefined
    ? undefined
    : {
        alert_id: String(r.alert_id),
        user_id: String(r.user_id),
        kind: String(r.kind),
        window_start: num(r.ws),
        window_end: num(r.we),
        first_message_id: String(r.first_message_id),
        message_count: num(r.message_count),
      };
}

export interface BurstMessage {
  message_id: string;
  conversation_id: string;
  receiver_id: string;
  content: string;
  created_at: number;
}

/**
 * A sender's messages with event time in [from, to] (both included), oldest first, at most `limit`;
 * with `sameContentAs`, only those whose content equals that message's content as the
 * duplicate-content rule compares it (trimmed, whitespace runs as one space, lower case). Read from
 * messages_base by time (partition and part min/max pruning) and sender.
 */
export async function senderMessagesBetween(
  ch: ClickHouse,
  senderId: string,
  options: { from: number; to: number; limit: number; sameContentAs?: string },
  database = 'message_db',
): Promise<BurstMessage[]> {
  const db = checkDatabaseName(database);
  // JavaScript's \s (the rule's normalisation), in RE2: ASCII spaces, \v, Unicode separators, BOM.
  const normalised = (c: string) =>
    `lowerUTF8(trimBoth(replaceRegexpAll(${c}, '[\\\\s\\\\x{0B}\\\\pZ\\\\x{FEFF}]+', ' ')))`;
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT message_id, conversation_id, receiver_id, content, ${ms('created_at')} AS created_at_ms
     FROM ${db}.messages_base
     WHERE created_at >= ${at('from')} AND created_at <= ${at('to')} AND sender_id = {u:String}
       ${
         options.sameContentAs === undefined
           ? ''
           : `AND ${normalised('content')} = (SELECT ${normalised('any(content)')} FROM ${db}.messages_base
                WHERE created_at >= ${at('from')} AND created_at <= ${at('to')} AND sender_id = {u:String}
                  AND message_id = {same:String})`
       }
     ORDER BY created_at, message_id
     LIMIT 1 BY message_id
     LIMIT {n:UInt32}`,
    {
      u: senderId,
      from: options.from,
      to: options.to,
      n: options.limit,
      ...(options.sameContentAs === undefined ? {} : { same: options.sameContentAs }),
    },
  );
  return rows.map((r) => ({
    message_id: String(r.message_id),
    conversation_id: String(r.conversation_id),
    receiver_id: String(r.receiver_id),
    content: String(r.content),
    created_at: num(r.created_at_ms),
  }));
}

import type { TimeRange } from './api-reads.ts';

/*
 * How the range reads use the rollups (conversation_hourly, migration 8; hourly_totals, sender_hourly,
 * minute_totals…, migration 9 — schema-rollups.ts): the whole hours from an hourly rollup, and either
 * the partial hours at the range's edges from message_rows (`splitByHour`), or the whole minutes of
 * those partial hours from minute_totals and only the partial minutes from message_rows
 * (`splitByMinute`). Internal to src/storage.
 */

const at = (param: string) => `fromUnixTimestamp64Milli({${param}:Int64}, 'UTC')`;

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/**
 * A range split for the hourly rollups: its whole hours [from_h, to_h) are read there, the partial
 * hours at its edges from message_rows (`EDGES`, at most two hours of messages). A range without a
 * whole hour (or `wholeHours` false) is all edge. Returns the query parameters: the range's from / to
 * and from_h / to_h.
 */
export function splitByHour(range: TimeRange, wholeHours = true) {
  const fromH = Math.ceil(range.from / HOUR_MS) * HOUR_MS;
  const toH = Math.floor(range.to / HOUR_MS) * HOUR_MS;
  const split = wholeHours && fromH < toH;
  return {
    from: range.from,
    to: range.to,
    from_h: split ? fromH : range.to,
    to_h: split ? toH : range.to,
  };
}

/**
 * A range split in three: whole hours [from_h, to_h) (`HOURS`), the whole minutes of the partial hours
 * [from_m, from_h) ∪ [to_h, to_m) (`EDGE_MINUTES`, at most 118 minute rows), and the partial minutes
 * [from, from_m) ∪ [to_m, to) from message_rows (`RAW_EDGES`, at most two minutes of messages).
 * `ALL_MINUTES` is every whole minute [from_m, to_m). A part that does not exist is empty.
 */
export function splitByMinute(range: TimeRange) {
  const fromM = Math.ceil(range.from / MINUTE_MS) * MINUTE_MS;
  const toM = Math.floor(range.to / MINUTE_MS) * MINUTE_MS;
  if (fromM >= toM)
    return {
      from: range.from,
      to: range.to,
      from_m: range.to,
      to_m: range.to,
      from_h: range.to,
      to_h: range.to,
    };
  const fromH = Math.ceil(range.from / HOUR_MS) * HOUR_MS;
  const toH = Math.floor(range.to / HOUR_MS) * HOUR_MS;
  const hours = fromH < toH;
  return {
    from: range.from,
    to: range.to,
    from_m: fromM,
    to_m: toM,
    from_h: hours ? fromH : toM,
    to_h: hours ? toH : toM,
  };
}

/** Rollup rows of the whole hours of a `splitByHour` or `splitByMinute` range. */
export const HOURS = `hour >= ${at('from_h')} AND hour < ${at('to_h')}`;
/** message_rows of the partial hours of a `splitByHour` range. */
export const EDGES = `((created_at >= ${at('from')} AND created_at < ${at('from_h')})
  OR (created_at >= ${at('to_h')} AND created_at < ${at('to')}))`;
/** minute_totals rows of the whole minutes outside the whole hours of a `splitByMinute` range. */
export const EDGE_MINUTES = `((minute >= ${at('from_m')} AND minute < ${at('from_h')})
  OR (minute >= ${at('to_h')} AND minute < ${at('to_m')}))`;
/** minute_totals rows of every whole minute of a `splitByMinute` range. */
export const ALL_MINUTES = `minute >= ${at('from_m')} AND minute < ${at('to_m')}`;
/** message_rows of the partial minutes of a `splitByMinute` range. */
export const RAW_EDGES = `((created_at >= ${at('from')} AND created_at < ${at('from_m')})
  OR (created_at >= ${at('to_m')} AND created_at < ${at('to')}))`;

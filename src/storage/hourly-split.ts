import type { TimeRange } from './api-reads.ts';

/*
 * How the range reads use conversation_hourly (migration 8, schema-rollups.ts): the whole hours from
 * the rollup, the partial hours at the range's edges from message_rows. Internal to src/storage.
 */

const at = (param: string) => `fromUnixTimestamp64Milli({${param}:Int64}, 'UTC')`;

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/**
 * A range split for the hourly rollups (conversation_hourly, migration 8; those of migration 9): its
 * whole hours [from_h, to_h) are read there, the partial hours at its edges from message_rows
 * (`EDGES`, at most two hours of messages). A range without a whole hour (or `wholeHours` false) is
 * all edge. `unitMs` (a minute for minute_volume): whole units instead of hours. Returns the query
 * parameters: the range's from / to and from_h / to_h.
 */
export function splitByHour(range: TimeRange, wholeHours = true, unitMs = HOUR_MS) {
  const fromH = Math.ceil(range.from / unitMs) * unitMs;
  const toH = Math.floor(range.to / unitMs) * unitMs;
  const split = wholeHours && fromH < toH;
  return {
    from: range.from,
    to: range.to,
    from_h: split ? fromH : range.to,
    to_h: split ? toH : range.to,
  };
}
/** Rollup rows of the whole hours of a `splitByHour` range. */
export const HOURS = `hour >= ${at('from_h')} AND hour < ${at('to_h')}`;
/** minute_volume rows of the whole minutes of a `splitByHour(range, true, MINUTE_MS)` range. */
export const MINUTES = `minute >= ${at('from_h')} AND minute < ${at('to_h')}`;
/** message_rows of the partial hours of a `splitByHour` range. */
export const EDGES = `((created_at >= ${at('from')} AND created_at < ${at('from_h')})
  OR (created_at >= ${at('to_h')} AND created_at < ${at('to')}))`;

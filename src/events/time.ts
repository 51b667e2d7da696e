/**
 * RFC 3339 date-times as the seed's producer writes them (Go's time.RFC3339Nano: trailing zeros of
 * the fraction trimmed, e.g. `2025-11-08T14:11:31.52Z`), with any offset and 0–9 fraction digits,
 * normalised to UTC epoch milliseconds (the fraction is truncated, not rounded, past milliseconds).
 */

// YYYY-MM-DD T HH:MM:SS [.fraction] (Z | ±HH:MM). RFC 3339 §5.6 allows `t`/`z` and a space per the note in §5.6.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

/** Epoch milliseconds of an RFC 3339 date-time, or undefined when the text is not one. */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  // Leap seconds (:60) are not representable in ClickHouse DateTime64 nor JS: rejected.
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  let offsetMin = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC maps years 0–99 to 1900–1999; the regex allows them, so fix the year explicitly.
  const date = new Date(utc);
  if (year < 100) date.setUTCFullYear(year);
  return date.getTime() - offsetMin * 60_000;
}

/** `2025-11-08T14:11:31.520Z`: UTC, always three fraction digits. */
export function formatRfc3339(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

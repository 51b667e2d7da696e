/**
 * `formatRfc3339` (UTC, 3 fraction digits) for times that mostly grow: the text up to the second is
 * kept from the previous call, so a run of events in the same second formats without a Date.
 */
export function rfc3339Formatter(): (epochMs: number) => string {
  let second = Number.NaN;
  let prefix = '';
  return (epochMs) => {
    const s = Math.floor(epochMs / 1000);
    if (s !== second) {
      second = s;
      prefix = new Date(s * 1000).toISOString().slice(0, 20);
    }
    const ms = epochMs - s * 1000;
    return `${prefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
  };
}

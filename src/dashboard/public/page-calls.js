// What every page's API calls share: URL-encoding, the largest list page and calling in turn.

export const enc = encodeURIComponent;
/** Largest page the list routes accept. */
export const MAX = 1000;

/**
 * Runs the page's calls one after another and resolves to their results in order. The server reads
 * ClickHouse one statement at a time (chDB), so calls sent together only wait for each other there —
 * each would take the time of all before it; in turn each answers in its own time, and the page takes
 * as long as before.
 */
export async function inTurn(...calls) {
  const out = [];
  for (const call of calls) out.push(await call());
  return out;
}

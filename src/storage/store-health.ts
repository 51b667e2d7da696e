import { checkDatabaseName } from './migrations.ts';
import type { ClickHouse } from './port.ts';

/** A part the engine moved out of a table's data (e.g. `broken-on-start_all_1_1_0` after damage). */
export interface DetachedPart {
  readonly table: string;
  readonly name: string;
  /** `broken-on-start`, `unexpected`, `noquorum`, … (empty for a part detached by hand). */
  readonly reason: string;
}

/** Parts of the database's tables that sit in `detached/` (`system.detached_parts`). */
export async function detachedParts(ch: ClickHouse, database = 'message_db'): Promise<DetachedPart[]> {
  const rows = await ch.query<{ table: string; name: string; reason: string | null }>(
    `SELECT table, name, ifNull(reason, '') AS reason FROM system.detached_parts
     WHERE database = {db:String} ORDER BY table, name`,
    { db: checkDatabaseName(database) },
  );
  return rows.map((r) => ({ table: r.table, name: r.name, reason: r.reason ?? '' }));
}

/** Rows of each table (`count()`); a table that does not exist counts 0. */
export async function rowCounts(
  ch: ClickHouse,
  tables: readonly string[],
  database = 'message_db',
): Promise<Map<string, number>> {
  const db = checkDatabaseName(database);
  const existing = new Set(
    (
      await ch.query<{ name: string }>('SELECT name FROM system.tables WHERE database = {db:String}', { db })
    ).map((r) => r.name),
  );
  const out = new Map<string, number>();
  for (const t of tables) {
    if (!existing.has(t)) {
      out.set(t, 0);
      continue;
    }
    const [row] = await ch.query<{ n: number | string }>(
      `SELECT count() AS n FROM ${db}.${checkDatabaseName(t)}`,
    );
    out.set(t, Number(row?.n ?? 0));
  }
  return out;
}

/**
 * What rebuilding `tables` from their sources touches: the tables themselves, every table filled
 * from them by materialized views (transitively), and — because such a table may also be filled
 * from elsewhere (`message_rows` from both messages and views) — every other source table that
 * feeds one of those (or, when that table is itself filled by views, the tables it is filled from).
 * Rebuilding means emptying `emptied` and re-ingesting all of `sources`.
 */
export async function rebuildClosure(
  ch: ClickHouse,
  tables: readonly string[],
  database = 'message_db',
): Promise<{ sources: string[]; emptied: string[] }> {
  const db = checkDatabaseName(database);
  const rows = await ch.query<{ name: string; engine: string; deps: string[]; target: string }>(
    `SELECT name, engine, dependencies_table AS deps,
            extract(create_table_query, ' TO ([A-Za-z0-9_.]+)') AS target
     FROM system.tables WHERE database = {db:String}`,
    { db },
  );
  const targetOf = new Map<string, string>(); // materialized view → its target table
  for (const r of rows) {
    if (r.engine === 'MaterializedView' && r.target !== '')
      targetOf.set(r.name, r.target.replace(`${db}.`, ''));
  }
  const feeds = new Map<string, string[]>(); // source table → tables its views fill
  const fedBy = new Map<string, string[]>(); // table → the source tables of the views that fill it
  for (const r of rows) {
    const targets = r.deps.map((v) => targetOf.get(v)).filter((t): t is string => t !== undefined);
    if (targets.length > 0) feeds.set(r.name, targets);
    for (const t of targets) fedBy.set(t, [...(fedBy.get(t) ?? []), r.name]);
  }
  // A table filled by views (e.g. the Null table view_lookups) is rebuilt from where it is filled.
  const roots = (t: string, seen = new Set<string>()): string[] => {
    const up = (fedBy.get(t) ?? []).filter((s) => !seen.has(s));
    if (up.length === 0) return [t];
    seen.add(t);
    return up.flatMap((s) => roots(s, seen));
  };
  const sources = new Set(tables);
  const emptied = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    const reach = (t: string) => {
      if (emptied.has(t)) return;
      emptied.add(t);
      changed = true;
      for (const next of feeds.get(t) ?? []) reach(next);
    };
    for (const s of sources) reach(s);
    for (const [source, targets] of feeds) {
      // A table filled from `source` too must be rebuilt from it as well.
      if (!sources.has(source) && !emptied.has(source) && targets.some((t) => emptied.has(t))) {
        for (const root of roots(source)) sources.add(root);
        changed = true;
      }
    }
  }
  // A Null table (view_lookups) holds nothing: rebuilt by passing through it, never emptied.
  const holdsNothing = new Set(rows.filter((r) => r.engine === 'Null').map((r) => r.name));
  return { sources: [...sources].sort(), emptied: [...emptied].filter((t) => !holdsNothing.has(t)).sort() };
}

import { AppError } from '../errors/index.ts';
import type { CompactResult, InsertOptions, QuerySettings } from './port.ts';

/** DateTime64's upper bound (2299-12-31 23:59:59.999 UTC). */
const MAX_DATETIME64_MS = Date.UTC(2299, 11, 31, 23, 59, 59, 999);
let lastDay = -1;
let lastDayPrefix = '';
const TWO_DIGITS: readonly string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * DateTime64(3) on the wire, in one place. Input: epoch milliseconds (integer). Output: UTC text
 * `YYYY-MM-DD hh:mm:ss.mmm`, read by ClickHouse in the column's time zone — every time column of our
 * schema is `DateTime64(3, 'UTC')`. (Unix-seconds text such as `1700000000.123` is not used: the
 * engine reads a short one, e.g. `0.000`, as a date.)
 */
export function toDateTime64(epochMs: number): string {
  if (!Number.isSafeInteger(epochMs) || epochMs < 0 || epochMs > MAX_DATETIME64_MS) {
    throw new AppError(
      'STORAGE_QUERY',
      `DateTime64: expected epoch milliseconds in [0, 2299-12-31], got ${epochMs}`,
      {
        context: { value: String(epochMs) },
      },
    );
  }
  // Rows of a batch mostly share their day: its `YYYY-MM-DD ` is formatted once per day, the time of
  // day from table-lookup digits (rows alternate between several seconds: window bounds, emitted_at).
  const second = Math.floor(epochMs / 1000);
  const day = Math.floor(second / 86_400);
  if (day !== lastDay) {
    lastDayPrefix = `${new Date(day * 86_400_000).toISOString().slice(0, 10)} `;
    lastDay = day;
  }
  const s = second - day * 86_400;
  const hour = Math.floor(s / 3600);
  const minute = Math.floor((s - hour * 3600) / 60);
  return `${lastDayPrefix}${TWO_DIGITS[hour]}:${TWO_DIGITS[minute]}:${TWO_DIGITS[s - hour * 3600 - minute * 60]}.${THREE_DIGITS[epochMs - second * 1000]}`;
}

/** `DateTime64(3, 'UTC')` as ClickHouse prints it in JSON (`2026-01-01 00:00:00.123`) → epoch ms. */
export function fromDateTime64(text: string): number {
  const ms = Date.parse(`${text.replace(' ', 'T')}Z`);
  if (Number.isNaN(ms)) {
    throw new AppError('STORAGE_QUERY', `DateTime64: cannot parse ${JSON.stringify(text)}`, {});
  }
  return ms;
}

/**
 * JSONCompactEachRow: one JSON array per line, columns named once (`INSERT INTO t (cols…)`). The
 * columns are the keys of the first row; a key missing from a later row is sent as null, which the
 * engine turns into the column default (`input_format_null_as_default`, on by default). Measured on
 * chDB with 50k message rows: ~1.5× the rows/s of JSONEachRow (smaller payload, cheaper parse) and
 * faster than TSV (bench/sink.bench.ts, `raw_format_rows_per_s_50k`).
 */
export async function encodeJsonCompactEachRow(
  rows: readonly object[],
  rowsPerSlice = 5000,
): Promise<{ columns: string[]; payload: Buffer }> {
  const columns = Object.keys(rows[0] ?? {});
  const n = columns.length;
  const slices: Buffer[] = [];
  const values = new Array<unknown>(n);
  for (let start = 0; start < rows.length; start += rowsPerSlice) {
    // Yield between slices: a 50k-row batch would otherwise hold the event loop for ~50-100 ms.
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    let out = '';
    const end = Math.min(rows.length, start + rowsPerSlice);
    for (let k = start; k < end; k++) {
      const r = rows[k] as Record<string, unknown>;
      for (let i = 0; i < n; i++) values[i] = r[columns[i]!] ?? null;
      out += `${JSON.stringify(values)}\n`;
    }
    slices.push(Buffer.from(out, 'utf8'));
  }
  return { columns, payload: slices.length === 1 ? slices[0]! : Buffer.concat(slices) };
}

/**
 * Settings on every insert. With a token, ClickHouse drops an insert whose token it has seen in the
 * table's last `non_replicated_deduplication_window` inserts — and then does not push the block to the
 * table's materialized views either, so rollups are not double counted on replay.
 */
export function insertSettings(options: InsertOptions): Record<string, string | number> {
  // The materialized views of an insert run one after another (no parallel_view_processing), so the
  // views a crash lets finish are a prefix of ClickHouse's order, in which a message batch reaches
  // message_index before message_events (creation order; after a restart chDB orders them by name,
  // descending, in our probes — message_index_mv still first). Side by side, a crash could leave a
  // batch's message rows and rollups written but not its message_index rows: a view of one of those
  // messages inserted before the batch's replay then counts as early (early_views), and the replayed
  // message rows, dropped as duplicates of their token, never take its read — the read is lost.
  // crash-equivalence.test.ts saw that once (151 reads of one batch) while views ran side by side.
  const settings: Record<string, string | number> = {};
  if (options.foldOnMerge === true) settings['optimize_on_insert'] = 0;
  if (options.dedupToken !== undefined) {
    settings['insert_deduplicate'] = 1;
    settings['insert_deduplication_token'] = options.dedupToken;
    settings['deduplicate_blocks_in_dependent_materialized_views'] = 1;
  }
  return settings;
}

/**
 * `sql` as the subquery of a `SELECT *`, so that only a SELECT-form statement parses and settings
 * given with it cover all of it. The newlines end a trailing `--` comment and keep the statement's
 * tokens apart from ours.
 */
export function wrapSelect(sql: string): string {
  return `SELECT * FROM (\n${sql}\n)`;
}

/** `SETTINGS a = 1, b = 'x'` for settings from our own code: names are checked, strings quoted. */
export function settingsClause(settings: QuerySettings): string {
  const parts = Object.entries(settings).map(([name, value]) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
      throw new AppError('STORAGE_QUERY', `invalid setting name ${JSON.stringify(name)}`, {
        context: { setting: name },
      });
    }
    const literal =
      typeof value === 'number'
        ? String(value)
        : `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
    return `${name} = ${literal}`;
  });
  return parts.length === 0 ? '' : `SETTINGS ${parts.join(', ')}`;
}

/** The engine's `JSONCompact` output (`meta`, `data`, `statistics`) as a `CompactResult`. */
export function fromJsonCompact(doc: unknown): CompactResult {
  const d = (doc ?? {}) as {
    meta?: { name: string; type: string }[];
    data?: unknown[][];
    statistics?: { elapsed?: number };
  };
  return {
    columns: (d.meta ?? []).map((m) => ({ name: m.name, type: m.type })),
    rows: d.data ?? [],
    elapsedSeconds: Number(d.statistics?.elapsed ?? 0),
  };
}

import { AppError, isAppError } from '../errors/index.ts';
import { checkDatabaseName } from './migrations.ts';
import type { ClickHouse, QuerySettings } from './port.ts';

export interface OperatorQueryOptions {
  /** Values for `{name:Type}` placeholders, bound by the engine. */
  params?: Record<string, unknown>;
  /** Rows returned at most (default 10 000); more are cut and `truncated` is true. */
  maxRows?: number;
  /** The engine stops the statement after this long (default 30 000 ms): QUERY_TIMEOUT. */
  maxExecutionMs?: number;
  /** Database that unqualified table names resolve in (default `default`). */
  database?: string;
}

export interface OperatorQueryResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  /** Engine time, as ClickHouse reports it. */
  elapsedMs: number;
}

export const OPERATOR_QUERY_DEFAULTS = { maxRows: 10_000, maxExecutionMs: 30_000 } as const;

/** ClickHouse codes that mean "this statement may not run here". */
const READONLY = 164; // READONLY: "Cannot execute query in readonly mode", "Cannot modify setting"
const ACCESS_DENIED = 497;
const FUNCTION_NOT_ALLOWED = 446; // introspection functions switched off
const SYNTAX_ERROR = 62;
const TIMEOUT_EXCEEDED = 159;

/**
 * An operator's SQL (the CLI's `msgtrack query`, any console), read-only by ClickHouse's own rules.
 *
 * The statement runs with `readonly = 1` — set together with the limits by us, so the statement can
 * change none of them — plus `max_result_rows` / `result_overflow_mode = 'break'`,
 * `max_execution_time`, and no introspection functions. Readonly mode refuses every write, DDL,
 * `SYSTEM`, `SET`, `OPTIMIZE`, `KILL` and the table functions that reach outside (`file`, `url`,
 * `s3`, `remote`, `hdfs`, `mysql`, …; test/storage/operator-query.test.ts tries each). Both adapters
 * run it as the subquery of a `SELECT *` (`ClickHouse.queryCompact`), so only a SELECT parses.
 *
 * Where the engine can say so (chDB, a current server), ClickHouse's own parser also checks, before
 * anything runs: `formatQuerySingleLine` refuses a second statement and gives the canonical text that
 * is then run (no comments, no trailing `;`); `EXPLAIN AST` gives its tree, and three things readonly
 * mode does not stop are refused there: a statement that is not a SELECT (clear message instead of
 * the wrapping SELECT's syntax error on chDB), a `SETTINGS` clause (inside a subquery it would
 * switch readonly off for that subquery), and the `file()` function (it reads any path in the
 * embedded engine). An old server without `formatQuerySingleLine` (Debian's 18.16) gets the text as
 * written (trailing `;` cut): its HTTP interface refuses multi-statements, applies the request's
 * readonly setting to subqueries too, and the wrapping SELECT stops what its readonly mode lets
 * through (`KILL QUERY`); test/storage/http.test.ts tries that server.
 *
 * Refusals are QUERY_REFUSED; the operator's own mistakes (syntax, unknown table, a bad parameter)
 * QUERY_INVALID; the time limit QUERY_TIMEOUT; an unreachable engine stays STORAGE_UNAVAILABLE.
 */
export async function operatorQuery(
  ch: ClickHouse,
  sql: string,
  options: OperatorQueryOptions = {},
): Promise<OperatorQueryResult> {
  const maxRows = positiveInt('maxRows', options.maxRows ?? OPERATOR_QUERY_DEFAULTS.maxRows);
  const maxExecutionMs = positiveInt(
    'maxExecutionMs',
    options.maxExecutionMs ?? OPERATOR_QUERY_DEFAULTS.maxExecutionMs,
  );
  const database = options.database === undefined ? undefined : checkDatabaseName(options.database);
  if (sql.trim() === '') throw new AppError('QUERY_INVALID', 'the query is empty');
  const statement = await checkedStatement(ch, sql, options.params ?? {});
  const settings: QuerySettings = {
    readonly: 1,
    max_result_rows: maxRows + 1,
    result_overflow_mode: 'break',
    max_execution_time: secondsOf(ch, maxExecutionMs),
    timeout_overflow_mode: 'throw',
    ...(statement.canonical ? { allow_introspection_functions: 0 } : {}),
    output_format_json_quote_64bit_integers: 1,
  };
  try {
    const result = await ch.queryCompact(statement.text, {
      settings,
      ...(options.params === undefined ? {} : { params: options.params }),
      ...(database === undefined ? {} : { database }),
    });
    const truncated = result.rows.length > maxRows;
    const rows = truncated ? result.rows.slice(0, maxRows) : result.rows;
    return {
      columns: result.columns,
      rows,
      rowCount: rows.length,
      truncated,
      elapsedMs: Math.round(result.elapsedSeconds * 1e6) / 1e3,
    };
  } catch (err) {
    throw classify(err, statement, maxExecutionMs);
  }
}

interface Statement {
  /** What runs: ClickHouse's canonical single-line text, or (old server) the text as written. */
  text: string;
  /** Whether `text` came from ClickHouse's parser (one statement, a SELECT, checked below). */
  canonical: boolean;
}

async function checkedStatement(
  ch: ClickHouse,
  sql: string,
  params: Record<string, unknown>,
): Promise<Statement> {
  if (!(await canFormat(ch))) {
    // The one text edit we make: the seed's queries end with `;`, which the wrapping SELECT refuses.
    if (ch.kind === 'http') return { text: sql.replace(/[\s;]+$/, ''), canonical: false };
    throw new AppError('STORAGE_QUERY', 'this engine has no formatQuerySingleLine: cannot check the query');
  }
  let canonical: string;
  try {
    const [row] = await ch.query<{ q: string }>('SELECT formatQuerySingleLine({sql:String}) AS q', { sql });
    canonical = row?.q ?? '';
  } catch (err) {
    const code = clickhouseCode(err);
    if (code === SYNTAX_ERROR && /Multi-statements are not allowed/i.test(messageOf(err))) {
      throw new AppError('QUERY_REFUSED', 'refused: one statement only (found more than one)', {
        context: { reason: 'multi-statement' },
      });
    }
    throw invalid(err);
  }
  let tree: string[];
  try {
    tree = (await ch.query<{ explain: string }>(`EXPLAIN AST ${canonical}`, params)).map((r) => r.explain);
  } catch (err) {
    if (clickhouseCode(err) !== SYNTAX_ERROR) throw invalid(err);
    tree = []; // e.g. `EXPLAIN AST EXPLAIN …`: not a SELECT, refused below
  }
  const root = tree[0]?.trim().split(' ')[0] ?? '';
  if (root !== 'SelectWithUnionQuery' && root !== 'SelectIntersectExceptQuery') {
    throw refused(
      `only a SELECT may run here (read-only): ${canonical.split(' ')[0]?.toUpperCase()} refused`,
      'not-select',
    );
  }
  if (tree.some((line) => /^\s*Set(\s|$)/.test(line))) {
    throw refused(
      'refused: SETTINGS in the query (the limits and read-only mode are set by msgtrack)',
      'settings',
    );
  }
  if (tree.some((line) => /^\s*Function file(\s|$)/.test(line))) {
    throw refused('refused: file() reads local files', 'file');
  }
  return { text: canonical, canonical: true };
}

/** Whether the engine has ClickHouse's parser as a function (22.x+); asked once per connection. */
const formatting = new WeakMap<ClickHouse, Promise<boolean>>();
function canFormat(ch: ClickHouse): Promise<boolean> {
  let known = formatting.get(ch);
  if (known === undefined) {
    known = ch
      .query<{ n: number | string }>(
        "SELECT count() AS n FROM system.functions WHERE name = 'formatQuerySingleLine'",
      )
      .then((rows) => Number(rows[0]?.n ?? 0) > 0);
    known.catch(() => formatting.delete(ch));
    formatting.set(ch, known);
  }
  return known;
}

function refused(message: string, reason: string): AppError {
  return new AppError('QUERY_REFUSED', message, { context: { reason } });
}

function classify(err: unknown, statement: Statement, maxExecutionMs: number): unknown {
  const code = clickhouseCode(err);
  if (code === READONLY || code === ACCESS_DENIED || code === FUNCTION_NOT_ALLOWED) {
    return new AppError('QUERY_REFUSED', `refused (read-only): ${firstLine(messageOf(err))}`, {
      context: { reason: 'readonly', clickhouseCode: code },
      cause: err,
    });
  }
  if (code === TIMEOUT_EXCEEDED) {
    return new AppError('QUERY_TIMEOUT', `the query ran longer than its limit of ${maxExecutionMs} ms`, {
      context: { maxExecutionMs },
      cause: err,
    });
  }
  if (code === SYNTAX_ERROR) {
    // Canonical text parsed on its own, so the error is the wrapping SELECT's: not a SELECT. An old
    // server cannot tell a non-SELECT (or a second statement) from a typo: refused either way.
    return refused(
      statement.canonical
        ? `only a SELECT may run here (read-only): ${firstLine(messageOf(err))}`
        : `only one SELECT may run here; the server could not run it as one: ${firstLine(messageOf(err))}`,
      'not-select',
    );
  }
  if (isAppError(err, 'STORAGE_UNAVAILABLE') || isAppError(err, 'STORAGE_AUTH')) return err;
  return invalid(err);
}

function invalid(err: unknown): unknown {
  if (isAppError(err) && err.code !== 'STORAGE_QUERY') return err;
  return new AppError('QUERY_INVALID', firstLine(messageOf(err)), {
    context: { clickhouseCode: clickhouseCode(err) ?? null },
    cause: err,
  });
}

function clickhouseCode(err: unknown): number | undefined {
  if (!isAppError(err)) return undefined;
  const code = err.context['clickhouseCode'];
  return typeof code === 'number' ? code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** ClickHouse's message without our adapter's and the engine's prefixes, on one line. */
function firstLine(message: string): string {
  return message
    .replace(/^ClickHouse [a-z ]*?: /, '')
    .replace(/^Code: \d+\. DB::(Errno)?Exception: (default: )?/, '')
    .split('\n')[0]!;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new AppError('QUERY_INVALID', `${name} must be an integer ≥ 1, got ${value}`, {
      context: { [name]: value },
    });
  }
  return value;
}

/** `max_execution_time` in seconds; an old server reads it as a whole number of seconds. */
function secondsOf(ch: ClickHouse, ms: number): number {
  return ch.kind === 'http' ? Math.max(1, Math.ceil(ms / 1000)) : ms / 1000;
}

/**
 * The storage port: the one interface the processors and the API use to talk to ClickHouse. Two
 * adapters implement it with the same SQL — the embedded engine (chDB, `openChdb`) and a ClickHouse
 * server over HTTP (`openHttp`). Every error an adapter raises is an `AppError` (STORAGE_*).
 */

/** Values for `{name:Type}` placeholders. Bound by the engine, never spliced into the SQL text. */
export type QueryParams = Readonly<Record<string, unknown>>;

export interface InsertOptions {
  /**
   * `insert_deduplication_token`: a retried insert with the same token into the same table is dropped
   * by the engine (our MergeTree tables set `non_replicated_deduplication_window`). The sink uses the
   * source offset range, e.g. `chat.messages/3/1200-1299`.
   */
  dedupToken?: string;
  /**
   * Rows of the block that share a sorting key are left for the table's merges to fold
   * (`optimize_on_insert = 0`) instead of being folded while the part is written — for inserts whose
   * every target is read through FINAL, GROUP BY or LIMIT 1 BY, never by counting a part's rows.
   */
  foldOnMerge?: boolean;
}

export interface InsertSummary {
  /** Rows handed to the engine (not rows written: a deduplicated insert still reports them). */
  rows: number;
}

/** Settings for one statement, from our own code (never user input): names and numbers or strings. */
export type QuerySettings = Readonly<Record<string, string | number>>;

/** A result with its columns' names and types, as the engine's `JSONCompact` format gives it. */
export interface CompactResult {
  readonly columns: { name: string; type: string }[];
  readonly rows: unknown[][];
  /** Seconds the engine spent on the statement, as it reports it (`statistics.elapsed`). */
  readonly elapsedSeconds: number;
}

export interface CompactQueryOptions {
  readonly params?: QueryParams;
  /** Applied by the engine to this one statement (see `queryCompact`). */
  readonly settings?: QuerySettings;
  /** Database that unqualified table names resolve in (default: the connection's, `default`). */
  readonly database?: string;
}

export interface ClickHouse {
  /** `chdb` (embedded) or `http` (server). */
  readonly kind: 'chdb' | 'http';
  /**
   * Runs a SELECT and returns its rows as parsed JSON objects. 64-bit integers arrive as numbers on
   * chDB and as numbers or strings on a server (`output_format_json_quote_64bit_integers`): wrap them
   * in Number(), or cast in SQL (toUInt32).
   */
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>;
  /**
   * Runs one SELECT-form statement (SELECT, WITH … SELECT, UNION, INTERSECT, EXCEPT) with `settings`
   * applied by the engine to that statement only, and returns rows as arrays with the column types.
   * Both adapters run it as `SELECT * FROM (<sql>)`, so anything but a SELECT is a syntax error.
   * HTTP sends the settings as request settings, applied before the server parses the statement (it
   * refuses multi-statements itself); chDB has no per-call settings and puts them in a SETTINGS
   * clause on the wrapping SELECT.
   */
  queryCompact(sql: string, options?: CompactQueryOptions): Promise<CompactResult>;
  /** Runs a statement that returns no rows (DDL, INSERT … SELECT, ALTER). */
  command(sql: string, params?: QueryParams): Promise<void>;
  /**
   * Inserts rows (objects keyed by column name) into `table` (`db.table`, from our own constants —
   * never user input). All rows should have the same keys; a missing key takes the column default.
   * chDB sends JSONCompactEachRow, HTTP sends JSONEachRow. Do not mutate `rows` until the promise
   * settles (encoding yields to the event loop).
   */
  insert(table: string, rows: readonly object[], options?: InsertOptions): Promise<InsertSummary>;
  /** Resolves when the engine answers; rejects with STORAGE_UNAVAILABLE / STORAGE_AUTH otherwise. */
  ping(): Promise<void>;
  /** Idempotent. Waits for calls in flight. */
  close(): Promise<void>;
}

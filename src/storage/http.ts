import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { AppError } from '../errors/index.ts';
import { toStorageError } from './errors.ts';
import type {
  ClickHouse,
  CompactQueryOptions,
  CompactResult,
  InsertOptions,
  InsertSummary,
  QueryParams,
} from './port.ts';
import { fromJsonCompact, insertSettings, wrapSelect } from './wire.ts';

export interface HttpOptions {
  /** `CLICKHOUSE_URL`, e.g. `http://clickhouse:8123`. */
  url: string;
  /** `CLICKHOUSE_USER` (default `default`). */
  user?: string;
  /** `CLICKHOUSE_PASSWORD` (default empty). Never logged. */
  password?: string;
  /** Per-request timeout in ms (default 30 000). */
  requestTimeoutMs?: number;
}

/**
 * Opens a ClickHouse server through `@clickhouse/client` (HTTP). Nothing is sent until the first call;
 * `ping()` checks reachability and credentials.
 */
export function openHttp(options: HttpOptions): ClickHouse {
  let client: ClickHouseClient;
  try {
    client = createClient({
      url: options.url,
      username: options.user ?? 'default',
      password: options.password ?? '',
      request_timeout: options.requestTimeoutMs ?? 30_000,
      application: 'msgtrack',
      // Errors reach the caller as AppErrors; the client's own console logging would only repeat them.
      log: { level: ClickHouseLogLevel.OFF },
    });
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `CLICKHOUSE_URL is not a valid URL: ${(err as Error).message}`, {
      context: { key: 'CLICKHOUSE_URL' },
      cause: err,
    });
  }
  return new HttpClickHouse(client);
}

class HttpClickHouse implements ClickHouse {
  readonly kind = 'http' as const;
  readonly #client: ClickHouseClient;
  #closed = false;

  constructor(client: ClickHouseClient) {
    this.#client = client;
  }

  #checkOpen(op: string): void {
    if (this.#closed) {
      throw new AppError('STORAGE_UNAVAILABLE', 'ClickHouse client is closed', { context: { op } });
    }
  }

  async query<T = Record<string, unknown>>(sql: string, params: QueryParams = {}): Promise<T[]> {
    this.#checkOpen('query');
    try {
      const rs = await this.#client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
      return await rs.json<T>();
    } catch (err) {
      throw toStorageError(err, { op: 'query' });
    }
  }

  async queryCompact(sql: string, options: CompactQueryOptions = {}): Promise<CompactResult> {
    this.#checkOpen('query');
    // Request settings (URL parameters) are applied by the server before it parses the statement;
    // the wrapping SELECT keeps the statement a SELECT even on a server whose readonly mode lets
    // `KILL QUERY` through (18.16). `database` is the HTTP interface's own parameter of that kind.
    const settings: Record<string, string | number> = { ...options.settings };
    if (options.database !== undefined) settings['database'] = options.database;
    try {
      const rs = await this.#client.query({
        query: wrapSelect(sql),
        query_params: options.params ?? {},
        format: 'JSONCompact',
        clickhouse_settings: settings as Record<string, string>,
      });
      return fromJsonCompact(await rs.json());
    } catch (err) {
      throw toStorageError(err, { op: 'query' });
    }
  }

  async command(sql: string, params: QueryParams = {}): Promise<void> {
    this.#checkOpen('command');
    try {
      await this.#client.command({ query: sql, query_params: params });
    } catch (err) {
      throw toStorageError(err, { op: 'command' });
    }
  }

  async insert(table: string, rows: readonly object[], options: InsertOptions = {}): Promise<InsertSummary> {
    this.#checkOpen('insert');
    if (rows.length === 0) return { rows: 0 };
    try {
      await this.#client.insert({
        table,
        values: rows as object[],
        format: 'JSONEachRow',
        clickhouse_settings: insertSettings(options),
      });
      return { rows: rows.length };
    } catch (err) {
      throw toStorageError(err, { op: 'insert', table });
    }
  }

  async ping(): Promise<void> {
    // `/ping` needs no credentials, so a real query checks them too.
    await this.query('SELECT 1 AS ok');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.close();
  }
}

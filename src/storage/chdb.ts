import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { drainPending, Session } from 'chdb';
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
import {
  encodeJsonCompactEachRow,
  fromJsonCompact,
  insertSettings,
  settingsClause,
  wrapSelect,
} from './wire.ts';

export interface ChdbOptions {
  /** The platform's data directory; the engine lives in `<dataDir>/clickhouse`. */
  dataDir: string;
  /** Create `<dataDir>/clickhouse` when missing (default true); false: CONFIG_INVALID instead. */
  create?: boolean;
}

/**
 * Opens the embedded ClickHouse engine (chDB 3.4, ClickHouse 26.7 in-process) on
 * `<dataDir>/clickhouse`. The data persists across reopen.
 *
 * chDB allows one data directory per process and one statement per connection at a time, so every
 * call goes through a FIFO queue. The async entry points (`queryBindAsync`, raw-Buffer `insert`) run
 * on the libuv pool: the event loop stays free while the engine works (bench/sink.bench.ts measures
 * the event-loop lag during 50k-row inserts).
 */
export async function openChdb(options: ChdbOptions): Promise<ClickHouse> {
  const path = join(options.dataDir, 'clickhouse');
  if (options.create === false) {
    try {
      await access(path);
    } catch {
      throw new AppError(
        'CONFIG_INVALID',
        `no ClickHouse data in ${path}: DATA_DIR must be the platform's data directory (msgtrack start creates it)`,
        { context: { key: 'DATA_DIR', path } },
      );
    }
  } else await mkdir(path, { recursive: true });
  let session: Session;
  try {
    session = new Session(path);
  } catch (err) {
    throw toStorageError(err, { op: 'open', path });
  }
  return new ChdbClickHouse(session, path);
}

class ChdbClickHouse implements ClickHouse {
  readonly kind = 'chdb' as const;
  readonly #session: Session;
  readonly #path: string;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(session: Session, path: string) {
    this.#session = session;
    this.#path = path;
  }

  /** Runs `fn` after every call queued before it; failures do not break the queue. */
  #serial<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new AppError('STORAGE_UNAVAILABLE', 'chDB session is closed', { context: { op, path: this.#path } }),
      );
    }
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async query<T = Record<string, unknown>>(sql: string, params: QueryParams = {}): Promise<T[]> {
    return this.#serial('query', async () => {
      try {
        const res = await this.#session.queryBindAsync(sql, params, { format: 'JSONEachRow' });
        const text = res.text();
        if (text.length === 0) return [];
        return JSON.parse(`[${text.trimEnd().replaceAll('\n', ',')}]`) as T[];
      } catch (err) {
        throw toStorageError(err, { op: 'query' });
      }
    });
  }

  async queryCompact(sql: string, options: CompactQueryOptions = {}): Promise<CompactResult> {
    // The engine has no per-call settings: a SETTINGS clause on the wrapping SELECT applies them to
    // the whole statement.
    const wrapped = `${wrapSelect(sql)} ${settingsClause(options.settings ?? {})}`;
    const database = options.database;
    return this.#serial('query', async () => {
      try {
        // `USE` is per connection: set and reset inside this one queue slot.
        if (database !== undefined) await this.#session.queryAsync(`USE ${database}`, { format: 'TSV' });
        try {
          const res = await this.#session.queryBindAsync(wrapped, options.params ?? {}, {
            format: 'JSONCompact',
          });
          return fromJsonCompact(JSON.parse(res.text()));
        } finally {
          if (database !== undefined) await this.#session.queryAsync('USE default', { format: 'TSV' });
        }
      } catch (err) {
        throw toStorageError(err, { op: 'query' });
      }
    });
  }

  async command(sql: string, params: QueryParams = {}): Promise<void> {
    await this.#serial('command', async () => {
      try {
        await this.#session.queryBindAsync(sql, params, { format: 'TabSeparated' });
      } catch (err) {
        throw toStorageError(err, { op: 'command' });
      }
    });
  }

  async insert(table: string, rows: readonly object[], options: InsertOptions = {}): Promise<InsertSummary> {
    if (rows.length === 0) return { rows: 0 };
    // Encode now (overlapping the engine's work on earlier calls), insert in call order.
    const encoded = encodeJsonCompactEachRow(rows);
    encoded.catch(() => undefined); // awaited below; keep an early failure from being "unhandled"
    return this.#serial('insert', async () => {
      try {
        const { columns, payload } = await encoded;
        await this.#session.insert({
          table,
          values: payload,
          columns,
          format: 'JSONCompactEachRow',
          // A view batch patches message_rows in the day partition of each message it reads
          // (migration 14): reads of old messages may name more than the default 100 days. (A
          // clickhouse-server sets this in its profile: old servers reject the setting per insert.)
          settings: { ...insertSettings(options), max_partitions_per_insert_block: 0 },
        });
        return { rows: rows.length };
      } catch (err) {
        throw toStorageError(err, { op: 'insert', table });
      }
    });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1 AS ok');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    this.#session.close();
    await drainPending();
  }
}

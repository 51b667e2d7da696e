import { createHash } from 'node:crypto';
import type { Clock } from '../clock/index.ts';
import { AppError } from '../errors/index.ts';
import type { ClickHouse } from './port.ts';
import {
  DEFAULT_RETENTION,
  MIGRATIONS,
  type Migration,
  RETENTION_TARGETS,
  type Retention,
} from './schema.ts';
import { toDateTime64 } from './wire.ts';

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** A database name from configuration or a test, checked before it is placed in DDL. */
export function checkDatabaseName(database: string): string {
  if (!IDENTIFIER.test(database)) {
    throw new AppError(
      'CONFIG_INVALID',
      `database name must match ${IDENTIFIER}, got ${JSON.stringify(database)}`,
      {
        context: { database },
      },
    );
  }
  return database;
}

/** sha256 over the statements as written (with `$db`), so the checksum does not depend on the database. */
export function checksumOf(migration: Migration): string {
  const h = createHash('sha256');
  for (const s of migration.statements) h.update(s).update('\n;\n');
  return h.digest('hex');
}

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
  applied_at: string;
}

export interface MigrateOptions {
  /** Default `message_db`. */
  database?: string;
  clock: Clock;
  /** Default: the released list (src/storage/schema.ts). */
  migrations?: readonly Migration[];
}

/**
 * Applies pending migrations in version order and records each in `<db>.schema_migrations`
 * (version, name, checksum, applied_at). Idempotent: applied versions are skipped. Statements are
 * `IF NOT EXISTS`, so a migration interrupted half-way re-runs cleanly. An applied migration whose
 * checksum differs from the code is a STORAGE_MIGRATION error: released migrations never change.
 * Returns the versions applied by this call.
 */
export async function migrate(ch: ClickHouse, options: MigrateOptions): Promise<number[]> {
  const db = checkDatabaseName(options.database ?? 'message_db');
  const migrations = [...(options.migrations ?? MIGRATIONS)].sort((a, b) => a.version - b.version);
  await ch.command(`CREATE DATABASE IF NOT EXISTS ${db}`);
  await ch.command(
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (
      version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree ORDER BY version`,
  );
  const applied = new Map<number, AppliedMigration>();
  for (const row of await appliedMigrations(ch, db)) applied.set(row.version, row);
  for (const m of migrations) {
    const seen = applied.get(m.version);
    if (seen !== undefined && seen.checksum !== checksumOf(m)) {
      throw new AppError(
        'STORAGE_MIGRATION',
        `migration ${m.version} (${m.name}) was applied with checksum ${seen.checksum} but the code has ${checksumOf(m)}: released migrations must not change; add a new one`,
        { context: { database: db, version: m.version, name: m.name } },
      );
    }
  }
  const done: number[] = [];
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    for (const statement of m.statements) {
      try {
        await ch.command(statement.replaceAll('$db', db));
      } catch (err) {
        throw new AppError(
          'STORAGE_MIGRATION',
          `migration ${m.version} (${m.name}) failed: ${(err as Error).message}`,
          {
            retriable: err instanceof AppError && err.retriable,
            context: { database: db, version: m.version, name: m.name },
            cause: err,
          },
        );
      }
    }
    await ch.insert(`${db}.schema_migrations`, [
      {
        version: m.version,
        name: m.name,
        checksum: checksumOf(m),
        applied_at: toDateTime64(options.clock.now()),
      },
    ]);
    done.push(m.version);
  }
  return done;
}

/** The recorded migrations, by version. */
export async function appliedMigrations(
  ch: ClickHouse,
  database = 'message_db',
): Promise<AppliedMigration[]> {
  const db = checkDatabaseName(database);
  const rows = await ch.query<AppliedMigration>(
    `SELECT version, name, checksum, toString(applied_at) AS applied_at
     FROM ${db}.schema_migrations ORDER BY version, applied_at LIMIT 1 BY version`,
  );
  return rows.map((r) => ({ ...r, version: Number(r.version) }));
}

/**
 * Sets each table's TTL from `retention` (0 removes it). Cheap when nothing changed: the current TTL
 * is read from system.tables first. Run after `migrate`.
 */
export async function applyRetention(
  ch: ClickHouse,
  retention: Partial<Retention> = {},
  database = 'message_db',
): Promise<void> {
  const db = checkDatabaseName(database);
  const wanted: Retention = { ...DEFAULT_RETENTION, ...retention };
  const current = new Map<string, string>();
  for (const row of await ch.query<{ name: string; engine_full: string }>(
    'SELECT name, engine_full FROM system.tables WHERE database = {db:String}',
    { db },
  )) {
    current.set(row.name, row.engine_full);
  }
  for (const target of RETENTION_TARGETS) {
    const days = wanted[target.key];
    if (!Number.isInteger(days) || days < 0) {
      throw new AppError('CONFIG_INVALID', `retention ${target.key} must be an integer >= 0, got ${days}`, {
        context: { key: target.key, value: days },
      });
    }
    const engine = current.get(target.table) ?? '';
    const ttl = /\bTTL (.*?)(?: SETTINGS |$)/.exec(engine)?.[1];
    const want = days === 0 ? undefined : `toDateTime(${target.column}) + toIntervalDay(${days})`;
    if (ttl === want) continue;
    if (want === undefined) await ch.command(`ALTER TABLE ${db}.${target.table} REMOVE TTL`);
    else
      await ch.command(
        `ALTER TABLE ${db}.${target.table} MODIFY TTL toDateTime(${target.column}) + INTERVAL ${days} DAY`,
      );
  }
}

import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ManualClock } from '../../src/clock/index.ts';
import { type ClickHouse, migrate, openChdb } from '../../src/storage/index.ts';

/**
 * A fresh directory and whatever `open` starts in it; after the test, `close` runs first, then the
 * directory is removed (node:test runs after-hooks in registration order, so one hook does both).
 */
export async function inTempDir<T>(
  t: TestContext,
  prefix: string,
  open: (dir: string) => Promise<T>,
  close: (value: T) => Promise<void>,
): Promise<{ value: T; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let value: T | undefined;
  let opened = false;
  t.after(async () => {
    try {
      if (opened) await close(value as T);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  value = await open(dir);
  opened = true;
  return { value, dir };
}

/** chDB on a fresh data directory (no schema); closed, then removed, after the test. */
export async function openFresh(t: TestContext): Promise<ClickHouse> {
  const { value } = await inTempDir(
    t,
    'storage-',
    (dataDir) => openChdb({ dataDir }),
    (ch) => ch.close(),
  );
  return value;
}

/**
 * chDB on a fresh data directory with the schema migrated; closed after the test. chDB binds one data
 * directory per process, so tests in one file run one at a time (node:test's default) and each
 * closes its session before the next opens another.
 */
export async function openMigrated(t: TestContext): Promise<{ ch: ClickHouse; dataDir: string }> {
  const { value: ch, dir: dataDir } = await inTempDir(
    t,
    'storage-',
    (dir) => openChdb({ dataDir: dir }),
    (c) => c.close(),
  );
  await migrate(ch, { clock: new ManualClock(Date.UTC(2026, 0, 1)) });
  return { ch, dataDir };
}

/** The seed's example queries, verbatim. */
export const SEED_HOURLY = `SELECT toStartOfHour(created_at) AS hour, count(*) AS messages
FROM message_db.messages GROUP BY hour ORDER BY hour DESC;`;
export const SEED_READ_RATE = `SELECT sender_id, count(*) AS sent, countIf(read_status = 'read') AS read_count,
       round(read_count * 100.0 / sent, 2) AS read_rate
FROM message_db.messages GROUP BY sender_id;`;

/**
 * Damages one active part of `message_db.<table>`: its first column file cut in half. chDB finds the
 * part broken when it next opens the data and moves it to `detached/broken-on-start_<name>`.
 * Returns the part's name.
 */
export async function damageAPart(ch: ClickHouse, table = 'messages_base'): Promise<string> {
  const [part] = await ch.query<{ name: string; path: string }>(
    "SELECT name, path FROM system.parts WHERE database = 'message_db' AND table = {table:String} AND active ORDER BY name LIMIT 1",
    { table },
  );
  assert.ok(part, `message_db.${table} has a part`);
  const file = join(part.path, (await readdir(part.path)).filter((f) => f.endsWith('.bin')).sort()[0]!);
  await truncate(file, Math.floor((await stat(file)).size / 2));
  return part.name;
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ManualClock } from '../../src/clock/index.ts';
import { type ClickHouse, migrate, openChdb } from '../../src/storage/index.ts';

/** A fresh data directory, removed after the test. */
export async function tempDir(t: TestContext, prefix = 'storage-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * chDB on a fresh data directory with the schema migrated; closed after the test. chDB binds one data
 * directory per process, so tests in one file run one at a time (node:test's default) and each
 * closes its session before the next opens another.
 */
export async function openMigrated(t: TestContext): Promise<{ ch: ClickHouse; dataDir: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'storage-'));
  const ch = await openChdb({ dataDir });
  t.after(async () => {
    await ch.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  await migrate(ch, { clock: new ManualClock(Date.UTC(2026, 0, 1)) });
  return { ch, dataDir };
}

/** The seed's example queries, verbatim. */
export const SEED_HOURLY = `SELECT toStartOfHour(created_at) AS hour, count(*) AS messages
FROM message_db.messages GROUP BY hour ORDER BY hour DESC;`;
export const SEED_READ_RATE = `SELECT sender_id, count(*) AS sent, countIf(read_status = 'read') AS read_count,
       round(read_count * 100.0 / sent, 2) AS read_rate
FROM message_db.messages GROUP BY sender_id;`;

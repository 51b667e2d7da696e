import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock/index.ts';
import { appliedMigrations, MIGRATIONS, migrate, openChdb } from '../../src/storage/index.ts';

import { BIN } from '../helpers/msgtrack.ts';

test('msgtrack query: read-only SELECT, --file, stdin, --param, --max-rows, --timeout; no migrations', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-query-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A store as the previous release left it: every migration but the latest applied.
  const ch = await openChdb({ dataDir: dir });
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  await migrate(ch, {
    clock,
    migrations: MIGRATIONS.slice(0, -1),
  });
  const migrationsBefore = await appliedMigrations(ch);
  await ch.close();

  await writeFile(join(dir, 'q.sql'), '-- a long query from a file\nSELECT {n:UInt32} * 2 AS doubled;\n');
  const run = (args: string[], input?: string) =>
    spawnSync(process.execPath, [BIN, 'query', ...args], {
      encoding: 'utf8',
      env: { ...process.env, DATA_DIR: dir, CLICKHOUSE_URL: '' },
      ...(input === undefined ? {} : { input }),
    });
  const brief = (r: ReturnType<typeof run>) => [r.status, r.stdout, r.stderr.trim()];
  const results = {
    table: brief(run(["SELECT 1 AS one, 'x' AS two"])),
    file: brief(run(['--file', join(dir, 'q.sql'), '--param', 'n=21'])),
    // stdin, JSON lines and the row limit in one run
    stdin: brief(run(['-', '--json', '--max-rows', '2'], 'SELECT number FROM numbers(3)')),
    drop: brief(run(['DROP TABLE message_db.sink_progress'])),
    timeout: brief(run(['--timeout', '200', 'SELECT count() FROM numbers(1e12)'])),
    badParam: brief(run(['--param', 'n', 'SELECT 1'])),
    both: brief(run(['--file', join(dir, 'q.sql'), 'SELECT 1'])),
    none: brief(run([])),
  };
  const after = await openChdb({ dataDir: dir });
  const migrationsAfter = await appliedMigrations(after);
  const progress = await after.query('SELECT count() AS n FROM message_db.sink_progress');
  await after.close();
  const missing = spawnSync(process.execPath, [BIN, 'query', 'SELECT 1'], {
    encoding: 'utf8',
    env: { ...process.env, DATA_DIR: join(dir, 'nowhere'), CLICKHOUSE_URL: '' },
  });

  assert.deepStrictEqual(
    { results, migrationsAfter, progress, missing: [missing.status, missing.stderr.trim()] },
    {
      results: {
        table: [0, 'one  two\n1    x  \n', '1 row'],
        file: [0, 'doubled\n42     \n', '1 row'],
        stdin: [0, '{"number":"0"}\n{"number":"1"}\n', '2 rows (cut at --max-rows=2; more exist)'],
        drop: [1, '', 'msgtrack query: only a SELECT may run here (read-only): DROP refused'],
        timeout: [1, '', 'msgtrack query: the query ran longer than its limit of 200 ms'],
        badParam: [2, '', 'msgtrack query: --param n is invalid: expected name=value'],
        both: [2, '', 'msgtrack query: give the query either as an argument or with --file, not both'],
        none: [2, '', 'msgtrack query: expected a query, e.g. "SELECT count() FROM message_db.messages"'],
      },
      // Opening for a query applied no migration (and so no TTL change either: that runs after them).
      migrationsAfter: migrationsBefore,
      progress: [{ n: 0 }],
      missing: [
        2,
        `msgtrack query: no ClickHouse data in ${join(dir, 'nowhere', 'clickhouse')}: DATA_DIR must be the platform's data directory (msgtrack start creates it)`,
      ],
    },
  );
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const BIN = new URL('../../bin/msgtrack.js', import.meta.url).pathname;

test('msgtrack query runs a SELECT on the migrated storage; errors are clear', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-query-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'query', ...args], {
      encoding: 'utf8',
      env: { ...process.env, DATA_DIR: dir, CLICKHOUSE_URL: '' },
    });
  const table = run("SELECT 1 AS one, 'x' AS two");
  const json = run('--json', 'SELECT toUInt32(count()) AS n FROM message_db.messages');
  const bad = run('SELEC 1');
  const none = run();
  assert.deepStrictEqual(
    [table.status, table.stdout, json.status, json.stdout, bad.status, none.status, none.stderr.trim()],
    [
      0,
      'one  two\n1    x  \n',
      0,
      '{"n":0}\n',
      1,
      2,
      'msgtrack query: expected a query, e.g. "SELECT count() FROM message_db.messages"',
    ],
  );
  assert.match(bad.stderr, /^msgtrack query: ClickHouse query failed: .*Syntax error/);
});

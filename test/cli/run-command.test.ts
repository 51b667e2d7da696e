import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openChdb } from '../../src/storage/index.ts';

const BIN = new URL('../../bin/msgtrack.js', import.meta.url).pathname;

test('msgtrack start runs log, migrations, sink and generator; SIGINT drains and exits 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-start-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [BIN, 'start', '--rate', '200'], {
    env: { ...process.env, DATA_DIR: dir, KAFKA_BROKERS: '', CLICKHOUSE_URL: '', SINK_FLUSH_MS: '200' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!stderr.includes('running; Ctrl-C stops')) {
    assert.ok(Date.now() < deadline && child.exitCode === null, `start did not come up: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 3000));
  child.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /processor clickhouse-sink: stopped\n.*stopped\n$/s);

  // What was generated in those seconds is in ClickHouse, committed before the exit.
  const ch = await openChdb({ dataDir: dir });
  t.after(() => ch.close());
  const [row] = await ch.query<{ n: string }>('SELECT count() AS n FROM message_db.messages');
  assert.ok(Number(row!.n) > 100, `messages stored: ${row!.n}`);
  // Retention from RETENTION_*_DAYS (defaults): views expire after 30 days, messages never.
  const ttl = await ch.query<{ name: string; ttl: number }>(
    `SELECT name, toUInt8(position(engine_full, ' TTL ') > 0) AS ttl FROM system.tables
     WHERE database = 'message_db' AND name IN ('messages_base', 'message_views') ORDER BY name`,
  );
  assert.deepStrictEqual(
    ttl.map((r) => [r.name, Number(r.ttl)]),
    [
      ['message_views', 1],
      ['messages_base', 0],
    ],
  );
});

test('msgtrack process needs known processor names', () => {
  const none = spawnSync(process.execPath, [BIN, 'process'], { encoding: 'utf8' });
  const unknown = spawnSync(process.execPath, [BIN, 'process', 'spam-filter'], {
    encoding: 'utf8',
    env: { ...process.env, DATA_DIR: join(tmpdir(), 'msgtrack-never-created') },
  });
  assert.deepStrictEqual(
    [none.status, none.stderr.trim(), unknown.status, unknown.stderr.trim()],
    [
      2,
      'msgtrack process: name at least one processor: clickhouse-sink',
      2,
      'msgtrack process: unknown processor "spam-filter": expected one of clickhouse-sink',
    ],
  );
});

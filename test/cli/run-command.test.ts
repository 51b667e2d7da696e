import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROCESSOR_NAMES } from '../../src/app/index.ts';
import { openChdb } from '../../src/storage/index.ts';
import { apiUrlOf, BIN, spawnMsgtrack, whenRunning } from '../helpers/msgtrack.ts';
import { waitUntil } from '../helpers/wait.ts';

test('msgtrack start runs log, migrations, processors, API and generator; SIGINT drains and exits 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-start-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const run = spawnMsgtrack(['start', '--rate', '200'], {
    ...process.env,
    DATA_DIR: dir,
    KAFKA_BROKERS: '',
    CLICKHOUSE_URL: '',
    SINK_FLUSH_MS: '200',
    PORT: '0',
    API_TOKEN: '',
  });
  const { child, exited } = run;
  t.after(() => child.kill('SIGKILL'));
  const url = apiUrlOf(await whenRunning(run));
  // pino: one JSON object per line, level names as LOG_LEVEL's.
  const messages = (): { level: string; msg: string; time?: string }[] =>
    run
      .stderr()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  // Run until the sink has stored more than 100 generated messages (its own count on /metrics).
  await waitUntil('the sink to store 100 messages', 60_000, async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const rows = /^msgtrack_sink_batch_rows_total\{table="[^"]*messages_base"\} (\S+)$/m.exec(text);
    return Number(rows?.[1] ?? 0) > 100;
  });
  const health = spawnSync(process.execPath, [BIN, 'health', '--url', url], { encoding: 'utf8' });
  const status = (await (await fetch(`${url}/api/v1/messages/not-there`)).json()) as {
    error: { code: string };
  };
  child.kill('SIGINT');
  assert.equal(await exited, 0, run.stderr());
  const logged = messages();
  assert.deepStrictEqual(
    [
      health.status,
      status.error.code,
      logged.at(-1),
      logged.some((m) => m.msg === 'processor clickhouse-sink: stopped'),
    ],
    [0, 'API_NOT_FOUND', { level: 'info', time: logged.at(-1)?.time, msg: 'stopped' }, true],
  );

  // What was generated in those seconds is in ClickHouse, committed before the exit.
  // Closed before the test's cleanup removes DATA_DIR (t.after hooks run in registration order).
  const ch = await openChdb({ dataDir: dir });
  try {
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
  } finally {
    await ch.close();
  }
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
      `msgtrack process: name at least one processor: ${PROCESSOR_NAMES.join(', ')}`,
      2,
      `msgtrack process: unknown processor "spam-filter": expected one of ${PROCESSOR_NAMES.join(', ')}`,
    ],
  );
});

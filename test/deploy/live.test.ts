/**
 * The deployment's observability against a real run: generated traffic through `msgtrack start`
 * (embedded log, chDB), scraped by a real Prometheus, checked with scripts/health-check.sh, then
 * every Grafana panel's query on the data that run stored.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openChdb } from '../../src/storage/index.ts';
import { apiUrlOf, spawnMsgtrack, whenRunning } from '../helpers/msgtrack.ts';
import {
  dashboards,
  EMBEDDED_ENV,
  exited,
  expandMacros,
  generateInto,
  healthCheck,
  ROOT,
  readRepoFile,
  run,
  until,
} from './helpers.ts';

// Recent event time: retention (RETENTION_*_DAYS) would drop views and windows of an old day.
const START = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
const ENV = {
  ...EMBEDDED_ENV,
  // One event a second through the API: the second post below is refused (429), so the ingest
  // counters both have series.
  INGEST_RATE_LIMIT: '1',
};

/** The columns each table panel shows (time-series panels: `time`, then numbers). */
const TABLE_COLUMNS: Record<string, string[]> = {
  'msgtrack-messages/2': ['messages', 'senders', 'conversations'],
  'msgtrack-messages/3': ['hour', 'messages'],
  'msgtrack-messages/5': ['user_id', 'sent', 'received', 'reads', 'active_minutes'],
  'msgtrack-messages/8': ['sender_id', 'sent', 'read_count', 'read_rate'],
  'msgtrack-analytics/3': [
    'window_start',
    'window_end',
    'conversation_id',
    'message_count',
    'participant_count',
    'baseline',
    'peak_threshold',
  ],
  'msgtrack-analytics/4': ['word', 'mentions', 'best_score'],
  'msgtrack-analytics/5': ['window_start', 'rank', 'word', 'count', 'score', 'baseline'],
  'msgtrack-analytics/7': [
    'detected_at',
    'kind',
    'severity',
    'status',
    'user_id',
    'count',
    'threshold',
    'message_count',
    'alert_id',
  ],
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('a generated run: health-check.sh, Prometheus scrapes msgtrack_ series, every panel query returns rows', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-deploy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = { ...ENV, DATA_DIR: join(dir, 'data') };

  // 10 minutes of event time (≈ 3,200 messages, 2,900 views; spam bursts, trends, peaks injected).
  generateInto(env, START, 600);
  // scripts/create-topics.sh on the topics the generator created: idempotent, exit 0.
  const topics = spawnSync('bash', [`${ROOT}scripts/create-topics.sh`], { encoding: 'utf8', env });

  const msgtrack = spawnMsgtrack(['start', '--no-generator'], env);
  const { child } = msgtrack;
  t.after(() => child.kill('SIGKILL'));
  const url = apiUrlOf(await whenRunning(msgtrack));
  const healthyRun = healthCheck(url, env);
  const post = (i: number) =>
    fetch(`${url}/api/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        message_id: `deploy-${i}`,
        timestamp: new Date(START + 3_600_000).toISOString(),
        event_type: 'message_sent',
        conversation_id: 'deploy-c',
        sender_id: 'deploy-a',
        receiver_id: 'deploy-b',
        user_id: 'deploy-a',
        content: 'hello from the deployment test',
        message_type: 'text',
      }),
    }).then((r) => r.status);
  const posted = [await post(1), await post(2)];

  // A real Prometheus scraping this instance every second.
  const promPort = await freePort();
  const promDir = join(dir, 'prometheus');
  await writeFile(
    join(dir, 'prometheus.yml'),
    [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      // The deployment's alert rules, evaluated on this instance's series.
      `rule_files: ["${ROOT}deploy/prometheus/rules/msgtrack.yml"]`,
      'scrape_configs:',
      '  - job_name: msgtrack-api',
      `    static_configs: [{targets: ["${new URL(url).host}"]}]`,
      '',
    ].join('\n'),
  );
  const prometheus = run('promtool', ['check', 'config', join(dir, 'prometheus.yml')]);
  assert.equal(prometheus.status, 0, prometheus.stdout + prometheus.stderr);
  const prom = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${promDir}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: 'ignore' },
  );
  t.after(() => prom.kill('SIGKILL'));
  const promApi = `http://127.0.0.1:${promPort}/api/v1`;
  const scraped = await until('Prometheus to scrape msgtrack_ series', 30_000, async () => {
    const res = await fetch(`${promApi}/label/__name__/values`);
    const names = ((await res.json()) as { data: string[] }).data.filter((n) => n.startsWith('msgtrack_'));
    return names.includes('msgtrack_processor_lag_records') ? names : undefined;
  });
  // Every alert rule has been evaluated without error.
  const ruleHealth = await until('the alert rules to be evaluated', 30_000, async () => {
    const res = await fetch(`${promApi}/rules`);
    const groups = (
      (await res.json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } }
    ).data.groups;
    const rules = groups.flatMap((g) => g.rules);
    return rules.length > 0 && rules.every((r) => r.health !== 'unknown')
      ? Object.fromEntries(rules.map((r) => [r.name, r.health]))
      : undefined;
  });
  // Every metric the pipeline dashboard and the alert rules use is one this instance exports.
  const exprs = dashboards()
    .flatMap((d) => d.panels)
    .filter((p) => p.datasource.type === 'prometheus')
    .flatMap((p) => p.targets.map((x) => x.expr!));
  const used = new Set(
    [...exprs.join(' '), ...readRepoFile('deploy/prometheus/rules/msgtrack.yml')]
      .join('')
      .match(/msgtrack_\w+/g),
  );
  const missing = [...used].filter((n) => !scraped.includes(n));
  // Each panel's PromQL, with Grafana's $__rate_interval, is a query Prometheus accepts.
  const refused: string[] = [];
  for (const expr of exprs) {
    const res = await fetch(
      `${promApi}/query?query=${encodeURIComponent(expr.replaceAll('$__rate_interval', '1m'))}`,
    );
    if (((await res.json()) as { status: string }).status !== 'success') refused.push(expr);
  }
  prom.kill('SIGTERM');
  await exited(prom);

  // Every processor has caught up with the log; then a clean stop (drain, commit).
  await until('the processors to catch up', 60_000, async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const lag = [...text.matchAll(/^msgtrack_processor_lag_records\{[^}]*\} (\d+)/gm)].map((m) =>
      Number(m[1]),
    );
    const sinkRows = [...text.matchAll(/^msgtrack_sink_batch_rows_total\{[^}]*\} (\d+)/gm)].length;
    return lag.length > 0 && lag.every((l) => l === 0) && sinkRows >= 4 ? true : undefined;
  });
  await new Promise((r) => setTimeout(r, 1500));
  child.kill('SIGINT');
  assert.equal(await exited(child), 0, msgtrack.stderr());
  const stoppedRun = healthCheck(url, env);
  assert.deepStrictEqual(
    {
      topics: topics.status,
      healthy: healthyRun.status,
      posted,
      stopped: stoppedRun.status,
      stoppedSays: /does not answer/.test(stoppedRun.stderr),
      missing,
      refused,
      ruleHealth,
    },
    {
      topics: 0,
      healthy: 0,
      posted: [202, 429],
      stopped: 1,
      stoppedSays: true,
      missing: [],
      refused: [],
      ruleHealth: {
        MsgtrackProcessorLagGrowing: 'ok',
        MsgtrackInstanceDown: 'ok',
        MsgtrackProcessorDown: 'ok',
        MsgtrackDeadLettersRising: 'ok',
        MsgtrackSinkSlow: 'ok',
      },
    },
  );

  // Every ClickHouse panel's SQL, macros expanded for a range around the run, on the schema the run created.
  const range = { fromS: START / 1000 - 3600, toS: START / 1000 + 7200, intervalS: 60 };
  const results: Record<string, { columns: string[]; timeSeries: boolean; rows: boolean }> = {};
  const expected: typeof results = {};
  // Closed before the test's cleanup removes the data dir (t.after hooks run in registration order).
  const ch = await openChdb({ dataDir: env.DATA_DIR });
  try {
    for (const d of dashboards()) {
      for (const p of d.panels.filter((x) => x.datasource.type === 'grafana-clickhouse-datasource')) {
        const key = `${d.uid}/${p.id}`;
        const target = p.targets[0]!;
        const sql = expandMacros(target.rawSql ?? '', range);
        const described = await ch.query<{ name: string; type: string }>(`DESCRIBE TABLE (${sql})`);
        const rows = await ch.query(sql);
        const timeSeries = target.format === 0;
        results[key] = {
          columns: described.map((c) => c.name),
          timeSeries:
            timeSeries &&
            /^DateTime/.test(described[0]!.type) &&
            described.slice(1).every((c) => /^(U?Int|Float|Decimal|Nullable\(Float)/.test(c.type)),
          rows: rows.length > 0,
        };
        expected[key] = {
          columns: timeSeries
            ? ['time', ...described.slice(1).map((c) => c.name)]
            : (TABLE_COLUMNS[key] ?? []),
          timeSeries,
          rows: true,
        };
      }
    }
  } finally {
    await ch.close();
  }
  assert.deepStrictEqual(results, expected);
});

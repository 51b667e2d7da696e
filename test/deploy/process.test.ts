/**
 * A processor container's endpoint, for real: `msgtrack process <names…>` serves /health, /ready
 * (its processors, the log, storage) and /metrics (`msgtrack_…`) on HOST:PORT, the endpoint the
 * compose health checks (`msgtrack health`) and Prometheus's `msgtrack-processors` job use;
 * scripts/health-check.sh exits 0 against it and 1 once it stopped. `--no-http` listens on nothing.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnMsgtrack, whenRunning } from '../helpers/msgtrack.ts';
import { eventually } from '../helpers/wait.ts';
import { EMBEDDED_ENV, exited, generateInto, healthCheck } from './helpers.ts';

const START = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;

/** Spawns `msgtrack process …` and waits until it runs; its stderr (pino JSON lines) so far. */
async function startProcess(
  t: { after: (fn: () => void) => void },
  env: NodeJS.ProcessEnv,
  args: string[],
): Promise<{ child: ChildProcess; stderr: () => string }> {
  const p = spawnMsgtrack(['process', ...args], env);
  t.after(() => p.child.kill('SIGKILL'));
  await whenRunning(p);
  return p;
}

/** `name{labels} value` lines of a Prometheus exposition, for one metric, as labels → value. */
function series(text: string, name: string): Record<string, number> {
  return Object.fromEntries(
    [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((m) => [m[1]!, Number(m[2])]),
  );
}

test('msgtrack process serves /health, /ready, /metrics; health-check.sh 0 while it runs, 1 once stopped', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-process-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = { ...EMBEDDED_ENV, DATA_DIR: join(dir, 'data') };
  // Two minutes of event time (≈ 600 messages) in the embedded log for the processors to consume.
  generateInto(env, START, 120);

  const { child, stderr } = await startProcess(t, env, ['clickhouse-sink', 'conversation-analytics']);
  const url = /"http: (http:\/\/127\.0\.0\.1:\d+) \(\/health, \/ready, \/metrics\)"/.exec(stderr())?.[1];
  assert.ok(url !== undefined, stderr());
  // Both processors consumed the generated messages and the sink inserted (counters on /metrics).
  const metrics = await eventually('the processors to process and the sink to insert', 30_000, async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const processed = series(text, 'msgtrack_processor_records_processed_total');
    const inserted = Object.keys(series(text, 'msgtrack_sink_batch_rows_total')).length;
    const done =
      Object.keys(processed).length === 2 && Object.values(processed).every((n) => n > 0) && inserted > 0;
    return done ? text : undefined;
  });
  const health = await fetch(`${url}/health`);
  const ready = await fetch(`${url}/ready`);
  const notServed = await fetch(`${url}/api/v1/messages/x`);
  const running = healthCheck(url, env);
  child.kill('SIGTERM');
  const code = await exited(child);
  const stopped = healthCheck(url, env);

  assert.deepStrictEqual(
    {
      health: [health.status, await health.json()],
      ready: [ready.status, await ready.json()],
      notServed: [notServed.status, ((await notServed.json()) as { error: { code: string } }).error.code],
      running: series(metrics, 'msgtrack_processor_running'),
      processMetrics: /^msgtrack_process_cpu_seconds_total \d/m.test(metrics),
      healthCheck: [running.status, /^healthy: /.test(running.stdout)],
      exit: code,
      afterStop: [stopped.status, /does not answer/.test(stopped.stderr)],
    },
    {
      health: [200, { status: 'ok' }],
      ready: [
        200,
        {
          status: 'ready',
          checks: {
            log: { ok: true },
            storage: { ok: true },
            'processor:clickhouse-sink': { ok: true },
            'processor:conversation-analytics': { ok: true },
          },
        },
      ],
      notServed: [404, 'API_NOT_FOUND'],
      running: { 'processor="clickhouse-sink"': 1, 'processor="conversation-analytics"': 1 },
      processMetrics: true,
      healthCheck: [0, true],
      exit: 0,
      afterStop: [1, true],
    },
  );

  // The off switch: the same processors, nothing listening.
  const quiet = await startProcess(t, env, ['conversation-analytics', '--no-http']);
  quiet.child.kill('SIGTERM');
  assert.deepStrictEqual([await exited(quiet.child), /"http: /.test(quiet.stderr())], [0, false]);
});

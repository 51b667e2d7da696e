/** Helpers of the deployment tests: the repository's files, required tools, Grafana macros. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BIN } from '../helpers/msgtrack.ts';
import { eventually } from '../helpers/wait.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;

/** An instance on the embedded defaults (log, chDB) in DATA_DIR, on a free loopback port, logging JSON. */
export const EMBEDDED_ENV = {
  ...process.env,
  KAFKA_BROKERS: '',
  CLICKHOUSE_URL: '',
  API_TOKEN: '',
  HOST: '127.0.0.1',
  PORT: '0',
  SINK_FLUSH_MS: '200',
  LOG_LEVEL: 'info',
};

/** `msgtrack generate --fast` into DATA_DIR's embedded log: `durationS` of event time from `startMs`, 5 msgs/s. */
export function generateInto(env: NodeJS.ProcessEnv, startMs: number, durationS: number): void {
  const args = ['generate', '--fast', '--start', new Date(startMs).toISOString(), '--rate', '5'];
  const generated = spawnSync(process.execPath, [BIN, ...args, '--duration', String(durationS), '--quiet'], {
    encoding: 'utf8',
    env,
  });
  assert.equal(generated.status, 0, generated.stderr);
}

/** scripts/health-check.sh --url URL (exit status, stdout, stderr). */
export const healthCheck = (url: string, env: NodeJS.ProcessEnv) =>
  spawnSync('bash', [`${ROOT}scripts/health-check.sh`, '--url', url], { encoding: 'utf8', env });

/** Probe every 250 ms (a probe that throws counts as "not yet") until it returns a value; fail after `ms`. */
export function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  return eventually(what, ms, probe, { intervalMs: 250, ignoreErrors: true });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

export function readRepoFile(path: string): string {
  return readFileSync(`${ROOT}${path}`, 'utf8');
}

/**
 * Runs a tool that CI installs (scripts/ci-install-system.sh): a missing tool fails the test with
 * the package to install, never skips it.
 */
export function run(
  tool: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tool, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: options.env ?? process.env,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  if (r.error !== undefined) {
    throw new Error(
      `${tool} is required (bash scripts/ci-install-system.sh installs it): ${r.error.message}`,
    );
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The secrets docker-compose.yml requires, with test values. */
export const COMPOSE_ENV = {
  CLICKHOUSE_PASSWORD: 'test-clickhouse-password',
  GRAFANA_CLICKHOUSE_PASSWORD: 'test-grafana-reader',
  GRAFANA_ADMIN_PASSWORD: 'test-grafana-admin',
  API_TOKEN: 'test-token-0123456789',
};

export interface ComposeService {
  image?: string;
  build?: unknown;
  platform?: string;
  command?: string[];
  restart?: string;
  profiles?: string[];
  ports?: (string | { published: number | string; target: number })[];
  environment?: Record<string, string | number | null>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  volumes?: (string | { type: string; source: string; target: string })[];
}

/** docker-compose.yml as `docker-compose config` resolves it (anchors, interpolation), as JSON. */
export function resolvedCompose(): {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
} {
  const env = { ...process.env, ...COMPOSE_ENV };
  const config = run('docker-compose', ['--profile', 'generator', 'config'], { env });
  if (config.status !== 0) throw new Error(`docker-compose config failed: ${config.stderr}`);
  // docker-compose is Python: its YAML library is there wherever it is.
  const json = run('python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], {
    input: config.stdout,
  });
  if (json.status !== 0) throw new Error(`YAML → JSON failed: ${json.stderr}`);
  return JSON.parse(json.stdout);
}

/**
 * The grafana-clickhouse-datasource macros expanded as the plugin does for a range [fromS, toS]
 * (unix seconds) and an interval: $__timeFilter(c), $__timeInterval(c), $__fromTime, $__toTime,
 * $__interval_s. Anything else that looks like a macro is left in, so that the query fails.
 */
export function expandMacros(sql: string, range: { fromS: number; toS: number; intervalS: number }): string {
  const { fromS, toS, intervalS } = range;
  return sql
    .replace(
      /\$__timeFilter\(([^)]+)\)/g,
      (_m, c: string) => `${c} >= toDateTime(${fromS}) AND ${c} <= toDateTime(${toS})`,
    )
    .replace(
      /\$__timeInterval\(([^)]+)\)/g,
      (_m, c: string) => `toStartOfInterval(toDateTime(${c}), INTERVAL ${intervalS} second)`,
    )
    .replaceAll('$__fromTime', `toDateTime(${fromS})`)
    .replaceAll('$__toTime', `toDateTime(${toS})`)
    .replaceAll('$__interval_s', String(intervalS));
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: { type: string; uid: string };
  targets: {
    refId: string;
    datasource: { type: string; uid: string };
    rawSql?: string;
    /** ClickHouse plugin: 0 time series, 1 table. */
    format?: number;
    expr?: string;
  }[];
}
export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
}

export const DASHBOARD_FILES = [
  'msgtrack-messages.json',
  'msgtrack-analytics.json',
  'msgtrack-pipeline.json',
];

export function dashboards(): Dashboard[] {
  return DASHBOARD_FILES.map((f) => JSON.parse(readRepoFile(`deploy/grafana/dashboards/${f}`)) as Dashboard);
}

/**
 * Crash equivalence of the whole platform: every processor under the real CLI
 * (`msgtrack start --no-generator`, a child process) on a prepared embedded log, SIGKILLed at random
 * moments and restarted, ends with the same output topics (per key: the committed records, in order)
 * and the same tables as one uninterrupted run on a copy of the same log.
 *
 * Once the traffic is processed, a tail of records an hour of event time later, on many keys, is
 * appended to both logs and processed too, so that every
 * partition's stream time passes the end + grace of every window of the traffic: those windows close
 * by stream time alone. Idle advance is off (STREAMS_IDLE_MS of an hour), so nothing depends on the
 * wall clock: the tail's own windows stay open in both runs. Every window has the default grace
 * (5 s): the prepared log is a backlog, processed in event-time order across partitions, so which
 * records are late does not depend on where the crashes fell.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { windowClosingTail } from '../../bench/quality-run.ts';
import { PROCESSOR_NAMES } from '../../src/app/index.ts';
import { Topics } from '../../src/events/index.ts';
import { takeTraffic } from '../../src/generator/index.ts';
import { type Log, openEmbeddedLog } from '../../src/log/index.ts';
import { dlqTopicOf } from '../../src/streams/index.ts';
import { caughtUp, produce, type RawEvent, rawOf, readTopic, tempDir } from './helpers.ts';

const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;
const DUMP = new URL('./fixtures/dump-tables.ts', import.meta.url).pathname;
const KILLS = 10;
/** Messages (and views) in the tail, and how far after the traffic it lies. */
const TAIL = 200;
const TAIL_GAP_MS = 3_600_000;
/** The output topic each analytics processor writes (the sink writes tables only). */
const OUTPUT_OF: Record<string, string> = {
  'conversation-analytics': Topics.conversationMetrics.name,
  'trend-detection': Topics.trendingWords.name,
  'user-activity': Topics.userActivityMetrics.name,
  'anomaly-detection': Topics.anomalyAlerts.name,
};
const COMPARED_TOPICS = [
  ...Object.values(OUTPUT_OF),
  dlqTopicOf(Topics.chatMessages.name),
  dlqTopicOf(Topics.messageViews.name),
];

function childEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'info',
    LOG_FSYNC: 'never', // a SIGKILL keeps the page cache: the crash is the process's, not the machine's
    STATUS_INTERVAL_MS: '250',
    STREAMS_IDLE_MS: '3600000',
    // The generated traffic is of 2025: with the default retention, TTL merges would delete rows at
    // moments that differ between the two runs.
    RETENTION_VIEWS_DAYS: '0',
    RETENTION_METRICS_DAYS: '0',
    RETENTION_ALERTS_DAYS: '0',
  };
  delete env.KAFKA_BROKERS;
  delete env.CLICKHOUSE_URL;
  return env;
}

interface PlatformChild {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** Everything it logged so far (stderr). */
  readonly output: () => string;
}

function spawnPlatform(dataDir: string): PlatformChild {
  const child = spawn(process.execPath, [CLI, 'start', '--no-generator'], {
    env: childEnv(dataDir),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, output: () => stderr };
}

/** SIGKILL the platform `afterMs` after it reported running. */
async function runAndKill(dataDir: string, afterMs: number): Promise<string> {
  const { child, exited, output } = spawnPlatform(dataDir);
  const started = Date.now();
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const ready = new Promise<void>((resolve) => {
    const check = () =>
      gone || output().includes('running; Ctrl-C stops') ? resolve() : setTimeout(check, 10);
    check();
  });
  await ready;
  await new Promise((r) => setTimeout(r, afterMs));
  child.kill('SIGKILL');
  const end = await exited;
  const at = Date.now() - started;
  return end.signal === 'SIGKILL' ? `kill@${at}ms` : `exited(${end.code})@${at}ms: ${output().slice(-300)}`;
}

/**
 * Run until every processor has reported lag 0 with unchanged counts for several status lines, then
 * stop it with SIGTERM (drain: flush, commit) and wait for a clean exit.
 */
async function runToCompletion(dataDir: string): Promise<void> {
  const { child, exited, output } = spawnPlatform(dataDir);
  let quiet = 0;
  let last = '';
  const done = new Promise<void>((resolve) => {
    child.stderr!.on('data', (d) => {
      for (const line of String(d).split('\n')) {
        const lags = [...line.matchAll(/lag=(\d+)/g)].map((m) => Number(m[1]));
        if (lags.length !== PROCESSOR_NAMES.length) continue;
        const counts = [...line.matchAll(/processed=(\d+)/g)].map((m) => m[1]).join(',');
        quiet = lags.every((l) => l === 0) && counts === last ? quiet + 1 : 0;
        last = counts;
        if (quiet >= 8) resolve();
      }
    });
  });
  const outcome = await Promise.race([done.then(() => 'quiet'), exited.then(() => 'exited')]);
  assert.equal(outcome, 'quiet', `the platform ran until quiet (stderr: ${output().slice(-1500)})`);
  child.kill('SIGTERM');
  const end = await exited;
  assert.equal(end.code, 0, `a clean drain (stderr: ${output().slice(-1500)})`);
}

/** True when every group of the platform has committed everything it reads. */
async function allCaughtUp(dataDir: string): Promise<boolean> {
  const log = await openEmbeddedLog({ dataDir, fsync: 'never' });
  try {
    for (const g of await log.listGroups()) {
      if (!PROCESSOR_NAMES.some((p) => g.groupId === p)) continue;
      const topics = [...new Set(g.offsets.map((o) => o.topic))];
      if (!(await caughtUp(log, g.groupId, topics))) return false;
    }
    return true;
  } finally {
    await log.close();
  }
}

async function finish(dataDir: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await runToCompletion(dataDir);
    if (await allCaughtUp(dataDir)) return;
  }
  assert.fail('the platform did not commit everything in three runs');
}

/** Per output topic: per key, the committed records (value and timestamp) in offset order. */
async function topics(dataDir: string): Promise<Record<string, Record<string, unknown[]>>> {
  const log: Log = await openEmbeddedLog({ dataDir, fsync: 'never' });
  try {
    const out: Record<string, Record<string, unknown[]>> = {};
    for (const topic of COMPARED_TOPICS) {
      const perKey: Record<string, unknown[]> = {};
      for (const r of await readTopic(log, topic)) {
        const key = r.key?.toString() ?? '(null)';
        const value = r.value?.toString() ?? null;
        (perKey[key] ??= []).push({
          value: topic.endsWith('.dlq') ? JSON.parse(value!).reason : JSON.parse(value!),
          timestamp: r.timestamp,
        });
      }
      out[topic] = Object.fromEntries(Object.entries(perKey).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return out;
  } finally {
    await log.close();
  }
}

function tables(dataDir: string): Record<string, unknown[]> {
  const r = spawnSync(process.execPath, [DUMP, dataDir], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('all processors under `msgtrack start`, SIGKILLed at 10 random points: topics and tables equal an uninterrupted run', async (t) => {
  const source = await tempDir(t, 'crash-eq-source-');
  const events = takeTraffic(6_000, { seed: 5 });
  const bad: RawEvent[] = [
    { topic: Topics.chatMessages.name, key: 'conv-x', value: '{"message_id": "broken' },
    { topic: Topics.messageViews.name, key: 'bob', value: '{"message_id":"m","user_id":"bob"}' },
  ];
  const raw = events.map(rawOf);
  raw.splice(2000, 0, ...bad);
  const log = await openEmbeddedLog({ dataDir: source, fsync: 'never' });
  await produce(log, raw);
  await log.close();

  const reference = await tempDir(t, 'crash-eq-ref-');
  const crashed = await tempDir(t, 'crash-eq-crashed-');
  await cp(join(source, 'log'), join(reference, 'log'), { recursive: true });
  await cp(join(source, 'log'), join(crashed, 'log'), { recursive: true });

  // The tail is appended once the traffic is all processed: appended with it, one partition's tail
  // could reach a re-keyed task before another partition's traffic and make that traffic late.
  const tailEvents = windowClosingTail(events.at(-1)!.timeMs, TAIL, TAIL_GAP_MS).map(rawOf);
  const closeWindows = async (dataDir: string) => {
    const l = await openEmbeddedLog({ dataDir, fsync: 'never' });
    await produce(l, tailEvents);
    await l.close();
    await finish(dataDir);
  };
  await finish(reference);
  await closeWindows(reference);
  const rounds: string[] = [];
  for (let i = 0; i < KILLS; i++) rounds.push(await runAndKill(crashed, Math.floor(Math.random() * 1000)));
  await finish(crashed);
  await closeWindows(crashed);
  t.diagnostic(`processors: ${PROCESSOR_NAMES.join(', ')}; rounds: ${rounds.join(', ')}`);
  assert.ok(
    rounds.every((r) => r.startsWith('kill@')),
    `every round was killed: ${rounds.join(' | ')}`,
  );

  const want = { topics: await topics(reference), tables: tables(reference) };
  const got = { topics: await topics(crashed), tables: tables(crashed) };
  // Not vacuous: the reference holds the traffic, and every running processor's output.
  assert.equal(
    want.tables.messages?.length,
    events.filter((e) => e.kind === 'message').length + TAIL,
    'every valid message stored',
  );
  for (const p of PROCESSOR_NAMES) {
    const topic = OUTPUT_OF[p];
    if (topic !== undefined) assert.ok(Object.keys(want.topics[topic]!).length > 0, `${p} wrote ${topic}`);
  }
  assert.deepStrictEqual(got, want);
});

/**
 * Crash equivalence: a re-keyed (repartitioned) tumbling + sliding count over 100k records, run in a
 * child process SIGKILLed at random points and restarted each time, produces output topics equal,
 * record for record, to an uninterrupted run: per output partition, the same records with the same
 * order for each key (records of different keys come from different tasks and interleave by commit
 * timing, in any run).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openEmbeddedLog } from '../../src/log/index.ts';
import { APP_ID, OUTPUTS, writeTraffic } from './fixtures/crash-topology.ts';
import { tempDir } from './helpers/log.ts';
import { rng } from './helpers/traffic.ts';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
const RECORDS = 100_000;
const USERS = 300;
const KILLS = 12;
const debug = (msg: string): void => {
  if (process.env.CRASH_DEBUG) process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
};

function start(dataDir: string): {
  child: ChildProcess;
  started: Promise<void>;
  exited: Promise<number | null>;
  /** Resolves once this run has committed after processing at least `n` records. */
  committedPast: (n: number) => Promise<void>;
} {
  const child = spawn(process.execPath, [CHILD, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let processed = -1;
  const waiters: Array<[number, () => void]> = [];
  const started = new Promise<void>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('started')) resolve();
      for (const m of out.matchAll(/^commit (\d+)$/gm)) processed = Math.max(processed, Number(m[1]));
      for (const [n, resolveCommit] of waiters) if (processed >= n) resolveCommit();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const committedPast = (n: number) =>
    new Promise<void>((resolve) => {
      if (processed >= n) resolve();
      else waiters.push([n, resolve]);
    });
  return { child, started, exited, committedPast };
}

/** The child's exit code; SIGKILLs it and fails after `ms`. */
async function withTimeout(run: ReturnType<typeof start>, ms: number): Promise<number | null> {
  const timer = setTimeout(() => run.child.kill('SIGKILL'), ms);
  const code = await run.exited;
  clearTimeout(timer);
  return code;
}

async function prepare(dataDir: string): Promise<void> {
  const log = await openEmbeddedLog({ dataDir, fsync: 'never' });
  await writeTraffic(log, RECORDS, USERS, 42);
  await log.close();
}

async function committedInput(dataDir: string): Promise<number> {
  const log = await openEmbeddedLog({ dataDir, fsync: 'never' });
  try {
    const group = (await log.listGroups()).find((g) => g.groupId === APP_ID);
    return group?.offsets.find((o) => o.topic === 'in')?.offset ?? 0;
  } finally {
    await log.close();
  }
}

async function outputs(dataDir: string): Promise<Record<string, string[][]>> {
  const log = await openEmbeddedLog({ dataDir, fsync: 'never' });
  const result: Record<string, string[][]> = {};
  try {
    for (const topic of OUTPUTS) {
      const parts: string[][] = [];
      for (let p = 0; p < 3; p++) {
        const c = log.consumer({ groupId: `verify-${topic}-${p}`, isolationLevel: 'read_committed' });
        const tp = { topic, partition: p };
        c.assign([tp]);
        await c.seekToBeginning([tp]);
        const end = (await log.partitionOffsets(topic, p)).lastStable;
        const list: string[] = [];
        while (c.position(tp) < end) {
          for (const r of await c.poll(100))
            list.push(`${r.key?.toString()} ${r.value?.toString()} @${r.timestamp}`);
        }
        await c.close();
        // Several tasks write to each output partition and their records interleave by commit
        // timing (as in Kafka Streams); each key's records come from one task, in order. So compare
        // every partition's records grouped by key (a stable sort keeps each key's order).
        parts.push(
          list.sort((a, b) => {
            const ka = a.slice(0, a.indexOf(' '));
            const kb = b.slice(0, b.indexOf(' '));
            return ka < kb ? -1 : ka > kb ? 1 : 0;
          }),
        );
      }
      result[topic] = parts;
    }
  } finally {
    await log.close();
  }
  return result;
}

test('crash equivalence: SIGKILL at random points, restart, outputs equal an uninterrupted run', async (t) => {
  const reference = await tempDir(t, 'crash-ref-');
  const crashed = await tempDir(t, 'crash-kill-');
  await Promise.all([prepare(reference), prepare(crashed)]);

  debug('prepared');
  const ref = start(reference);
  assert.equal(await withTimeout(ref, 60_000), 0);

  const random = rng(7);
  let kills = 0;
  let finishedEarly = false;
  const progress: number[] = [];
  while (kills < KILLS) {
    const run = start(crashed);
    // Kill points by progress, not by time, so that they land alike on a fast and a slow machine
    // (after a fixed time, a fast one had processed the whole input and exited): a quarter of the
    // kills land 0-30 ms after start (restoring, or the first records); the others 0-30 ms after a
    // commit that followed 1 000-4 000 records of this run (mid-processing or mid-commit). So the
    // 12 runs go through well under the 100k input records (each counted in both sub-topologies).
    if (random() < 0.25) await Promise.race([run.started, run.exited]);
    else await Promise.race([run.committedPast(Math.floor(1_000 + random() * 3_000)), run.exited]);
    await new Promise((r) => setTimeout(r, random() * 30));
    if (run.child.exitCode !== null) {
      finishedEarly = true;
      break;
    }
    run.child.kill('SIGKILL');
    await run.exited;
    kills++;
    progress.push(await committedInput(crashed));
    debug(`kill ${kills}: committed input ${progress.at(-1)}`);
  }
  t.diagnostic(`committed input offset after each kill: ${progress.join(', ')}`);
  const last = start(crashed);
  assert.equal(await withTimeout(last, 60_000), 0);

  debug('runs done');
  const [expected, actual] = await Promise.all([outputs(reference), outputs(crashed)]);
  const sizes = Object.fromEntries(OUTPUTS.map((o) => [o, expected[o]?.flat().length ?? 0]));
  assert.ok(
    (sizes['out-tumbling'] ?? 0) > 10_000 && (sizes['out-sliding'] ?? 0) > 100_000,
    JSON.stringify(sizes),
  );
  assert.deepStrictEqual({ kills, finishedEarly }, { kills: KILLS, finishedEarly: false });
  // Most kills hit a run in the middle of the input (not before its first or after its last commit).
  assert.ok(progress.filter((o) => o > 0 && o < RECORDS).length >= KILLS / 2, progress.join(', '));
  // First difference per partition (a readable failure instead of a diff of 200k records), then all.
  const firstDiff = (a: string[][] | undefined, b: string[][] | undefined) =>
    (a ?? []).map((part, p) => {
      const other = b?.[p] ?? [];
      const i = part.findIndex((r, k) => r !== other[k]);
      return i < 0 && part.length === other.length ? 'equal' : `at ${i}: ${part[i]} | ${other[i]}`;
    });
  assert.deepStrictEqual(
    OUTPUTS.map((o) => firstDiff(actual[o], expected[o])),
    OUTPUTS.map(() => ['equal', 'equal', 'equal']),
  );
  assert.deepStrictEqual(actual, expected);
});

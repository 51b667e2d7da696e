/**
 * Fault tests of the streams runtime on Apache Kafka. Each ends with outputs equal to an
 * uninterrupted run (per user, the counts 1..n in order, read_committed) and the group's committed
 * input offsets at the end of the input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireBroker } from '../log/kafka/broker.ts';
import {
  actualCounts,
  expectedCounts,
  INPUT_PARTITIONS,
  writeMessages,
} from './fixtures/kafka-fault-topology.ts';
import {
  committedInput,
  Instance,
  inputEnd,
  killAfterCommits,
  type Setup,
  setup,
  track,
} from './fixtures/kafka-instance.ts';
import { waitFor } from './helpers/log.ts';
import { rng } from './helpers/traffic.ts';

const USERS = 23;

/** Wait until every input message went through (committed input at the end, outputs complete). */
async function drained(s: Setup, total: number, timeoutMs: number): Promise<void> {
  const end = await inputEnd(s);
  await waitFor(
    async () => {
      const c = await committedInput(s);
      if (c.some((o, p) => o < (end[p] ?? 0))) return false;
      const out = await actualCounts(s.log, s.output);
      return Object.values(out).reduce((n, v) => n + v.length, 0) >= total;
    },
    timeoutMs,
    'the input to be processed and committed',
  );
}

async function assertExact(s: Setup, total: number): Promise<void> {
  assert.deepStrictEqual(
    { outputs: await actualCounts(s.log, s.output), committed: await committedInput(s) },
    { outputs: expectedCounts(total, USERS), committed: await inputEnd(s) },
  );
}

test('SIGKILL at 5 random points (start-up, processing, commit), restarted each time: outputs exact', async (t) => {
  await requireBroker();
  const s = await setup(t);
  const total = 6_000;
  const perRun = total / 6;
  const random = rng(11);
  const progress: number[] = [];
  for (let kill = 0; kill < 5; kill++) {
    // Fresh input for every run, so that each one has work (a run commits only when it progressed).
    await writeMessages(s.log, s.input, kill * perRun, (kill + 1) * perRun, USERS);
    // Static membership: the restarted instance takes its place at once (no session timeout to wait;
    // a kill during a rebalance the victim led still waits for that rebalance, up to 30 s).
    const run = track(t, new Instance(s, 'victim', true));
    if (kill === 0) {
      await new Promise((r) => setTimeout(r, 300 + random() * 500)); // during start-up/restore
      await run.kill();
    } else await killAfterCommits(run, random);
    progress.push((await committedInput(s)).reduce((a, b) => a + b, 0));
  }
  t.diagnostic(`committed input after each kill: ${progress.join(', ')}`);
  await writeMessages(s.log, s.input, 5 * perRun, total, USERS);
  const last = track(t, new Instance(s, 'victim', true));
  await drained(s, total, 90_000);
  assert.equal(await last.stop(), 0);
  assert.ok(
    progress.some((p, k) => p > 0 && p < (k + 1) * perRun),
    `kills landed mid-run: ${progress.join(', ')}`,
  );
  await assertExact(s, total);
});

const ALL_TASKS = 2 * INPUT_PARTITIONS; // the input sub-topology and the repartition one
const shared = (a: Instance, b: Instance): boolean =>
  a.tasks().length > 0 && b.tasks().length > 0 && a.tasks().length + b.tasks().length === ALL_TASKS;

test('a member frozen (SIGSTOP) past the session timeout, then resumed: its commit is refused, no zombie output', async (t) => {
  await requireBroker();
  const s = await setup(t);
  await writeMessages(s.log, s.input, 0, 2_000, USERS);
  const a = track(t, new Instance(s, 'a', false));
  const b = track(t, new Instance(s, 'b', false));
  await a.until(() => shared(a, b), 60_000, 'a shared assignment');
  // Freeze right after one of A's commits of new input: it is then processing or committing the
  // next batch (counted before the input is written: A may commit it before the write returns).
  const commits = a.count('commit');
  await writeMessages(s.log, s.input, 2_000, 3_000, USERS);
  await a.until(() => a.count('commit') > commits, 30_000, 'a commit of A');
  a.child.kill('SIGSTOP');
  await b.until(() => b.tasks().length === ALL_TASKS, 30_000, 'B to take every task');
  await writeMessages(s.log, s.input, 3_000, 4_000, USERS);
  await new Promise((r) => setTimeout(r, 1_000));
  a.child.kill('SIGCONT');
  await a.until(() => a.count('lost') + a.count('migrated') > 0, 20_000, 'A to find out it was removed');
  await writeMessages(s.log, s.input, 4_000, 5_000, USERS);
  await drained(s, 5_000, 60_000);
  assert.deepStrictEqual(
    {
      a: await a.stop(),
      b: await b.stop(),
      failed: [...a.lines, ...b.lines].filter((l) => l.startsWith('failed')),
    },
    { a: 0, b: 0, failed: [] },
  );
  await assertExact(s, 5_000);
});

test('two instances: a static member restarted within the session timeout moves no task; killed, the other takes over with its state', async (t) => {
  await requireBroker();
  const s = await setup(t);
  await writeMessages(s.log, s.input, 0, 2_000, USERS);
  const a1 = track(t, new Instance(s, 'a', true));
  const b = track(t, new Instance(s, 'b', true));
  await a1.until(() => shared(a1, b), 60_000, 'a shared assignment');
  await drained(s, 2_000, 30_000);
  const before = { a: a1.tasks(), b: b.tasks(), bAssignments: b.count('tasks ') };
  await a1.kill();
  const a2 = track(t, new Instance(s, 'a', true));
  await a2.until(() => a2.tasks().length > 0, 30_000, 'the restarted member to get its tasks');
  await writeMessages(s.log, s.input, 2_000, 3_000, USERS);
  await drained(s, 3_000, 30_000);
  const after = { a: a2.tasks(), b: b.tasks(), bAssignments: b.count('tasks ') };
  // Killed for good: after the session timeout B owns everything, restored from the changelogs.
  await a2.kill();
  await b.until(() => b.tasks().length === ALL_TASKS, 30_000, 'B to take every task');
  await writeMessages(s.log, s.input, 3_000, 4_000, USERS);
  await drained(s, 4_000, 30_000);
  assert.equal(await b.stop(), 0);
  assert.deepStrictEqual(after, before);
  await assertExact(s, 4_000);
});

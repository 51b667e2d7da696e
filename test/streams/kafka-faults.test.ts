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
  killedRuns,
  type Setup,
  setup,
  track,
  waitProcessed,
} from './fixtures/kafka-instance.ts';
import { rng } from './helpers/traffic.ts';

/** Wait until every input message went through (committed input at the end, outputs complete). */
function drained(s: Setup, total: number, timeoutMs: number): Promise<void> {
  return waitProcessed(
    s,
    async () => Object.values(await actualCounts(s.log, s.output)).reduce((n, v) => n + v.length, 0) >= total,
    timeoutMs,
  );
}

async function assertExact(s: Setup, total: number): Promise<void> {
  assert.deepStrictEqual(
    { outputs: await actualCounts(s.log, s.output), committed: await committedInput(s) },
    { outputs: expectedCounts(total), committed: await inputEnd(s) },
  );
}

test('SIGKILL at 5 random points (start-up, processing, commit), restarted each time: outputs exact', async (t) => {
  await requireBroker();
  const s = await setup(t);
  const total = 6_000;
  const perRun = total / 6;
  // The first run dies during start-up/restore, the others after their first or second commit.
  const progress = await killedRuns(t, s, {
    runs: 5,
    perRun,
    random: rng(11),
    startUpKill: (k) => k === 0,
  });
  t.diagnostic(`committed input after each kill: ${progress.join(', ')}`);
  await writeMessages(s.log, s.input, 5 * perRun, total);
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
/** Both instances hold tasks, all of them between them (fails at once when `b` died meanwhile). */
const shared = (a: Instance, b: Instance): boolean => {
  b.assertRunning('a shared assignment');
  return a.tasks().length > 0 && b.tasks().length > 0 && a.tasks().length + b.tasks().length === ALL_TASKS;
};

test('a member frozen (SIGSTOP) past the session timeout, then resumed: its commit is refused, no zombie output', async (t) => {
  await requireBroker();
  const s = await setup(t);
  await writeMessages(s.log, s.input, 0, 2_000);
  const a = track(t, new Instance(s, 'a', false));
  const b = track(t, new Instance(s, 'b', false));
  await a.until(() => shared(a, b), 60_000, 'a shared assignment');
  // Freeze right after one of A's commits of new input: it is then processing or committing the
  // next batch (counted before the input is written: A may commit it before the write returns).
  const commits = a.count('commit');
  await writeMessages(s.log, s.input, 2_000, 3_000);
  await a.until(() => a.count('commit') > commits, 30_000, 'a commit of A');
  a.child.kill('SIGSTOP');
  // The session timeout (6 s), a rebalance and the restore of A's tasks: 60 s on a loaded machine.
  await b.until(() => b.tasks().length === ALL_TASKS, 60_000, 'B to take every task');
  // B commits new input while A is frozen: A's pending commit is then a zombie's.
  const commitsOfB = b.count('commit');
  await writeMessages(s.log, s.input, 3_000, 4_000);
  await b.until(() => b.count('commit') > commitsOfB, 30_000, 'a commit of B');
  a.child.kill('SIGCONT');
  await a.until(() => a.count('lost') + a.count('migrated') > 0, 20_000, 'A to find out it was removed');
  await writeMessages(s.log, s.input, 4_000, 5_000);
  await drained(s, 5_000, 60_000);
  const ended = {
    a: await a.stop(),
    b: await b.stop(),
    failed: [...a.lines, ...b.lines].filter((l) => l.startsWith('failed')),
  };
  if (ended.failed.length > 0) {
    const story = (i: Instance) => i.lines.filter((l) => l !== 'commit').join(' | ');
    t.diagnostic(`A: ${story(a)}`);
    t.diagnostic(`B: ${story(b)}`);
  }
  assert.deepStrictEqual(ended, { a: 0, b: 0, failed: [] });
  await assertExact(s, 5_000);
});

test('two instances: a static member restarted within the session timeout moves no task; killed, the other takes over with its state', async (t) => {
  await requireBroker();
  const s = await setup(t);
  await writeMessages(s.log, s.input, 0, 2_000);
  const a1 = track(t, new Instance(s, 'a', true));
  const b = track(t, new Instance(s, 'b', true));
  await a1.until(() => shared(a1, b), 60_000, 'a shared assignment');
  await drained(s, 2_000, 30_000);
  const before = { a: a1.tasks(), b: b.tasks(), bAssignments: b.count('tasks ') };
  await a1.kill();
  const a2 = track(t, new Instance(s, 'a', true));
  await a2.until(() => a2.tasks().length > 0, 30_000, 'the restarted member to get its tasks');
  await writeMessages(s.log, s.input, 2_000, 3_000);
  await drained(s, 3_000, 30_000);
  const after = { a: a2.tasks(), b: b.tasks(), bAssignments: b.count('tasks ') };
  // Killed for good: after the session timeout B owns everything, restored from the changelogs.
  await a2.kill();
  await b.until(() => b.tasks().length === ALL_TASKS, 30_000, 'B to take every task');
  await writeMessages(s.log, s.input, 3_000, 4_000);
  await drained(s, 4_000, 30_000);
  assert.equal(await b.stop(), 0);
  assert.deepStrictEqual(after, before);
  await assertExact(s, 4_000);
});

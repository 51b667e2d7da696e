/**
 * Fault tests of the streams runtime on Apache Kafka. Each ends with outputs equal to an
 * uninterrupted run (per user, the counts 1..n in order, read_committed) and the group's committed
 * input offsets at the end of the input.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Log, openKafkaLog } from '../../src/log/index.ts';
import { brokers, requireBroker, uniqueName } from '../log/kafka/broker.ts';
import {
  actualCounts,
  expectedCounts,
  INPUT_PARTITIONS,
  writeMessages,
} from './fixtures/kafka-fault-topology.ts';
import { waitFor } from './helpers/log.ts';
import { rng } from './helpers/traffic.ts';

const CHILD = fileURLToPath(new URL('./fixtures/kafka-fault-child.ts', import.meta.url));
const USERS = 23;

interface Setup {
  readonly log: Log;
  readonly app: string;
  readonly input: string;
  readonly output: string;
  readonly brokers: readonly string[];
}

async function setup(t: TestContext, on: readonly string[] = brokers): Promise<Setup> {
  const log = await openKafkaLog({ brokers: on });
  t.after(() => log.close());
  const s = {
    log,
    app: uniqueName('faults'),
    input: uniqueName('in'),
    output: uniqueName('out'),
    brokers: on,
  };
  await log.createTopics([
    { name: s.input, partitions: INPUT_PARTITIONS, retentionMs: null },
    { name: s.output, partitions: 2, retentionMs: null },
  ]);
  return s;
}

/** A child running the topology; `lines` collects what it printed. */
class Instance {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  #waiters: Array<() => void> = [];

  constructor(s: Setup, instanceId: string, staticMembership: boolean) {
    const cfg = {
      brokers: s.brokers,
      app: s.app,
      input: s.input,
      output: s.output,
      instanceId,
      staticMembership,
    };
    this.child = spawn(process.execPath, [CHILD, JSON.stringify(cfg)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buf = '';
    this.child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const w of this.#waiters) w();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  count(prefix: string): number {
    return this.lines.filter((l) => l.startsWith(prefix)).length;
  }

  /** The tasks of the last assignment. */
  tasks(): string[] {
    const last = this.lines.filter((l) => l.startsWith('tasks ')).at(-1);
    return last === undefined ? [] : (JSON.parse(last.slice(6)) as string[]);
  }

  async until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.child.exitCode !== null)
        throw new Error(
          `child exited (${this.child.exitCode}) before ${what}: ${this.lines.slice(-3).join(' | ')}`,
        );
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${this.lines.slice(-5).join(' | ')}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
      this.#waiters = [];
    }
  }

  /** SIGTERM (clean stop, once the runtime runs) and the exit code. */
  async stop(): Promise<number | null> {
    await this.until(() => this.count('started') > 0, 30_000, 'the runtime to start');
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

function track(t: TestContext, i: Instance): Instance {
  t.after(async () => {
    if (i.child.exitCode === null && i.child.signalCode === null) {
      i.child.kill('SIGCONT');
      i.child.kill('SIGKILL');
      await i.exited;
    }
  });
  return i;
}

/** The group's committed offsets of the input partitions. */
async function committedInput(s: Setup): Promise<number[]> {
  const group = (await s.log.listGroups()).find((g) => g.groupId === s.app);
  return Array.from(
    { length: INPUT_PARTITIONS },
    (_, p) => group?.offsets.find((o) => o.topic === s.input && o.partition === p)?.offset ?? 0,
  );
}

async function inputEnd(s: Setup): Promise<number[]> {
  return Promise.all(
    Array.from(
      { length: INPUT_PARTITIONS },
      async (_, p) => (await s.log.partitionOffsets(s.input, p)).lastStable,
    ),
  );
}

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
    if (kill === 0)
      await new Promise((r) => setTimeout(r, 300 + random() * 500)); // during start-up/restore
    else {
      const commits = 1 + Math.floor(random() * 2);
      await run.until(() => run.count('commit') >= commits, 60_000, `${commits} commits`);
      await new Promise((r) => setTimeout(r, random() * 40));
    }
    await run.kill();
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
  await a.until(() => shared(a, b), 30_000, 'a shared assignment');
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
  await a1.until(() => shared(a1, b), 30_000, 'a shared assignment');
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

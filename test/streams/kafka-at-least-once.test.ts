/**
 * The at-least-once processing guarantee (src/streams/guarantee.ts) on Apache Kafka and on the
 * embedded log: without a crash its outputs are exactly those of an exactly-once run and no
 * transaction is used (no markers take offsets in the output); SIGKILLed and restarted, every input
 * reaches the output, repeats allowed.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { type Log, type LogRecord, openKafkaLog } from '../../src/log/index.ts';
import { ProcessingGuarantee, StreamsRuntime } from '../../src/streams/index.ts';
import { brokers, requireBroker, uniqueName } from '../log/kafka/broker.ts';
import {
  actualCounts,
  countByUser,
  createFaultTopics,
  expectedCounts,
  writeMessages,
} from './fixtures/kafka-fault-topology.ts';
import {
  committedInput,
  Instance,
  inputEnd,
  killAfterCommits,
  setup,
  track,
} from './fixtures/kafka-instance.ts';
import { readCommitted, tempLog, waitFor } from './helpers/log.ts';
import { rng } from './helpers/traffic.ts';

const USERS = 23;

/** Count per user at least once, without a crash: exact outputs, committed input, no markers. */
async function uninterrupted(t: TestContext, log: Log): Promise<void> {
  const { input, output } = await createFaultTopics(log);
  const runtime = new StreamsRuntime({
    log,
    applicationId: uniqueName('alo'),
    topology: countByUser(input, output),
    idleAdvanceMs: null,
    commitIntervalMs: 50,
    processingGuarantee: ProcessingGuarantee.AT_LEAST_ONCE,
  });
  t.after(() => runtime.stop());
  await runtime.start();
  const total = 3_000;
  await writeMessages(log, input, 0, total / 2, USERS);
  await waitFor(() => runtime.metrics().commits > 0, 30_000, 'a first commit');
  await writeMessages(log, input, total / 2, total, USERS);
  const s = { log, app: runtime.applicationId, input, output, brokers: [] };
  const end = await inputEnd(s);
  await waitFor(
    async () =>
      (await committedInput(s)).every((o, p) => o >= (end[p] ?? 0)) &&
      Object.values(await actualCounts(log, output)).reduce((n, v) => n + v.length, 0) >= total,
    60_000,
    'the input to be committed and every output written',
  );
  await runtime.stop();
  // Without transactions every output offset holds a record: the partitions' ends add up to the count.
  const outputs = await actualCounts(log, output);
  const ends = [0, 1].map(async (p) => (await log.partitionOffsets(output, p)).latest);
  assert.deepStrictEqual(
    {
      failure: runtime.failure,
      outputs,
      committed: await committedInput(s),
      outputOffsets: (await Promise.all(ends)).reduce((a, b) => a + b, 0),
    },
    { failure: undefined, outputs: expectedCounts(total, USERS), committed: end, outputOffsets: total },
  );
}

test('at-least-once on Kafka without a crash: outputs exactly those of an exactly-once run, no transaction markers', async (t) => {
  await requireBroker();
  const log = await openKafkaLog({ brokers });
  t.after(() => log.close());
  await uninterrupted(t, log);
});

test('at-least-once on the embedded log without a crash: the same', async (t) => {
  await uninterrupted(t, await tempLog(t, 'alo-'));
});

/** Per user, the numbers forwarded (in offset order). */
async function forwarded(log: Log, output: string): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const part of await readCommitted(log, output)) {
    for (const r of part as LogRecord[]) {
      const user = r.key?.toString() ?? '';
      out.set(user, [...(out.get(user) ?? []), Number(r.value?.toString())]);
    }
  }
  return out;
}

test('at-least-once on Kafka, SIGKILLed at 3 points and restarted: every input reaches the output', async (t) => {
  await requireBroker();
  const s = await setup(t);
  const total = 4_000;
  const perRun = total / 4;
  const random = rng(7);
  const progress: number[] = [];
  const options = { topology: 'forward', processingGuarantee: ProcessingGuarantee.AT_LEAST_ONCE } as const;
  for (let kill = 0; kill < 3; kill++) {
    await writeMessages(s.log, s.input, kill * perRun, (kill + 1) * perRun, USERS);
    await killAfterCommits(track(t, new Instance(s, 'victim', true, options)), random);
    progress.push((await committedInput(s)).reduce((a, b) => a + b, 0));
  }
  t.diagnostic(`committed input after each kill: ${progress.join(', ')}`);
  await writeMessages(s.log, s.input, 3 * perRun, total, USERS);
  const last = track(t, new Instance(s, 'victim', true, options));
  const end = await inputEnd(s);
  await waitFor(
    async () =>
      (await committedInput(s)).every((o, p) => o >= (end[p] ?? 0)) &&
      [...(await forwarded(s.log, s.output)).values()].reduce((n, v) => n + new Set(v).size, 0) >= total,
    90_000,
    'the input to be committed and every input forwarded',
  );
  assert.equal(await last.stop(), 0);
  const got = await forwarded(s.log, s.output);
  // Each user's numbers with repeats removed must be its inputs (a user's messages come from several
  // input partitions: their order across partitions is not kept, by any guarantee).
  const distinct = (list: number[]) => [...new Set(list)].sort((a, b) => a - b);
  const expected = new Map<string, number[]>();
  for (let n = 0; n < total; n++) {
    const user = `u${(n * 7) % USERS}`;
    expected.set(user, [...(expected.get(user) ?? []), n]);
  }
  const sorted = (m: Map<string, number[]>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  const repeats = [...got.values()].reduce((n, list) => n + list.length - new Set(list).size, 0);
  t.diagnostic(`outputs repeated after the kills: ${repeats}`);
  assert.ok(
    progress.some((p, k) => p < (k + 1) * perRun),
    `kills landed mid-run: ${progress.join(', ')}`,
  );
  assert.deepStrictEqual(sorted(new Map([...got].map(([u, list]) => [u, distinct(list)]))), sorted(expected));
});

/**
 * The at-least-once processing guarantee (src/streams/guarantee.ts) on Apache Kafka and on the
 * embedded log: without a crash its outputs are exactly those of an exactly-once run and no
 * transaction is used (no markers take offsets in the output); SIGKILLed and restarted, every input
 * reaches the output, repeats allowed.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { type Log, openKafkaLog } from '../../src/log/index.ts';
import { ProcessingGuarantee, StreamsRuntime } from '../../src/streams/index.ts';
import { brokers, requireBroker, uniqueName } from '../log/kafka/broker.ts';
import {
  actualCounts,
  countByUser,
  createFaultTopics,
  expectedCounts,
  expectedForwarded,
  FAULT_RUNTIME_OPTIONS,
  writeMessages,
} from './fixtures/kafka-fault-topology.ts';
import {
  committedInput,
  Instance,
  inputEnd,
  killedRuns,
  setup,
  track,
  waitProcessed,
} from './fixtures/kafka-instance.ts';
import { tempLog, waitFor } from './helpers/log.ts';
import { rng } from './helpers/traffic.ts';

const outputCount = async (log: Log, output: string): Promise<number> =>
  Object.values(await actualCounts(log, output)).reduce((n, v) => n + v.length, 0);

/** Count per user at least once, without a crash: exact outputs, committed input, no markers. */
async function uninterrupted(t: TestContext, log: Log): Promise<void> {
  const { input, output } = await createFaultTopics(log);
  const runtime = new StreamsRuntime({
    log,
    applicationId: uniqueName('alo'),
    topology: countByUser(input, output),
    ...FAULT_RUNTIME_OPTIONS,
    processingGuarantee: ProcessingGuarantee.AT_LEAST_ONCE,
  });
  t.after(() => runtime.stop());
  await runtime.start();
  const total = 3_000;
  await writeMessages(log, input, 0, total / 2);
  await waitFor(() => runtime.metrics().commits > 0, 30_000, 'a first commit');
  await writeMessages(log, input, total / 2, total);
  const s = { log, app: runtime.applicationId, input, output, brokers: [] };
  await waitProcessed(
    s,
    async () => (await outputCount(log, output)) >= total,
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
    {
      failure: undefined,
      outputs: expectedCounts(total),
      committed: await inputEnd(s),
      outputOffsets: total,
    },
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

test('at-least-once on Kafka, SIGKILLed at 3 points and restarted: every input reaches the output', async (t) => {
  await requireBroker();
  const s = await setup(t);
  const total = 4_000;
  const perRun = total / 4;
  const options = { topology: 'forward', processingGuarantee: ProcessingGuarantee.AT_LEAST_ONCE } as const;
  const progress = await killedRuns(t, s, { runs: 3, perRun, random: rng(7), options });
  t.diagnostic(`committed input after each kill: ${progress.join(', ')}`);
  await writeMessages(s.log, s.input, 3 * perRun, total);
  const last = track(t, new Instance(s, 'victim', true, options));
  // Each user's numbers with repeats removed must be its inputs (a user's messages come from several
  // input partitions: their order across partitions is not kept, by any guarantee).
  const distinct = async () =>
    Object.fromEntries(
      Object.entries(await actualCounts(s.log, s.output)).map(([u, list]) => [
        u,
        [...new Set(list)].sort((a, b) => a - b),
      ]),
    );
  await waitProcessed(
    s,
    async () => Object.values(await distinct()).reduce((n, v) => n + v.length, 0) >= total,
    90_000,
    'the input to be committed and every input forwarded',
  );
  assert.equal(await last.stop(), 0);
  const got = await actualCounts(s.log, s.output);
  const repeats = Object.values(got).reduce((n, list) => n + list.length - new Set(list).size, 0);
  t.diagnostic(`outputs repeated after the kills: ${repeats}`);
  assert.ok(
    progress.some((p, k) => p < (k + 1) * perRun),
    `kills landed mid-run: ${progress.join(', ')}`,
  );
  assert.deepStrictEqual(await distinct(), expectedForwarded(total));
});

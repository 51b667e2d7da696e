/**
 * Fault tests on a broker of their own (scripts/kafka.sh with a separate KAFKA_HOME and ports, so
 * that the shared test broker is never stopped), reached through a TCP proxy the broker advertises:
 * connections cut and delayed during commits, then the broker stopped for 10 s and restarted. The
 * runtime survives both without a restart, and its outputs equal an uninterrupted run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openKafkaLog } from '../../src/log/index.ts';
import { StreamsRuntime } from '../../src/streams/index.ts';
import { uniqueName } from '../log/kafka/broker.ts';
import {
  actualCounts,
  countByUser,
  createFaultTopics,
  expectedCounts,
  FAULT_RUNTIME_OPTIONS,
  sequenceBreaks,
  writeMessages,
} from './fixtures/kafka-fault-topology.ts';
import { TcpProxy } from './fixtures/tcp-proxy.ts';
import { waitFor } from './helpers/log.ts';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/kafka.sh', import.meta.url));

test('connections cut and delayed during commits, then the broker stopped 10 s and restarted: the runtime survives, outputs exact', async (t) => {
  const began = performance.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} ${Math.round((performance.now() - began) / 1000)} s`);
  const home = await mkdtemp(join(tmpdir(), 'kafka-faults-'));
  const brokerPort = 20_000 + Math.floor(Math.random() * 9_000) * 2;
  const proxy = await TcpProxy.start(brokerPort);
  const env = {
    ...process.env,
    KAFKA_HOME: home,
    KAFKA_QUICK_JVM: '1',
    KAFKA_PORT: String(brokerPort),
    KAFKA_ADVERTISED_PORT: String(proxy.port),
  };
  const broker = (cmd: 'start' | 'stop') => run('bash', [SCRIPT, cmd], { env, timeout: 120_000 });
  t.after(async () => {
    await broker('stop').catch(() => {});
    await proxy.close();
    await rm(home, { recursive: true, force: true });
  });
  await broker('start');
  phase('broker started');

  const log = await openKafkaLog({ brokers: [`127.0.0.1:${proxy.port}`], connectTimeoutMs: 30_000 });
  t.after(() => log.close());
  const { input, output } = await createFaultTopics(log);
  const runtime = new StreamsRuntime({
    log,
    applicationId: uniqueName('broker-faults'),
    topology: countByUser(input, output),
    ...FAULT_RUNTIME_OPTIONS,
  });
  t.after(() => runtime.stop());
  await runtime.start();
  const processed = (n: number, ms: number) =>
    waitFor(() => runtime.metrics().counters.recordsProcessed >= 2 * n, ms, `${n} messages processed`);

  // 1. Cut and delay connections while the runtime commits (a commit every ~50 ms).
  await writeMessages(log, input, 0, 1_000);
  await processed(200, 30_000);
  const writing = writeMessages(log, input, 1_000, 3_000);
  let resets = 0;
  for (let i = 0; i < 8; i++) {
    proxy.latencyMs = i % 2 === 0 ? 150 : 0;
    await new Promise((r) => setTimeout(r, 250));
    resets += proxy.resetAll();
  }
  proxy.latencyMs = 0;
  await writing;
  await processed(3_000, 60_000);
  phase('cuts and delays done');

  // 2. The broker stopped for 10 s mid-run, then started again on the same data.
  const writingMore = writeMessages(log, input, 3_000, 4_000);
  await broker('stop');
  phase('broker stopped');
  const stoppedAt = runtime.metrics().counters.recordsProcessed;
  await new Promise((r) => setTimeout(r, 10_000));
  await broker('start');
  phase('broker restarted');
  await writingMore;
  await writeMessages(log, input, 4_000, 5_000);
  await processed(5_000, 90_000);
  await waitFor(
    async () => Object.values(await actualCounts(log, output)).reduce((n, v) => n + v.length, 0) >= 5_000,
    60_000,
    'every output committed',
  );
  const state = runtime.state;
  await runtime.stop();
  phase('outputs complete');
  t.diagnostic(`connections reset: ${resets}; processed when the broker stopped: ${stoppedAt}`);
  t.diagnostic(`phases: ${phases.join(', ')}`);
  const outputs = await actualCounts(log, output);
  const breaks = await sequenceBreaks(log, output);
  if (breaks.length > 0) t.diagnostic(`sequence breaks: ${breaks.join('; ')}`);
  assert.deepStrictEqual(
    { state, failure: runtime.failure, resets: resets > 0, outputs },
    { state: 'running', failure: undefined, resets: true, outputs: expectedCounts(5_000) },
  );
});

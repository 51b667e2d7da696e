/**
 * Repartition purge on the embedded log: after commits, the runtime deletes the repartition records
 * below the committed offsets (Kafka Streams' purge), and the results do not change.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { AppError, ErrorCode } from '../../src/errors/index.ts';
import { type Log, openEmbeddedLog } from '../../src/log/index.ts';
import {
  Codecs,
  STREAMS_DIAGNOSTICS_CHANNEL,
  type StreamsBuilder,
  StreamsRuntime,
} from '../../src/streams/index.ts';
import { readCommitted, tempDir, waitFor } from './helpers/log.ts';

const str = Codecs.string;
const RECORDS = 6_000;
const USERS = 17;
const REPARTITION = (app: string) => `${app}-by-user-repartition`;

function countByUser(b: StreamsBuilder): void {
  b.stream('in', { key: str, value: Codecs.json<{ user: string }>() })
    .selectKey((_k, m) => m.user)
    .groupByKey({ name: 'by-user', key: str, value: Codecs.json<{ user: string }>() })
    .count({ name: 'user-counts' })
    .to('out', { key: str, value: Codecs.json<number>() });
}

async function openLog(t: TestContext): Promise<{ log: Log; dataDir: string }> {
  const dataDir = await tempDir(t, 'streams-purge-');
  // Small segments, so that purged segments are deleted from disk.
  const log = await openEmbeddedLog({ dataDir, fsync: 'never', segmentBytes: 16 * 1024 });
  t.after(() => log.close());
  await log.createTopics([
    { name: 'in', partitions: 3 },
    { name: 'out', partitions: 2 },
  ]);
  const records = Array.from({ length: RECORDS }, (_, i) => ({
    key: `c${i % 13}`,
    value: JSON.stringify({ user: `u${i % USERS}` }),
  }));
  await log.producer().send('in', records);
  return { log, dataDir };
}

/** Every count emitted per user, in order. */
async function countsPerUser(log: Log): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const r of (await readCommitted(log, 'out')).flat()) {
    const user = r.key?.toString() ?? '';
    (out[user] ??= []).push(JSON.parse(r.value?.toString() ?? 'null'));
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function oracle(): Record<string, number[]> {
  const n = new Map<string, number>();
  for (let i = 0; i < RECORDS; i++) n.set(`u${i % USERS}`, (n.get(`u${i % USERS}`) ?? 0) + 1);
  return Object.fromEntries(
    [...n]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([u, c]) => [u, Array.from({ length: c }, (_, i) => i + 1)]),
  );
}

async function run(t: TestContext, log: Log, applicationId: string, purgeIntervalMs?: number) {
  const events: Record<string, unknown>[] = [];
  const listener = (e: unknown): void => {
    const ev = e as Record<string, unknown>;
    if (ev.applicationId === applicationId) events.push(ev);
  };
  diagnostics.subscribe(STREAMS_DIAGNOSTICS_CHANNEL, listener);
  t.after(() => diagnostics.unsubscribe(STREAMS_DIAGNOSTICS_CHANNEL, listener));
  const runtime = new StreamsRuntime({
    log,
    applicationId,
    topology: countByUser,
    idleAdvanceMs: null,
    // Many small commits, so that there is much to purge, and often.
    commitIntervalMs: 0,
    maxPollRecords: 500,
    ...(purgeIntervalMs === undefined ? {} : { purgeIntervalMs }),
  });
  await runtime.start();
  t.after(() => runtime.stop());
  await waitFor(
    () => runtime.metrics().counters.recordsProcessed === 2 * RECORDS,
    30_000,
    `${applicationId}: every record through both sub-topologies`,
  );
  await runtime.stop();
  const earliest: number[] = [];
  for (let p = 0; p < 3; p++)
    earliest.push((await log.partitionOffsets(REPARTITION(applicationId), p)).earliest);
  return { runtime, events, earliest, counts: await countsPerUser(log) };
}

test('repartition purge: earliest offsets advance, segments go, and the counts stay exactly the same', async (t) => {
  const kept = await openLog(t);
  const purged = await openLog(t);
  // Default interval (30 s): no purge within this run.
  const a = await run(t, kept.log, 'purge-off');
  const b = await run(t, purged.log, 'purge-on', 0);
  const firstSegmentBase = (p: number): number => {
    const dir = join(purged.dataDir, 'log', 'topics', REPARTITION('purge-on'), String(p));
    return Math.min(...readdirSync(dir).map((f) => Number.parseInt(f, 10)));
  };
  const purges = b.events.filter((e) => e.type === 'purge');
  assert.deepStrictEqual(
    {
      withoutPurge: { earliest: a.earliest, counts: a.counts, state: a.runtime.state },
      withPurge: {
        earliestAdvanced: b.earliest.map((o) => o > 0),
        segmentsDeleted: [0, 1, 2].map((p) => firstSegmentBase(p) > 0),
        purged: purges.length > 1 && purges.every((e) => e.failed === 0),
        errors: b.events.filter((e) => e.type === 'error'),
        counts: b.counts,
        state: b.runtime.state,
      },
    },
    {
      withoutPurge: { earliest: [0, 0, 0], counts: oracle(), state: 'stopped' },
      withPurge: {
        earliestAdvanced: [true, true, true],
        segmentsDeleted: [true, true, true],
        purged: true,
        errors: [],
        counts: a.counts,
        state: 'stopped',
      },
    },
  );
});

test('repartition purge: a failing purge is reported and retried, the runtime keeps running', async (t) => {
  const { log } = await openLog(t);
  let failuresLeft = 3;
  // The real log, with its first deleteRecords calls failing (as a broker that is briefly away).
  const flaky = new Proxy(log, {
    get(target, prop) {
      if (prop === 'deleteRecords') {
        return (topic: string, partition: number, offset: number) =>
          failuresLeft-- > 0
            ? Promise.reject(new AppError(ErrorCode.LOG_IO, 'injected purge failure', { retriable: true }))
            : target.deleteRecords(topic, partition, offset);
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const r = await run(t, flaky, 'purge-flaky', 0);
  const purgeErrors = r.events.filter((e) => e.type === 'error' && e.stage === 'purge');
  assert.deepStrictEqual(
    {
      purgeErrors: purgeErrors.length,
      runtimeErrors: r.events.filter((e) => e.type === 'error' && e.stage !== 'purge').length,
      earliestAdvanced: r.earliest.map((o) => o > 0),
      counts: r.counts,
      state: r.runtime.state,
    },
    {
      purgeErrors: 3,
      runtimeErrors: 0,
      earliestAdvanced: [true, true, true],
      counts: oracle(),
      state: 'stopped',
    },
  );
});

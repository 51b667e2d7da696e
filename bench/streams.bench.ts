/**
 * Streams benchmark (a script, not a test): records/s of the streams runtime on the embedded log, in
 * one process — stateless map/filter, tumbling count, hopping count (30 s / 5 s), sliding count (30 s).
 * Input is written first; the clock runs from the runtime's start until every input record is
 * processed and committed (outputs, changelogs and offsets in transactions every 100 ms).
 * Prints one line per scenario and, last, one JSON object (also written to bench/results/streams.json).
 *
 *   npm run bench:streams            # BENCH_RECORDS=300000 by default; BENCH_ONLY=<scenario>
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedLog, type ProducerRecord } from '../src/log/index.ts';
import {
  Codecs,
  SlidingWindows,
  type StreamsBuilder,
  StreamsRuntime,
  TimeWindows,
  windowedKeyCodec,
} from '../src/streams/index.ts';
import { benchArgs } from './args.ts';

benchArgs({
  command: 'npm run bench:streams --',
  about:
    'Records/s of the streams runtime on the embedded log: stateless, tumbling, hopping (30 s / 5 s) and sliding (30 s) counts, exactly-once. Environment: BENCH_RECORDS (default 300000), BENCH_KEYS (default 1000), BENCH_ONLY=<scenario> (stateless, tumbling_count, hopping_count, sliding_count).',
  flags: {},
});

const RECORDS = Number(process.env.BENCH_RECORDS ?? 300_000);
// Distinct keys (users, conversations): fewer keys mean fuller windows and fewer window results per input.
const KEYS = Number(process.env.BENCH_KEYS ?? 1_000);
const PARTITIONS = 4;
const str = Codecs.string;
const out = { key: windowedKeyCodec(str), value: Codecs.json<number>() };

const scenarios: Record<string, (b: StreamsBuilder) => void> = {
  stateless: (b) =>
    b
      .stream('in', { key: str, value: str })
      .filter((k) => k.length > 1)
      .mapValues((v) => v.length)
      .to('out', { key: str, value: Codecs.json<number>() }),
  tumbling_count: (b) =>
    b
      .stream('in', { key: str, value: str })
      .groupByKey({ key: str })
      .windowedBy(TimeWindows.ofSizeAndGrace(60_000, 5_000))
      .count({ name: 'counts' })
      .to('out', out),
  hopping_count: (b) =>
    b
      .stream('in', { key: str, value: str })
      .groupByKey({ key: str })
      .windowedBy(TimeWindows.ofSizeAndGrace(30_000, 5_000).advanceBy(5_000))
      .count({ name: 'counts' })
      .to('out', out),
  sliding_count: (b) =>
    b
      .stream('in', { key: str, value: str })
      .groupByKey({ key: str })
      .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(30_000, 5_000))
      .count({ name: 'counts' })
      .to('out', out),
};

async function run(name: string, topology: (b: StreamsBuilder) => void): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), `bench-streams-${name}-`));
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  try {
    await log.createTopics([
      { name: 'in', partitions: PARTITIONS, retentionMs: null },
      { name: 'out', partitions: PARTITIONS, retentionMs: null },
    ]);
    const producer = log.producer();
    // One record per ms of event time, keys round-robin (a co-prime stride).
    const t0 = Date.now() - RECORDS;
    for (let i = 0; i < RECORDS; i += 2_000) {
      const batch: ProducerRecord[] = [];
      for (let j = i; j < Math.min(RECORDS, i + 2_000); j++) {
        batch.push({ key: `user-${(j * 7919) % KEYS}`, value: 'hello world', timestamp: t0 + j });
      }
      await producer.send('in', batch);
    }
    await producer.close();
    const runtime = new StreamsRuntime({
      log,
      applicationId: `bench-${name}`,
      topology,
      idleAdvanceMs: null,
      // Large polls: the bench measures processing, not poll round trips.
      maxPollRecords: 1_000_000,
    });
    const started = performance.now();
    await runtime.start();
    while (runtime.metrics().counters.recordsProcessed < RECORDS) {
      if (runtime.state !== 'running') throw runtime.failure;
      await new Promise((r) => setTimeout(r, 5));
    }
    await runtime.stop();
    const seconds = (performance.now() - started) / 1000;
    const rps = Math.round(RECORDS / seconds);
    const m = runtime.metrics();
    console.log(
      `${name.padEnd(16)} ${String(rps).padStart(9)} records/s  (${RECORDS} records, ${seconds.toFixed(2)} s, ` +
        `${m.commits} commits, avg commit ${m.commitLatencyMs.avg.toFixed(1)} ms)`,
    );
    return rps;
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const result: Record<string, number | string> = {};
const only = process.env.BENCH_ONLY; // e.g. BENCH_ONLY=hopping_count to profile one scenario
for (const [name, topology] of Object.entries(scenarios)) {
  if (only === undefined || only === name) result[`${name}_rps`] = await run(name, topology);
}
result.records = RECORDS;
result.partitions = PARTITIONS;
result.keys = KEYS;
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL('./results/streams.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));

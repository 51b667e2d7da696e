/**
 * Embedded log throughput: produce and consume 250-byte records in batches of 1, 100 and 1000
 * (fsync policy 'interval', the default), in records/s and MB/s.
 * Then the open time of a log of 1 GB and 5 GB (1 KiB records, 64 MiB segments), after a clean stop
 * and after a SIGKILL of a writer (a child process, mid-segment), and the scrub after open (the
 * background CRC check of what no scan verified yet: time, bytes, longest event-loop block).
 * Run: `npm run bench:log` (`-- --open-only` for the open times alone; ~6 GB of temp disk, deleted
 * after). The last line of output is one JSON object (also written to bench/results/log.json) with
 * `produce_rps` and `consume_rps` for batches of 1000, `open_clean_ms` and `open_crash_ms` at 5 GB, and
 * `open_<size>_clean_ms` / `open_<size>_crash_ms` / `scrub_<size>_ms` / `scrub_<size>_bytes` /
 * `scrub_<size>_max_event_loop_block_ms` (and `idle_<size>_max_event_loop_block_ms`, the same measure over
 * 3 s with nothing to do: the host's own scheduling delays) per size.
 */

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type LogRecord, openEmbeddedLog, type ProducerRecord } from '../src/log/index.ts';
import { benchArgs } from './args.ts';

const { values: flags } = benchArgs({
  command: 'npm run bench:log --',
  about:
    'Embedded log throughput (250-byte records, batches of 1, 100 and 1000), then the open time of a 1 GB and a 5 GB log after a clean stop and after a SIGKILL, and the scrub after open (~6 GB of temp disk, deleted after).',
  flags: {
    'open-only': { type: 'boolean', default: false, help: 'the open and scrub times alone' },
    'crash-child': {
      type: 'string',
      help: 'the data dir a writer child process fills until killed',
      hidden: true,
    },
  },
});

const RECORD_BYTES = 250;
const PARTITIONS = 4;
const plan = [
  { batch: 1, records: 50_000 },
  { batch: 100, records: 500_000 },
  { batch: 1000, records: 1_000_000 },
];

interface Result {
  batch: number;
  records: number;
  produce_rps: number;
  produce_mbps: number;
  consume_rps: number;
  consume_mbps: number;
}

const mb = (records: number, seconds: number): number => (records * RECORD_BYTES) / 1e6 / seconds;
const round = (n: number): number => Math.round(n * 10) / 10;

async function runOne(batch: number, total: number): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), 'log-bench-'));
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'interval' });
  try {
    const topic = 'bench';
    await log.createTopics([{ name: topic, partitions: PARTITIONS }]);
    const producer = log.producer();
    const value = Buffer.alloc(RECORD_BYTES, 'x');
    const records: ProducerRecord[] = Array.from({ length: batch }, () => ({ key: null, value }));
    const t0 = performance.now();
    for (let sent = 0; sent < total; sent += batch) await producer.send(topic, records);
    const produceS = (performance.now() - t0) / 1000;

    const consumer = log.consumer({ groupId: 'bench', maxPollRecords: Math.max(batch, 1) });
    consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })));
    let got = 0;
    let bytes = 0;
    const t1 = performance.now();
    while (got < total) {
      const rs: LogRecord[] = await consumer.poll(1000);
      if (rs.length === 0) throw new Error(`consumer stalled at ${got} of ${total}`);
      got += rs.length;
      bytes += rs[rs.length - 1]!.value!.length;
    }
    const consumeS = (performance.now() - t1) / 1000;
    if (bytes === 0) throw new Error('no data');
    await consumer.close();
    return {
      batch,
      records: total,
      produce_rps: Math.round(total / produceS),
      produce_mbps: round(mb(total, produceS)),
      consume_rps: Math.round(total / consumeS),
      consume_mbps: round(mb(total, consumeS)),
    };
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const GB = 1024 ** 3;
const OPEN_RECORD = Buffer.alloc(1024, 'o');
const OPEN_BATCH = Array.from({ length: 1000 }, () => ({ key: null, value: OPEN_RECORD }));

/** Append `bytes` of 1 KiB records to topic `open` in `dir` (4 partitions). */
async function fill(dir: string, bytes: number): Promise<void> {
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  await log.createTopics([{ name: 'open', partitions: PARTITIONS }]);
  const producer = log.producer();
  for (let written = 0; written < bytes; written += OPEN_BATCH.length * OPEN_RECORD.length) {
    await producer.send('open', OPEN_BATCH);
  }
  await log.close();
}

async function timeOpen(dir: string): Promise<number> {
  const t0 = performance.now();
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  const ms = performance.now() - t0;
  await log.close();
  return Math.round(ms * 10) / 10;
}

/** A child writes 32 MiB more (the active segments are mid-way), then is killed with SIGKILL. */
function crashWriter(dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--crash-child', dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      if (c.includes('WRITTEN')) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error('crash child exited on its own')),
    );
  });
}

/**
 * The scrub after open of what no scan checked yet (after a fill, all of it): its duration, the bytes
 * it checked, and the longest the event loop was blocked meanwhile (what `/health` would wait).
 */
async function timeScrub(
  dir: string,
): Promise<{ ms: number; bytes: number; maxBlockMs: number; idleMaxBlockMs: number }> {
  // The same measure with nothing to do, for the machine's own scheduling delays (a loaded host).
  const idle = monitorEventLoopDelay({ resolution: 5 });
  idle.enable();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  idle.disable();
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const t0 = performance.now();
  const report = await log.scrub();
  const ms = performance.now() - t0;
  delay.disable();
  await log.close();
  if (report.corrupt.length > 0) throw new Error(`scrub found damage: ${report.corrupt[0]!.message}`);
  return {
    ms: Math.round(ms),
    bytes: report.bytes,
    maxBlockMs: Math.round(delay.max / 1e5) / 10,
    idleMaxBlockMs: Math.round(idle.max / 1e5) / 10,
  };
}

async function openTimes(): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'log-bench-open-'));
  const out: Record<string, number> = {};
  try {
    let size = 0;
    for (const gb of [1, 5]) {
      await fill(dir, gb * GB - size);
      size = gb * GB;
      await timeOpen(dir); // the first open after writing also drops nothing: warm-up
      const clean = await timeOpen(dir);
      await crashWriter(dir);
      const crash = await timeOpen(dir);
      out[`open_${gb}gb_clean_ms`] = clean;
      out[`open_${gb}gb_crash_ms`] = crash;
      console.log(`open ${gb} GB: clean ${clean} ms, after SIGKILL ${crash} ms`);
      const scrub = await timeScrub(dir);
      out[`scrub_${gb}gb_ms`] = scrub.ms;
      out[`scrub_${gb}gb_bytes`] = scrub.bytes;
      out[`scrub_${gb}gb_max_event_loop_block_ms`] = scrub.maxBlockMs;
      out[`idle_${gb}gb_max_event_loop_block_ms`] = scrub.idleMaxBlockMs;
      console.log(
        `scrub after open at ${gb} GB: ${scrub.bytes} unverified bytes checked in ${scrub.ms} ms, event loop blocked at most ${scrub.maxBlockMs} ms (idle, 3 s: ${scrub.idleMaxBlockMs} ms)`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

if (flags['crash-child'] !== undefined) {
  const log = await openEmbeddedLog({ dataDir: flags['crash-child'], fsync: 'never' });
  const producer = log.producer();
  for (let i = 0; i < 32; i++) await producer.send('open', OPEN_BATCH);
  process.stdout.write('WRITTEN\n');
  await new Promise(() => undefined);
}

const openOnly = flags['open-only'];
const results: Result[] = [];
for (const { batch, records } of openOnly ? [] : plan) {
  const r = await runOne(batch, records);
  results.push(r);
  console.log(
    `batch ${String(batch).padStart(4)}: ${String(records).padStart(9)} records | produce ` +
      `${r.produce_rps.toLocaleString('en-US').padStart(11)} rec/s ${r.produce_mbps.toFixed(1).padStart(7)} MB/s | ` +
      `consume ${r.consume_rps.toLocaleString('en-US').padStart(11)} rec/s ${r.consume_mbps.toFixed(1).padStart(7)} MB/s`,
  );
}
const main = results.find((r) => r.batch === 1000);
const open = await openTimes();
const summary = {
  bench: 'log',
  record_bytes: RECORD_BYTES,
  fsync: 'interval',
  produce_rps: main?.produce_rps,
  consume_rps: main?.consume_rps,
  produce_mbps: main?.produce_mbps,
  consume_mbps: main?.consume_mbps,
  batches: results,
  open_clean_ms: open.open_5gb_clean_ms,
  open_crash_ms: open.open_5gb_crash_ms,
  ...open,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/log.json', import.meta.url), `${JSON.stringify(summary, null, 2)}\n`);
console.log(JSON.stringify(summary));

/**
 * Kafka benchmark (a script, not a test). Starts a broker of its own with stock settings
 * (scripts/kafka.sh KAFKA_SETTINGS=stock, a temporary KAFKA_HOME, free ports) and measures:
 *
 * 1. The adapter: `--records` (default 500k) records of 250 bytes produced (lz4, batches of 5 000)
 *    into one 6-partition topic → `produce_rps`; then read back whole by one consumer (assign,
 *    maxPollRecords 50 000), five times → `consume_rps` (the best pass), `consume_cold_rps` (the first).
 * 2. The full processor set (src/app/processors.ts) draining `--events` (default 200k) generated
 *    events at the generator's defaults on Kafka, exactly-once → `eos_rps` and at-least-once
 *    (PROCESSING_GUARANTEE=at_least_once) → `alo_rps`, each on a fresh broker; the same exactly-once
 *    on the embedded log → `embedded_rps` (input records per second from the start of the runtimes
 *    until every runtime committed everything it reads).
 *
 * Last line: one JSON object (also bench/results/kafka.json).
 *
 *   npm run bench:kafka
 *   npm run bench:kafka -- --records 200000 --events 50000
 *   npm run bench:kafka -- --adapter-only   (part 1 alone; its JSON line has no processor rates)
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PROCESSOR_NAMES } from '../src/app/index.ts';
import { type GeneratedEvent, generateTraffic } from '../src/generator/index.ts';
import { type LogRecord, openKafkaLog } from '../src/log/index.ts';
import { benchArgs } from './args.ts';
import { appendAll, openPlatform, startProcessors, waitDrained } from './platform-run.ts';

const { values: args } = benchArgs({
  command: 'npm run bench:kafka --',
  about:
    'Kafka on a broker of its own (stock settings, free ports): adapter produce/consume rates, then every processor draining generated events exactly-once and at-least-once on Kafka and exactly-once on the embedded log. Needs Java 17 (scripts/kafka.sh).',
  flags: {
    records: {
      type: 'string',
      default: '500000',
      help: 'records of 250 bytes for the adapter produce/consume rates',
    },
    events: { type: 'string', default: '200000', help: 'generated events the processors drain' },
    seed: { type: 'string', default: '1', help: 'generator seed' },
    'adapter-only': { type: 'boolean', default: false, help: 'measure the adapter only (no processors)' },
  },
});
const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../scripts/kafka.sh', import.meta.url));
const say = (line: string): void => void process.stderr.write(`${line}\n`);

function* take(n: number, it: Iterator<GeneratedEvent>): Generator<GeneratedEvent> {
  for (let i = 0; i < n; i++) yield it.next().value as GeneratedEvent;
}

async function adapterRates(
  brokers: string[],
  n: number,
): Promise<{ produce_rps: number; consume_rps: number; consume_cold_rps: number }> {
  const log = await openKafkaLog({ brokers, compression: 'lz4' });
  try {
    const topic = 'bench-adapter';
    await log.createTopics([{ name: topic, partitions: 6, retentionMs: null }]);
    const producer = log.producer();
    const value = Buffer.alloc(250 - 10, 'x');
    let t0 = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < n; i += 5_000) {
      const batch = Array.from({ length: Math.min(5_000, n - i) }, (_, k) => ({
        key: `key-${(i + k) % 10_000}`.padEnd(10, '-'),
        value,
      }));
      sends.push(producer.send(topic, batch));
      if (sends.length >= 8) await sends.shift();
    }
    await Promise.all(sends);
    await producer.close();
    const produce = n / ((performance.now() - t0) / 1000);
    // Five passes (fresh consumers): the first one also warms the JIT and the broker's page cache.
    const passes: number[] = [];
    let bytes = 0;
    for (let pass = 0; pass < 5; pass++) {
      const consumer = log.consumer({ groupId: `bench-consume-${pass}`, maxPollRecords: 50_000 });
      consumer.assign(Array.from({ length: 6 }, (_, partition) => ({ topic, partition })));
      let got = 0;
      t0 = performance.now();
      while (got < n) {
        const records: LogRecord[] = await consumer.poll(1_000);
        got += records.length;
        for (const r of records) bytes += r.value?.length ?? 0;
      }
      passes.push(n / ((performance.now() - t0) / 1000));
      await consumer.close();
    }
    const consume = Math.max(...passes);
    say(
      `adapter: produce ${Math.round(produce)} rps, consume ${passes.map(Math.round).join(' / ')} rps (${bytes} value bytes)`,
    );
    return {
      produce_rps: Math.round(produce),
      consume_rps: Math.round(consume),
      consume_cold_rps: Math.round(passes[0] ?? 0),
    };
  } finally {
    await log.close();
  }
}

async function processorsRate(env: Record<string, string>, events: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-kafka-'));
  try {
    const base = await openPlatform(dir, { STREAMS_IDLE_MS: '3600000', LOG_FSYNC: 'never', ...env });
    await appendAll(base.log, take(events, generateTraffic({ seed: Number(args.seed) })));
    const started = performance.now();
    const running = await startProcessors(base, PROCESSOR_NAMES);
    await waitDrained(base.log, running.runtimes.values(), 900_000, 200);
    const rps = events / ((performance.now() - started) / 1000);
    await running.close();
    return Math.round(rps);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `fn` against a broker of its own with stock settings (a temporary KAFKA_HOME, a free port), then stopped. */
async function withBroker<T>(fn: (broker: string) => Promise<T>): Promise<T> {
  const home = await mkdtemp(join(tmpdir(), 'bench-kafka-broker-'));
  const port = 21_000 + Math.floor(Math.random() * 4_000) * 2;
  const env = { ...process.env, KAFKA_HOME: home, KAFKA_PORT: String(port), KAFKA_SETTINGS: 'stock' };
  try {
    await run('bash', [SCRIPT, 'start'], { env, timeout: 180_000 });
    return await fn(`127.0.0.1:${port}`);
  } finally {
    await run('bash', [SCRIPT, 'stop'], { env, timeout: 60_000 }).catch(() => {});
    await rm(home, { recursive: true, force: true });
  }
}

const adapter = await withBroker((broker) => adapterRates([broker], Number(args.records)));
if (args['adapter-only']) {
  process.stdout.write(`${JSON.stringify({ ...adapter, records: Number(args.records) })}\n`);
} else {
  const events = Number(args.events);
  const eos = await withBroker((broker) => processorsRate({ KAFKA_BROKERS: broker }, events));
  say(`processors on Kafka (exactly-once): ${eos} events/s`);
  const alo = await withBroker((broker) =>
    processorsRate({ KAFKA_BROKERS: broker, PROCESSING_GUARANTEE: 'at_least_once' }, events),
  );
  say(`processors on Kafka (at-least-once): ${alo} events/s`);
  const embedded = await processorsRate({}, events);
  say(`processors on the embedded log: ${embedded} events/s`);
  const result = {
    eos_rps: eos,
    alo_rps: alo,
    embedded_rps: embedded,
    consume_rps: adapter.consume_rps,
    consume_cold_rps: adapter.consume_cold_rps,
    produce_rps: adapter.produce_rps,
    events,
    records: Number(args.records),
  };
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(new URL('./results/kafka.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

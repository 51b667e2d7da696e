/**
 * What the processor benchmarks and the quality script share: the platform's composition (the
 * embedded log and chDB of a data dir, migrations, topics, the processors of src/app/processors.ts,
 * one `StreamsRuntime` each) without the CLI, and "drained": every runtime has committed every record
 * of every topic it reads.
 */
import { openLog, openStorage, PROCESSORS, platformTopics } from '../src/app/index.ts';
import { type Config, loadConfig } from '../src/config/index.ts';
import type { Log, ProducerRecord } from '../src/log/index.ts';
import type { ClickHouse } from '../src/storage/index.ts';
import type { StreamsRuntime } from '../src/streams/index.ts';

export interface Running {
  readonly config: Config;
  readonly log: Log;
  readonly ch: ClickHouse;
  readonly runtimes: Map<string, StreamsRuntime>;
  /** Stop the runtimes (drain, commit), then storage and log. */
  close(): Promise<void>;
}

/** Open `dataDir` as `msgtrack start` would (embedded log, chDB, migrations, topics), `env` over the defaults. */
export async function openPlatform(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<Omit<Running, 'runtimes'>> {
  const config = loadConfig({ ...env, DATA_DIR: dataDir });
  const log = await openLog(config);
  await log.createTopics(platformTopics());
  const ch = await openStorage(config);
  return {
    config,
    log,
    ch,
    close: async () => {
      await ch.close();
      await log.close();
    },
  };
}

export async function startProcessors(
  base: Omit<Running, 'runtimes'>,
  names: readonly string[],
): Promise<Running> {
  const runtimes = new Map<string, StreamsRuntime>();
  for (const name of names) {
    const factory = PROCESSORS[name];
    if (factory === undefined) throw new Error(`unknown processor ${name}`);
    const runtime = factory({ log: base.log, ch: base.ch, config: base.config });
    await runtime.start();
    runtimes.set(name, runtime);
  }
  return {
    ...base,
    runtimes,
    close: async () => {
      for (const r of runtimes.values()) await r.stop();
      await base.close();
    },
  };
}

/** Every runtime has committed, for every partition of every topic it reads, up to the last stable offset. */
export async function drained(log: Log, runtimes: Iterable<StreamsRuntime>): Promise<boolean> {
  const groups = new Map((await log.listGroups()).map((g) => [g.groupId, g]));
  for (const runtime of runtimes) {
    if (runtime.state !== 'running')
      throw new Error(`${runtime.applicationId} is ${runtime.state}: ${String(runtime.failure)}`);
    const committed = new Map(
      (groups.get(runtime.applicationId)?.offsets ?? []).map((o) => [`${o.topic}/${o.partition}`, o.offset]),
    );
    // All partitions at once: on Kafka each look-up is a few round trips.
    const topics = [...new Set(runtime.topology.subtopologies.flatMap((s) => s.sourceTopics))];
    const behind = await Promise.all(
      topics.map(async (topic) => {
        const { partitions } = await log.describeTopic(topic);
        const lagging = await Promise.all(
          Array.from({ length: partitions }, async (_, p) => {
            const { lastStable, earliest } = await log.partitionOffsets(topic, p);
            return lastStable !== earliest && (committed.get(`${topic}/${p}`) ?? -1) < lastStable;
          }),
        );
        return lagging.some(Boolean);
      }),
    );
    if (behind.some(Boolean)) return false;
  }
  return true;
}

/** Poll `drained` every `everyMs` until true; fails after `timeoutMs`. */
export async function waitDrained(
  log: Log,
  runtimes: Iterable<StreamsRuntime>,
  timeoutMs = 600_000,
  everyMs = 50,
): Promise<void> {
  const list = [...runtimes];
  const deadline = Date.now() + timeoutMs;
  while (!(await drained(log, list))) {
    if (Date.now() > deadline) throw new Error(`not drained after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Append events to their topics in batches of `batch` records per topic (not transactional). */
export async function appendAll(
  log: Log,
  events: Iterable<{ topic: string; key: string | null; value: unknown; timeMs?: number }>,
  batch = 5_000,
): Promise<number> {
  const producer = log.producer();
  const byTopic = new Map<string, ProducerRecord[]>();
  let n = 0;
  const flush = async () => {
    for (const [topic, records] of byTopic) if (records.length > 0) await producer.send(topic, records);
    byTopic.clear();
  };
  for (const e of events) {
    let list = byTopic.get(e.topic);
    if (list === undefined) {
      list = [];
      byTopic.set(e.topic, list);
    }
    list.push({
      key: e.key,
      value: typeof e.value === 'string' ? e.value : JSON.stringify(e.value),
      ...(e.timeMs === undefined ? {} : { timestamp: e.timeMs }),
    });
    if (++n % batch === 0) await flush();
  }
  await flush();
  await producer.close();
  return n;
}

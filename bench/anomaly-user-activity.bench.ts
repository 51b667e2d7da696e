/**
 * anomaly-detection and user-activity, each alone on the embedded log (a script, not a test).
 *
 * 1. Drain: `--events` (default 300k) generated events at the generator's defaults are appended to a
 *    fresh embedded log; the processor's runtime then drains them (until its group has committed
 *    every record of every topic it reads, repartition topics included). Reported: input records
 *    (the source topics it reads) per second, late records, outputs, peak RSS. Each processor runs in
 *    a child process of its own (clean RSS).
 * 2. Alert latency (anomaly-detection): messages appended paced to the wall clock at `--rate`
 *    (default 2000/s) for `--seconds` (default 10); for every alert's first record, the wall-clock
 *    time from the append of its trigger message (the threshold-th of the burst) to the alert being
 *    read committed from `anomaly-alerts`.
 *
 * Last line: one JSON object (also bench/results/anomaly-user-activity.json).
 *
 *   node bench/anomaly-user-activity.bench.ts [--events 300000] [--rate 2000] [--seconds 10]
 *     [--grace 5000] [--commit-ms 25]
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformTopics } from '../src/app/index.ts';
import { AnomalyAlertSchema, Topics } from '../src/events/index.ts';
import { takeTraffic } from '../src/generator/index.ts';
import { type Log, openEmbeddedLog } from '../src/log/index.ts';
import { createAnomalyDetection } from '../src/processors/anomaly-detection/index.ts';
import { createUserActivity } from '../src/processors/user-activity/index.ts';
import { Codecs, type StreamsRuntime } from '../src/streams/index.ts';
import { benchArgs } from './args.ts';
import { appendAll, waitDrained } from './platform-run.ts';

const { values: args } = benchArgs({
  command: 'node bench/anomaly-user-activity.bench.ts',
  about:
    'anomaly-detection and user-activity, each alone, draining generated events; then alert latency at a paced rate.',
  flags: {
    events: { type: 'string', default: '300000', help: 'generated events appended, then drained' },
    rate: { type: 'string', default: '2000', help: 'messages/s of the latency run' },
    seconds: { type: 'string', default: '10', help: 'seconds of the latency run' },
    /** A backlog drain makes most re-keyed records late with 5 s (see README). */
    grace: { type: 'string', default: '5000', help: "the windows' grace, ms" },
    'commit-ms': {
      type: 'string',
      default: '25',
      help: "commit interval of the latency run, ms (the processor's default)",
    },
    child: { type: 'string', help: 'the scenario a child process runs', hidden: true },
  },
});

const graceMs = Number(args.grace);
const FACTORIES: Record<string, (log: Log) => StreamsRuntime> = {
  'anomaly-detection': (log) => createAnomalyDetection({ log }, { idleAdvanceMs: null, graceMs }),
  'user-activity': (log) => createUserActivity({ log }, { idleAdvanceMs: null, graceMs }),
};

async function drainScenario(name: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-aua-'));
  try {
    const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
    await log.createTopics(platformTopics());
    const count = Number(args.events);
    await appendAll(log, takeTraffic(count, { seed: 1 }));
    const runtime = (FACTORIES[name] as (log: Log) => StreamsRuntime)(log);
    const sources: readonly string[] = [Topics.chatMessages.name, Topics.messageViews.name];
    const started = performance.now();
    await runtime.start();
    let input = 0;
    for (const topic of runtime.topology.subtopologies.flatMap((s) => s.sourceTopics)) {
      if (!sources.includes(topic)) continue;
      const { partitions } = await log.describeTopic(topic);
      for (let p = 0; p < partitions; p++) input += (await log.partitionOffsets(topic, p)).lastStable;
    }
    await waitDrained(log, [runtime], 600_000, 20);
    const seconds = (performance.now() - started) / 1000;
    const m = runtime.metrics();
    await runtime.stop();
    let outputs = 0;
    for (const topic of runtime.topology.outputTopics) {
      const { partitions } = await log.describeTopic(topic);
      for (let p = 0; p < partitions; p++) outputs += (await log.partitionOffsets(topic, p)).lastStable;
    }
    await log.close();
    process.stdout.write(
      `${JSON.stringify({
        name,
        input,
        seconds: Math.round(seconds * 100) / 100,
        rps: Math.round(input / seconds),
        processed: m.counters.recordsProcessed,
        late: m.counters.lateRecords,
        outputs,
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      })}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Paced messages; latency from the append of each alert's trigger message to its committed read. */
async function latencyScenario(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-aua-lat-'));
  try {
    const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
    await log.createTopics(platformTopics());
    const runtime = createAnomalyDetection({ log }, { commitIntervalMs: Number(args['commit-ms']) });
    await runtime.start();
    const rate = Number(args.rate);
    const seconds = Number(args.seconds);
    // Event times follow the wall clock, so the paced traffic is live traffic.
    const events = takeTraffic(rate * seconds * 2, { seed: 2, startMs: Date.now() }).filter(
      (e) => e.topic === Topics.chatMessages.name,
    );
    const appendedAt = new Map<string, number>();
    const consumer = log.consumer({ groupId: `latency-${process.pid}`, isolationLevel: 'read_committed' });
    await consumer.subscribe([Topics.anomalyAlerts.name]);
    const alertCodec = Codecs.schema(AnomalyAlertSchema);
    const latencies: number[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        for (const r of await consumer.poll(5)) {
          const a = alertCodec.deserialize(r.value);
          const at = appendedAt.get(a.trigger_message_id);
          if (a.version === 1 && a.kind === 'rate' && at !== undefined)
            latencies.push(performance.now() - at);
        }
      }
    })();
    const producer = log.producer();
    const t0 = performance.now();
    let sent = 0;
    const total = Math.min(events.length, rate * seconds);
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
      if (due > sent) {
        const batch = events.slice(sent, due);
        await producer.send(
          Topics.chatMessages.name,
          batch.map((e) => ({ key: e.key, value: JSON.stringify(e.value) })),
        );
        const now = performance.now();
        for (const e of batch) appendedAt.set((e.value as { message_id: string }).message_id, now);
        sent = due;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await new Promise((r) => setTimeout(r, 1_000));
    reading = false;
    await reader;
    await consumer.close();
    await producer.close();
    await runtime.stop();
    await log.close();
    latencies.sort((a, b) => a - b);
    const q = (p: number) =>
      Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? -1);
    process.stdout.write(
      `${JSON.stringify({ name: 'alert-latency', rate, messages: total, alerts: latencies.length, p50_ms: q(0.5), p99_ms: q(0.99), max_ms: q(1) })}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (args.child === 'latency') await latencyScenario();
else if (args.child !== undefined) await drainScenario(args.child);
else {
  const results: Record<string, unknown>[] = [];
  for (const child of [...Object.keys(FACTORIES), 'latency']) {
    const argv = [
      process.argv[1] as string,
      '--child',
      child,
      '--events',
      args.events,
      '--rate',
      args.rate,
      '--seconds',
      args.seconds,
      '--grace',
      args.grace,
      '--commit-ms',
      args['commit-ms'],
    ];
    const run = spawnSync(process.execPath, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    console.log(line);
    results.push(JSON.parse(line) as Record<string, unknown>);
  }
  const [anomaly, activity, latency] = results as [
    Record<string, number>,
    Record<string, number>,
    Record<string, number>,
  ];
  const summary = {
    events: Number(args.events),
    grace_ms: graceMs,
    anomaly_detection_rps: anomaly.rps,
    anomaly_detection_late: anomaly.late,
    user_activity_rps: activity.rps,
    user_activity_late: activity.late,
    alert_p50_ms: latency.p50_ms,
    alert_p99_ms: latency.p99_ms,
  };
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(
    join(import.meta.dirname, 'results', 'anomaly-user-activity.json'),
    `${JSON.stringify(summary)}\n`,
  );
  console.log(JSON.stringify(summary));
}

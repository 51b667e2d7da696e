/**
 * Processor benchmark (a script, not a test).
 *
 * 1. Drain: `--events` (default 1M) generated events at the generator's defaults are appended to an
 *    embedded log once; then each processor alone, and all of them together, drain a copy of it into
 *    their topics and chDB, each in a child process of its own (one chDB engine per process; a clean
 *    RSS per scenario). Reported: input records (chat.messages + message-views the scenario reads) per
 *    second from the start of the runtimes until every runtime has committed every record of every
 *    topic it reads (repartition and output topics included), and the child's peak RSS.
 * 2. Alert latency: all processors on a fresh data dir while traffic is appended paced to the wall
 *    clock at `--rate` (default 5000) messages/s for `--seconds` (default 20); for every alert, the
 *    wall-clock time from the append of the message that met the rule (the alert’s
 *    `trigger_message_id`) to the alert being readable committed on `anomaly-alerts`; p50/p99. The
 *    generated traffic injects a burst only every 1–2.5 minutes, so a probe burst (a user of its own
 *    sending 8 messages 50 ms apart, within the paced rate) starts every `--probe-ms` (default 1000).
 *    `catch_up_ms`: from the end of the traffic until every runtime has committed everything (null:
 *    still behind after 2 minutes) — small when the pipeline keeps up with the rate.
 *
 * Last line: one JSON object (also bench/results/processors.json) with `all_rps`, `alert_p50_ms`,
 * `alert_p99_ms` and `<processor>_rps` for each processor (`clickhouse_sink_rps`, …).
 *
 *   npm run bench:processors
 *   npm run bench:processors -- --events 200000 --seconds 10
 *   npm run bench:processors -- --cpu-prof      # each child writes a .cpuprofile to bench/results/prof
 *   npm run bench:processors -- --latency-only --rate 5000 --seconds 20   # step 2 alone
 */
import { spawnSync } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { PROCESSOR_NAMES, platformTopics } from '../src/app/index.ts';
import { type AnomalyAlert, Topics } from '../src/events/index.ts';
import { type GeneratedEvent, generateTraffic } from '../src/generator/index.ts';
import { openEmbeddedLog, type ProducerRecord } from '../src/log/index.ts';
import { STREAMS_DIAGNOSTICS_CHANNEL } from '../src/streams/index.ts';
import { benchArgs } from './args.ts';
import { appendAll, openPlatform, startProcessors, waitDrained } from './platform-run.ts';

const { values: args, positionals } = benchArgs({
  command: 'npm run bench:processors --',
  about:
    'Each processor alone, then all five in one process, draining generated events from the embedded log into topics and chDB; then alert latency with all five at a paced rate plus probe bursts.',
  // The processor names of a child's drain scenario.
  positionals: '',
  flags: {
    events: {
      type: 'string',
      default: '1000000',
      help: 'generated events appended once, then drained by each scenario',
    },
    rate: { type: 'string', default: '5000', help: 'messages/s of the latency run' },
    seconds: { type: 'string', default: '20', help: 'seconds of the latency run' },
    seed: { type: 'string', default: '1', help: 'generator seed' },
    'probe-ms': {
      type: 'string',
      default: '1000',
      help: 'a probe burst (8 messages of a user of its own) every this many ms',
    },
    only: { type: 'string', help: 'comma-separated processors to drain alone (default: every one)' },
    'cpu-prof': {
      type: 'boolean',
      default: false,
      help: 'each child writes a .cpuprofile to bench/results/prof',
    },
    'latency-only': { type: 'boolean', default: false, help: 'the latency run alone' },
    child: { type: 'string', help: "a child process' scenario", hidden: true },
    source: { type: 'string', help: "a child's source data dir", hidden: true },
  },
});
/**
 * Idle advance off: the drain ends when the input is consumed, not after an idle period. Retention
 * off: the generated traffic is of 2025, and TTL merges deleting it would be measured too.
 */
const ENV = {
  STREAMS_IDLE_MS: '3600000',
  LOG_FSYNC: 'never',
  RETENTION_VIEWS_DAYS: '0',
  RETENTION_METRICS_DAYS: '0',
  RETENTION_ALERTS_DAYS: '0',
};
const INPUTS = [Topics.chatMessages.name, Topics.messageViews.name];
/** Messages of a probe burst: the rate rule's threshold at the defaults. */
const PROBE_MESSAGES = 8;
const probeMessage = (id: string, user: string, conversation: string, timeMs: number) => ({
  message_id: id,
  user_id: user,
  content: `probe ${id}`,
  timestamp: new Date(timeMs).toISOString(),
  event_type: 'message_sent',
  conversation_id: conversation,
  sender_id: user,
  receiver_id: `${user}-peer`,
  message_type: 'text',
});
const mb = (bytes: number) => Math.round(bytes / 1048576);
const sum = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0);
/** Count, p50, p99 and max of durations, ms. */
function quantiles(xs: number[]): { n: number; p50: number; p99: number; max: number } {
  xs.sort((a, b) => a - b);
  const at = (p: number) => Math.round(xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? 0);
  return { n: xs.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}

function* take(n: number, it: Iterator<GeneratedEvent>): Generator<GeneratedEvent> {
  for (let i = 0; i < n; i++) yield it.next().value as GeneratedEvent;
}

/** Child: drain a copy of `source` with `names`, print one JSON line. */
async function drainScenario(names: string[], source: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-processors-'));
  try {
    await cp(join(source, 'log'), join(dir, 'log'), { recursive: true });
    const base = await openPlatform(dir, ENV);
    let inputRecords = 0;
    const started = performance.now();
    const running = await startProcessors(base, names);
    const read = new Set(
      [...running.runtimes.values()].flatMap((r) => r.topology.subtopologies.flatMap((s) => s.sourceTopics)),
    );
    for (const topic of INPUTS.filter((t) => read.has(t))) {
      for (let p = 0; p < (await base.log.describeTopic(topic)).partitions; p++) {
        inputRecords += (await base.log.partitionOffsets(topic, p)).lastStable;
      }
    }
    await waitDrained(base.log, running.runtimes.values());
    const seconds = (performance.now() - started) / 1000;
    const usage = process.resourceUsage();
    // CPU time of the whole child (start-up and chDB included): steadier than wall time on a shared machine.
    const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
    const processed = Object.fromEntries(
      [...running.runtimes].map(([n, r]) => [n, r.metrics().counters.recordsProcessed]),
    );
    await running.close();
    process.stdout.write(
      `${JSON.stringify({
        names,
        input_records: inputRecords,
        seconds,
        rps: Math.round(inputRecords / seconds),
        cpu_s: Math.round(cpuSeconds * 10) / 10,
        cpu_us_per_record: Math.round((cpuSeconds * 1e6) / inputRecords),
        processed,
        peak_rss_mb: mb(process.resourceUsage().maxRSS * 1024),
      })}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Child: all processors, paced traffic, alert latencies. */
async function latencyScenario(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-latency-'));
  try {
    const base = await openPlatform(dir, ENV);
    const running = await startProcessors(base, PROCESSOR_NAMES);
    // Where a slow alert's time goes: event-loop stalls, GC pauses, each runtime's commits.
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const gcMs: number[] = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcMs.push(e.duration);
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const commitMs = new Map<string, number[]>();
    const onEvent = (message: unknown): void => {
      const e = message as { type: string; applicationId: string; durationMs: number };
      if (e.type !== 'commit') return;
      const list = commitMs.get(e.applicationId) ?? [];
      list.push(e.durationMs);
      commitMs.set(e.applicationId, list);
    };
    diagnostics.subscribe(STREAMS_DIAGNOSTICS_CHANNEL, onEvent);
    const rate = Number(args.rate);
    const durationMs = Number(args.seconds) * 1000;
    const alerts = base.log.consumer({ groupId: 'bench-alerts', isolationLevel: 'read_committed' });
    const { partitions } = await base.log.describeTopic(Topics.anomalyAlerts.name);
    alerts.assign(
      Array.from({ length: partitions }, (_, partition) => ({ topic: Topics.anomalyAlerts.name, partition })),
    );
    const appendedAt = new Map<string, number>();
    const latencies: number[] = [];
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const r of await alerts.poll(5)) {
          const a = JSON.parse(r.value!.toString()) as AnomalyAlert;
          if (seen.has(a.alert_id)) continue; // an update of an alert already counted
          seen.add(a.alert_id);
          const at = appendedAt.get(a.trigger_message_id);
          if (at !== undefined) latencies.push(performance.now() - at);
        }
      }
    })();
    // Event time = wall clock: every 5 ms, append what is due. Besides the generated traffic (whose
    // injected bursts come only every 1–2.5 minutes), a probe burst starts every `--probe-ms`: a user
    // of its own sends `threshold` (8) messages 50 ms apart, so every run measures many alerts.
    const startMs = Date.now();
    const traffic = generateTraffic({ seed: Number(args.seed), messagesPerSecond: rate, startMs });
    const producer = base.log.producer();
    const probeEveryMs = Number(args['probe-ms']);
    const probes: { user: string; times: number[] }[] = [];
    let nextProbeMs = startMs + probeEveryMs;
    let next = traffic.next().value as GeneratedEvent;
    let messages = 0;
    while (Date.now() - startMs < durationMs) {
      const now = Date.now();
      const byTopic = new Map<string, ProducerRecord[]>();
      const ids: string[] = [];
      const add = (topic: string, key: string, value: unknown, timeMs: number): void => {
        const list = byTopic.get(topic) ?? [];
        list.push({ key, value: JSON.stringify(value), timestamp: timeMs });
        byTopic.set(topic, list);
      };
      while (next.timeMs <= now) {
        add(next.topic, next.key, next.value, next.timeMs);
        if (next.kind === 'message') {
          ids.push(next.value.message_id);
          messages++;
        }
        next = traffic.next().value as GeneratedEvent;
      }
      while (nextProbeMs <= now) {
        const n = probes.length;
        probes.push({
          user: `bench-probe-${n}`,
          times: Array.from({ length: PROBE_MESSAGES }, (_, i) => nextProbeMs + 50 * i),
        });
        nextProbeMs += probeEveryMs;
      }
      for (const [n, probe] of probes.entries()) {
        while (probe.times.length > 0 && (probe.times[0] as number) <= now) {
          const t = probe.times.shift() as number;
          const id = `bench-probe-${n}-${PROBE_MESSAGES - probe.times.length}`;
          const conversation = `bench-probe-conv-${n}`;
          add(Topics.chatMessages.name, conversation, probeMessage(id, probe.user, conversation, t), t);
          ids.push(id);
          messages++;
        }
      }
      await Promise.all([...byTopic].map(([topic, records]) => producer.send(topic, records)));
      const appended = performance.now();
      for (const id of ids) appendedAt.set(id, appended);
      await new Promise((r) => setTimeout(r, 5));
    }
    await producer.close();
    // Kept up: how long until every runtime has committed everything appended.
    const stopped = performance.now();
    let catchUpMs: number | null = null;
    try {
      await waitDrained(base.log, running.runtimes.values(), 120_000);
      catchUpMs = Math.round(performance.now() - stopped);
    } catch {
      // still behind after 2 minutes: reported as null
    }
    await new Promise((r) => setTimeout(r, 500)); // the watcher reads the last alerts
    watching = false;
    await watcher;
    await alerts.close();
    await running.close();
    const usage = process.resourceUsage();
    const mainCpu = process.threadCpuUsage();
    diagnostics.unsubscribe(STREAMS_DIAGNOSTICS_CHANNEL, onEvent);
    gcObserver.disconnect();
    loopDelay.disable();
    latencies.sort((a, b) => a - b);
    const q = (p: number) =>
      latencies.length === 0
        ? null
        : Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! * 10) / 10;
    process.stdout.write(
      `${JSON.stringify({
        messages,
        rate_achieved: Math.round(messages / (durationMs / 1000)),
        alerts: latencies.length,
        probe_bursts: probes.length,
        catch_up_ms: catchUpMs,
        p50_ms: q(0.5),
        p99_ms: q(0.99),
        max_ms: q(1),
        // CPU of the whole child per second of paced traffic (start-up included): the headroom left.
        cpu_s: Math.round(((usage.userCPUTime + usage.systemCPUTime) / 1e6) * 10) / 10,
        // … of which the main thread (the runtimes, the log, the paced producer); the rest is chDB's
        // threads, GC helpers and the libuv pool.
        main_thread_cpu_s: Math.round(((mainCpu.user + mainCpu.system) / 1e6) * 10) / 10,
        latencies_ms: latencies.map(Math.round),
        loop_delay_ms: {
          p50: Math.round(loopDelay.percentile(50) / 1e5) / 10,
          p99: Math.round(loopDelay.percentile(99) / 1e5) / 10,
          max: Math.round(loopDelay.max / 1e5) / 10,
        },
        gc_ms: { pauses: gcMs.length, total: Math.round(sum(gcMs)), max: Math.round(Math.max(0, ...gcMs)) },
        commit_ms: Object.fromEntries([...commitMs].map(([app, list]) => [app, quantiles(list)])),
        peak_rss_mb: mb(process.resourceUsage().maxRSS * 1024),
      })}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The latency child's settings, passed on from this process's arguments. */
function latencyArgs(): string[] {
  return [
    '--rate',
    args.rate!,
    '--seconds',
    args.seconds!,
    '--seed',
    args.seed!,
    '--probe-ms',
    args['probe-ms']!,
  ];
}

function child(mode: string, extra: string[]): Record<string, unknown> {
  const prof = args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', 'bench/results/prof'] : [];
  const r = spawnSync(
    process.execPath,
    [...prof, new URL(import.meta.url).pathname, '--child', mode, ...extra],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{'))
    throw new Error(`child ${mode} ${extra.join(' ')} failed (${r.status}): ${r.stdout}`);
  return JSON.parse(line);
}

async function main(): Promise<void> {
  const names = args.only === undefined ? PROCESSOR_NAMES : args.only.split(',');
  const events = Number(args.events);
  const source = await mkdtemp(join(tmpdir(), 'bench-processors-source-'));
  try {
    const log = await openEmbeddedLog({ dataDir: source, fsync: 'never' });
    await log.createTopics(platformTopics());
    const t0 = performance.now();
    const traffic = generateTraffic({ seed: Number(args.seed) });
    await appendAll(log, take(events, traffic));
    await log.close();
    console.log(
      `generated and appended ${events} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    const result: Record<string, unknown> = { events };
    const scenarios: Record<string, unknown>[] = [];
    for (const name of names) {
      const r = child('drain', ['--source', source, name]);
      scenarios.push(r);
      result[`${name.replaceAll('-', '_')}_rps`] = r.rps;
      console.log(
        `${name.padEnd(24)} ${String(r.rps).padStart(8)} records/s  ${String(r.seconds).slice(0, 5)} s  CPU ${r.cpu_us_per_record} µs/record  peak RSS ${r.peak_rss_mb} MB`,
      );
    }
    const all = child('drain', ['--source', source, ...names]);
    scenarios.push(all);
    result.all_rps = all.rps;
    result.all_peak_rss_mb = all.peak_rss_mb;
    console.log(
      `${'all together'.padEnd(24)} ${String(all.rps).padStart(8)} records/s  ${String(all.seconds).slice(0, 5)} s  CPU ${all.cpu_us_per_record} µs/record  peak RSS ${all.peak_rss_mb} MB`,
    );
    const latency = child('latency', latencyArgs());
    console.log(
      `alert latency at ${args.rate} msgs/s (achieved ${latency.rate_achieved}): ${latency.alerts} alerts, p50 ${latency.p50_ms} ms, p99 ${latency.p99_ms} ms, max ${latency.max_ms} ms`,
    );
    result.alert_p50_ms = latency.p50_ms;
    result.alert_p99_ms = latency.p99_ms;
    result.alerts_measured = latency.alerts;
    result.scenarios = scenarios;
    result.latency = latency;
    await mkdir('bench/results', { recursive: true });
    await writeFile('bench/results/processors.json', `${JSON.stringify(result, null, 2)}\n`);
    const { scenarios: _s, latency: _l, ...line } = result;
    console.log(JSON.stringify(line));
  } finally {
    await rm(source, { recursive: true, force: true });
  }
}

if (args.child === 'drain') {
  await drainScenario(positionals, args.source!);
} else if (args.child === 'latency') {
  await latencyScenario();
} else if (args['latency-only']) {
  console.log(JSON.stringify(child('latency', latencyArgs())));
} else {
  await main();
}

/**
 * conversation-analytics and trend-detection, each alone on the embedded log (a script, not a test).
 * `--events` (default 300k) generated events at the generator's defaults are appended to a fresh
 * embedded log; the processor's runtime then drains them (until its group has committed every record
 * of every topic it reads, repartition topics included). Reported per processor: chat.messages
 * records per second, late records, outputs, peak RSS; each in a child process of its own.
 *
 * Last line: one JSON object (also bench/results/conversation-trend.json).
 *
 *   node bench/conversation-trend.bench.ts [--events 300000] [--grace 5000]
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { platformTopics } from '../src/app/index.ts';
import { Topics } from '../src/events/index.ts';
import { takeTraffic } from '../src/generator/index.ts';
import { type Log, openEmbeddedLog } from '../src/log/index.ts';
import { createConversationAnalytics } from '../src/processors/conversation-analytics/index.ts';
import { createTrendDetection } from '../src/processors/trend-detection/index.ts';
import type { StreamsRuntime } from '../src/streams/index.ts';
import { benchArgs } from './args.ts';
import { appendAll, waitDrained } from './platform-run.ts';

const { values: args } = benchArgs({
  command: 'node bench/conversation-trend.bench.ts',
  about:
    'conversation-analytics and trend-detection, each alone, draining generated events from the embedded log.',
  flags: {
    events: { type: 'string', default: '300000', help: 'generated events appended, then drained' },
    grace: { type: 'string', default: '5000', help: "the windows' grace, ms" },
    child: { type: 'string', help: 'the processor a child process runs', hidden: true },
  },
});

const graceMs = Number(args.grace);
const FACTORIES: Record<string, (log: Log) => StreamsRuntime> = {
  'conversation-analytics': (log) => createConversationAnalytics({ log }, { idleAdvanceMs: null, graceMs }),
  'trend-detection': (log) => createTrendDetection({ log }, { idleAdvanceMs: null, graceMs }),
};

async function drain(name: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-ct-'));
  try {
    const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
    await log.createTopics(platformTopics());
    await appendAll(log, takeTraffic(Number(args.events), { seed: 1 }));
    let input = 0;
    const { partitions } = await log.describeTopic(Topics.chatMessages.name);
    for (let p = 0; p < partitions; p++) {
      input += (await log.partitionOffsets(Topics.chatMessages.name, p)).lastStable;
    }
    const runtime = (FACTORIES[name] as (log: Log) => StreamsRuntime)(log);
    const started = performance.now();
    await runtime.start();
    await waitDrained(log, [runtime], 600_000, 20);
    const seconds = (performance.now() - started) / 1000;
    const m = runtime.metrics();
    await runtime.stop();
    let outputs = 0;
    for (const topic of runtime.topology.outputTopics) {
      const { partitions: n } = await log.describeTopic(topic);
      for (let p = 0; p < n; p++) outputs += (await log.partitionOffsets(topic, p)).lastStable;
    }
    await log.close();
    process.stdout.write(
      `${JSON.stringify({
        name,
        messages: input,
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

if (args.child !== undefined) await drain(args.child);
else {
  const results: Record<string, number>[] = [];
  for (const child of Object.keys(FACTORIES)) {
    const argv = [
      process.argv[1] as string,
      '--child',
      child,
      '--events',
      args.events,
      '--grace',
      args.grace,
    ];
    const run = spawnSync(process.execPath, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    console.log(line);
    results.push(JSON.parse(line) as Record<string, number>);
  }
  const [conversation, trend] = results as [Record<string, number>, Record<string, number>];
  const summary = {
    events: Number(args.events),
    grace_ms: graceMs,
    conversation_analytics_rps: conversation.rps,
    conversation_analytics_late: conversation.late,
    conversation_analytics_rss_mb: conversation.peak_rss_mb,
    trend_detection_rps: trend.rps,
    trend_detection_late: trend.late,
    trend_detection_rss_mb: trend.peak_rss_mb,
  };
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(
    join(import.meta.dirname, 'results', 'conversation-trend.json'),
    `${JSON.stringify(summary)}\n`,
  );
  console.log(JSON.stringify(summary));
}

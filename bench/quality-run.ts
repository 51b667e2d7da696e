/**
 * Detection quality, scored against what the generator injected (`TrafficTruth`, the `--truth` file):
 * generated traffic at the defaults is appended to an embedded log, the analytics processors of
 * src/app/processors.ts (their config defaults) drain it, and their committed output topics are
 * compared with the truth:
 *   - every injected burst has exactly one `rate` alert, whose event time (the alert record's
 *     timestamp) is at most 1 s after the burst's `threshold`-th message;
 *   - no alert for anyone outside the injected bursts (any kind), no second alert for a burst;
 *   - every injected trend word is in the top 3 of every trend window that lies inside its period;
 *   - the most frequent ordinary word is in no window's top 3;
 *   - every injected conversation peak overlaps a window flagged `is_peak`.
 * Used by bench/quality.ts (three seeds, 30 simulated minutes) and test/processors/quality.test.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROCESSOR_NAMES, PROCESSORS, platformTopics } from '../src/app/index.ts';
import { loadConfig } from '../src/config/index.ts';
import {
  type AnomalyAlert,
  type ConversationMetric,
  formatRfc3339,
  Topics,
  type TrendingWord,
} from '../src/events/index.ts';
import {
  createTraffic,
  type GeneratedEvent,
  type Traffic,
  type TrafficTruth,
} from '../src/generator/index.ts';
import { type Log, type LogRecord, openEmbeddedLog } from '../src/log/index.ts';
import { type ClickHouse, openChdb } from '../src/storage/index.ts';
import { appendAll, waitDrained } from './platform-run.ts';

/** The processors whose outputs are scored (the sink writes tables, not topics). */
export const ANALYTICS = PROCESSOR_NAMES.filter((n) => n !== 'clickhouse-sink');

/**
 * `n` messages and views `gapMs` (default 15 min) after `afterMs`, on `n` conversations, senders,
 * viewers and words: every partition's stream time (re-keyed ones included) passes the end + grace of
 * every window of the traffic before, so those close by stream time alone; the tail's own stay open.
 */
export function windowClosingTail(afterMs: number, n = 200, gapMs = 900_000): GeneratedEvent[] {
  const word = (i: number) =>
    `tail${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + (Math.floor(i / 26) % 26))}`;
  const out: GeneratedEvent[] = [];
  for (let i = 0; i < n; i++) {
    const timeMs = afterMs + gapMs + i;
    const at = formatRfc3339(timeMs);
    const receiver = `tail-user-${(i + 1) % n}`;
    out.push({
      kind: 'message',
      topic: Topics.chatMessages.name,
      key: `tail-conv-${i}`,
      timeMs,
      value: {
        message_id: `tail-${i}`,
        user_id: `tail-user-${i}`,
        content: `${word(i)} closes windows`,
        timestamp: at,
        event_type: 'message_sent',
        conversation_id: `tail-conv-${i}`,
        sender_id: `tail-user-${i}`,
        receiver_id: receiver,
        message_type: 'text',
      },
    });
    out.push({
      kind: 'view',
      topic: Topics.messageViews.name,
      key: receiver,
      timeMs,
      value: { message_id: `tail-${i}`, user_id: receiver, viewed_at: at, device: 'web' },
    });
  }
  return out;
}

export interface Emitted<V> {
  readonly value: V;
  readonly timestamp: number;
}

export interface Outputs {
  readonly alerts: Emitted<AnomalyAlert>[];
  readonly trends: Emitted<TrendingWord>[];
  readonly metrics: Emitted<ConversationMetric>[];
}

export interface QualityReport {
  readonly seed: number;
  readonly minutes: number;
  readonly messages: number;
  readonly bursts: number;
  /** Bursts with exactly one rate alert, at most 1 s after the threshold message. */
  readonly burstsAlertedInTime: number;
  /** The worst delay from threshold message to alert (event time), ms; null without bursts. */
  readonly worstAlertDelayMs: number | null;
  /** Alerts for users outside every burst, and extra rate alerts of a burst. */
  readonly falseAlerts: number;
  readonly duplicateBursts: number;
  readonly duplicateBurstsAlerted: number;
  readonly trends: number;
  /** (trend, window inside its period) pairs, and those where the word ranked 1–3. */
  readonly trendWindows: number;
  readonly trendWindowsTop3: number;
  readonly frequentWord: string | null;
  /** Windows in which the most frequent ordinary word ranked 1–3 (must be 0). */
  readonly frequentWordTop3: number;
  readonly peaks: number;
  readonly peaksFlagged: number;
  /** Windows flagged as peaks that overlap no injected peak (information, not a failure). */
  readonly otherPeakWindows: number;
  /** Human-readable reasons for each miss, by the processor that missed. */
  readonly misses: { readonly anomaly: string[]; readonly trends: string[]; readonly peaks: string[] };
}

/** The events of the first `minutes` of `traffic`'s event time, and the end of that span. */
export function firstMinutes(traffic: Traffic, minutes: number): { events: GeneratedEvent[]; endMs: number } {
  const events: GeneratedEvent[] = [];
  let first: number | undefined;
  for (;;) {
    const e = traffic.next();
    first ??= e.timeMs;
    if (e.timeMs >= first + minutes * 60_000) break;
    events.push(e);
  }
  return { events, endMs: first! + minutes * 60_000 };
}

/** Generate `minutes` of event time at the defaults for `seed`, plus the closing tail. */
export function generate(seed: number, minutes: number): { events: GeneratedEvent[]; truth: TrafficTruth } {
  const traffic = createTraffic({ seed });
  const { events, endMs } = firstMinutes(traffic, minutes);
  const truth = traffic.truth(endMs);
  return { events: [...events, ...windowClosingTail(events.at(-1)!.timeMs)], truth };
}

/**
 * `fn` with a chDB engine on a fresh temporary data dir, closed and removed afterwards. The processor
 * factories take a ClickHouse; the analytics processors write topics only (one engine per process).
 */
export async function withScratchChdb<T>(fn: (ch: ClickHouse) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'quality-ch-'));
  const ch = await openChdb({ dataDir: dir });
  try {
    return await fn(ch);
  } finally {
    await ch.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Write `result` as bench/results/<name>.json (the scripts' last line says the same). */
export async function writeResult(name: string, result: unknown): Promise<void> {
  await mkdir('bench/results', { recursive: true });
  await writeFile(`bench/results/${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
}

function decode<V>(records: readonly LogRecord[]): Emitted<V>[] {
  return records.map((r) => ({ value: JSON.parse(r.value!.toString()) as V, timestamp: r.timestamp }));
}

async function committed(log: Log, topic: string): Promise<LogRecord[]> {
  const { partitions } = await log.describeTopic(topic);
  const consumer = log.consumer({
    groupId: `quality-${topic}-${Math.random()}`,
    isolationLevel: 'read_committed',
  });
  const out: LogRecord[] = [];
  try {
    for (let p = 0; p < partitions; p++) {
      const tp = { topic, partition: p };
      const end = (await log.partitionOffsets(topic, p)).lastStable;
      consumer.assign([tp]);
      await consumer.seekToBeginning([tp]);
      while (consumer.position(tp) < end) out.push(...(await consumer.poll(100)));
    }
  } finally {
    await consumer.close();
  }
  return out;
}

/**
 * Deliver `events` to a fresh embedded log as live traffic — consecutive slices of `sliceMs` of event
 * time, each processed by every runtime before the next is appended — run `names` (default: the
 * analytics processors, at their config defaults, `env` on top) and return their committed outputs.
 * Slices no longer than the grace, as live traffic arrives (a backlog drained at once drops the
 * same records as late: the anomaly-detection README's "Backlogs"). `ch` goes to the processor factories (one chDB engine per process: the caller's).
 */
export async function runProcessors(
  events: readonly GeneratedEvent[],
  ch: ClickHouse,
  options: { names?: readonly string[]; sliceMs?: number; env?: Record<string, string> } = {},
): Promise<Outputs> {
  const names = options.names ?? ANALYTICS;
  const dir = await mkdtemp(join(tmpdir(), 'quality-'));
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  try {
    await log.createTopics(platformTopics());
    // Idle advance off, so windows close by stream time only (the tail closes the last ones).
    const config = loadConfig({ ...options.env, DATA_DIR: dir, STREAMS_IDLE_MS: '3600000' });
    const sliceMs = options.sliceMs ?? config.streams.graceMs;
    const runtimes = names.map((n) => PROCESSORS[n]!({ log, ch, config }));
    for (const r of runtimes) await r.start();
    try {
      let from = 0;
      while (from < events.length) {
        const end = events[from]!.timeMs + sliceMs;
        let to = from;
        while (to < events.length && events[to]!.timeMs < end) to++;
        await appendAll(log, events.slice(from, to));
        await waitDrained(log, runtimes, 120_000, 5);
        from = to;
      }
    } finally {
      for (const r of runtimes) await r.stop();
    }
    return {
      alerts: decode<AnomalyAlert>(await committed(log, Topics.anomalyAlerts.name)),
      trends: decode<TrendingWord>(await committed(log, Topics.trendingWords.name)),
      metrics: decode<ConversationMetric>(await committed(log, Topics.conversationMetrics.name)),
    };
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const at = (iso: string) => Date.parse(iso);

export function score(seed: number, minutes: number, truth: TrafficTruth, out: Outputs): QualityReport {
  const misses = { anomaly: [] as string[], trends: [] as string[], peaks: [] as string[] };
  // Alerts: the first emission of each alert_id (an update of a growing burst keeps the id).
  const firstOf = new Map<string, Emitted<AnomalyAlert>>();
  for (const a of out.alerts) if (!firstOf.has(a.value.alert_id)) firstOf.set(a.value.alert_id, a);
  const alerts = [...firstOf.values()];
  const used = new Set<string>();
  let bursts = 0;
  let inTime = 0;
  let worst: number | null = null;
  let duplicateBursts = 0;
  let duplicateAlerted = 0;
  for (const s of truth.spammers) {
    for (const b of s.bursts) {
      bursts++;
      const inBurst = (a: Emitted<AnomalyAlert>) =>
        a.value.user_id === s.userId &&
        a.timestamp >= b.startMs &&
        a.timestamp <= b.endMs + truth.rateRule.windowMs;
      const rate = alerts.filter((a) => a.value.kind === 'rate' && inBurst(a));
      for (const a of rate) used.add(a.value.alert_id);
      const delay = rate.length === 0 ? null : rate[0]!.timestamp - b.thresholdMs;
      if (delay !== null) worst = Math.max(worst ?? delay, delay);
      if (rate.length === 1 && delay !== null && delay <= 1000) inTime++;
      else
        misses.anomaly.push(
          `burst of ${s.userId} at ${formatRfc3339(b.thresholdMs)}: ${rate.length} rate alerts, delay ${delay} ms`,
        );
      if (b.duplicateContent !== null) {
        duplicateBursts++;
        const dup = alerts.filter(
          (a) => a.value.kind === 'duplicate_content' && a.value.user_id === s.userId,
        );
        if (dup.length > 0) duplicateAlerted++;
        else
          misses.anomaly.push(
            `duplicate burst of ${s.userId} at ${formatRfc3339(b.startMs)}: no duplicate_content alert`,
          );
        for (const a of dup) used.add(a.value.alert_id);
      }
    }
  }
  const falseAlerts = alerts.filter((a) => !used.has(a.value.alert_id));
  for (const a of falseAlerts.slice(0, 5)) {
    misses.anomaly.push(
      `false ${a.value.kind} alert for ${a.value.user_id} at ${formatRfc3339(a.timestamp)}`,
    );
  }

  // Trends: windows by their bounds, each with its ranked words.
  const windows = new Map<string, { start: number; end: number; top3: Set<string> }>();
  for (const { value: w } of out.trends) {
    const key = `${w.window_start}/${w.window_end}`;
    const entry = windows.get(key) ?? { start: at(w.window_start), end: at(w.window_end), top3: new Set() };
    if (w.rank <= 3) entry.top3.add(w.word);
    windows.set(key, entry);
  }
  let trendWindows = 0;
  let trendTop3 = 0;
  for (const t of truth.trends) {
    for (const w of windows.values()) {
      if (w.start < t.startMs || w.end > t.endMs) continue;
      trendWindows++;
      if (w.top3.has(t.word)) trendTop3++;
      else
        misses.trends.push(
          `trend "${t.word}" not in the top 3 of ${formatRfc3339(w.start)}–${formatRfc3339(w.end)}`,
        );
    }
  }
  // Windows of the trend period that were never emitted count as misses too — when one fits in it
  // (a trend the end of the run cut to less than a window has no window to be ranked in).
  const windowMs = [...windows.values()].map((w) => w.end - w.start)[0] ?? 120_000;
  for (const t of truth.trends) {
    const firstStart = Math.ceil(t.startMs / windowMs) * windowMs;
    if (firstStart + windowMs > t.endMs) continue;
    if (![...windows.values()].some((w) => w.start >= t.startMs && w.end <= t.endMs)) {
      misses.trends.push(
        `trend "${t.word}" (${formatRfc3339(t.startMs)}–${formatRfc3339(t.endMs)}): no emitted window inside its period`,
      );
    }
  }
  const frequent = truth.mostFrequentWord;
  const frequentTop3 =
    frequent === null ? 0 : [...windows.values()].filter((w) => w.top3.has(frequent)).length;
  if (frequentTop3 > 0)
    misses.trends.push(`the most frequent word "${frequent}" is in ${frequentTop3} top 3s`);

  // Peaks: an injected peak is flagged when a peak window of its conversation overlaps it.
  const peakWindows = out.metrics.filter((m) => m.value.is_peak);
  const matched = new Set<Emitted<ConversationMetric>>();
  let flagged = 0;
  for (const p of truth.peaks) {
    const hits = peakWindows.filter(
      (m) =>
        m.value.conversation_id === p.conversationId &&
        at(m.value.window_start) <= p.endMs &&
        at(m.value.window_end) >= p.startMs,
    );
    for (const h of hits) matched.add(h);
    if (hits.length > 0) flagged++;
    else misses.peaks.push(`peak of ${p.conversationId} at ${formatRfc3339(p.startMs)} not flagged`);
  }
  return {
    seed,
    minutes,
    messages: truth.messages,
    bursts,
    burstsAlertedInTime: inTime,
    worstAlertDelayMs: worst,
    falseAlerts: falseAlerts.length,
    duplicateBursts,
    duplicateBurstsAlerted: duplicateAlerted,
    trends: truth.trends.length,
    trendWindows,
    trendWindowsTop3: trendTop3,
    frequentWord: frequent,
    frequentWordTop3: frequentTop3,
    peaks: truth.peaks.length,
    peaksFlagged: flagged,
    otherPeakWindows: peakWindows.length - matched.size,
    misses,
  };
}

/** True when the report meets every requirement (the spec's bar, not a tolerance). */
export function passes(r: QualityReport): boolean {
  return (
    r.burstsAlertedInTime === r.bursts &&
    r.falseAlerts === 0 &&
    r.trendWindowsTop3 === r.trendWindows &&
    r.frequentWordTop3 === 0 &&
    r.peaksFlagged === r.peaks &&
    r.misses.trends.length === 0
  );
}

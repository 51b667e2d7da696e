import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { platformTopics } from '../../src/app/index.ts';
import { ManualClock, systemClock } from '../../src/clock/index.ts';
import {
  type EventSink,
  type GeneratedEvent,
  publishTo,
  publishTraffic,
  takeTraffic,
  takeTrafficWithTruth,
} from '../../src/generator/index.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import { bestOf } from '../helpers/latency.ts';
import { waitUntil } from '../helpers/wait.ts';
import { readTopic, tempDir } from '../processors/helpers.ts';

const START = Date.UTC(2025, 10, 8, 14, 0, 0);

/** A sink that keeps what it is given (the EventSink port, not a broker). */
function collectingSink(): EventSink & { events: GeneratedEvent[] } {
  const events: GeneratedEvent[] = [];
  return {
    events,
    send: async (messages, views) => {
      events.push(...messages, ...views);
    },
    close: async () => {},
  };
}

test('a fast run into the embedded log yields to the event loop: timers run, an abort stops it at once', async (t) => {
  const dir = await tempDir(t, 'generator-publish-');
  const log = await openEmbeddedLog({ dataDir: dir });
  await log.createTopics(platformTopics());
  const published = { messages: 0, views: 0 };
  // One run usually; a stall of the shared machine (not of the generator) gets another attempt.
  await bestOf('abort latency and longest timer gap', 500, 3, async (attempt) => {
    const abort = new AbortController();
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 10);
    try {
      let firstBatch: () => void = () => {};
      const started = new Promise<void>((resolve) => (firstBatch = resolve));
      const run = publishTraffic(log, {
        clock: systemClock,
        seed: 2 + attempt,
        paced: false,
        count: Number.MAX_SAFE_INTEGER,
        signal: abort.signal,
        onProgress: () => firstBatch(),
      });
      await started;
      ticks.length = 0;
      await sleep(1000);
      // The longest the event loop went without running a timer while publishing.
      const longestGapMs = Math.max(...ticks.slice(1).map((x, i) => x - ticks[i]!));
      const abortedAt = performance.now();
      abort.abort();
      const totals = await run;
      const stopMs = performance.now() - abortedAt;
      published.messages += totals.messages;
      published.views += totals.views;
      t.diagnostic(
        `attempt ${attempt}: ${totals.messages} messages, stopped ${stopMs.toFixed(0)} ms after the abort, ${ticks.length} timer ticks, longest gap ${longestGapMs.toFixed(0)} ms`,
      );
      assert.ok(totals.messages > 1000, `${totals.messages} messages published in a second`);
      return ticks.length >= 3 ? Math.max(stopMs, longestGapMs) : Number.POSITIVE_INFINITY;
    } finally {
      clearInterval(timer);
    }
  });
  const messages = (await readTopic(log, 'chat.messages')).length;
  const views = (await readTopic(log, 'message-views')).length;
  await log.close();
  // Typically ≤ 50 ms and ≤ 40 ms on an idle machine (one batch); the bound leaves room for a loaded
  // CI machine, and stays well below the embedded log's 1 s fsync interval.
  assert.deepStrictEqual([messages, views], [published.messages, published.views]);
});

test('the truth returned covers exactly the delivered events', async () => {
  const sink = collectingSink();
  const result = await publishTo(sink, {
    clock: systemClock,
    seed: 6,
    paced: false,
    count: 40_000,
    startMs: START,
  });
  const expected = takeTrafficWithTruth(40_000, { seed: 6, startMs: START });
  // Within a batch the messages go before the views: the same events, per topic in the same order.
  const byTopic = (es: readonly GeneratedEvent[]) => ({
    messages: es.filter((e) => e.kind === 'message').map((e) => JSON.stringify(e.value)),
    views: es.filter((e) => e.kind === 'view').map((e) => JSON.stringify(e.value)),
  });
  assert.deepStrictEqual(
    { events: byTopic(sink.events), truth: result.truth },
    { events: byTopic(expected.events), truth: expected.truth },
  );
});

test('paced: events are published when the clock reaches their time; --duration ends the run', async () => {
  const clock = new ManualClock(START);
  const sink = collectingSink();
  const run = publishTo(sink, {
    clock,
    seed: 9,
    messagesPerSecond: 20,
    durationMs: 120_000,
    dayNight: false,
  });
  await sleep(120);
  const atStart = sink.events.length;
  clock.advance(60_000);
  // Every event due by then (the same traffic, computed here) reaches the sink; however long that takes.
  const due = takeTraffic(20_000, { seed: 9, messagesPerSecond: 20, dayNight: false, startMs: START }).filter(
    (e) => e.timeMs <= clock.now(),
  ).length;
  await waitUntil('the events due after 60 s', 10_000, () => sink.events.length >= due);
  const after60s = sink.events.filter((e) => e.kind === 'message').length;
  const late = sink.events.filter((e) => e.timeMs > clock.now()).length;
  clock.advance(120_000);
  const result = await run;
  assert.deepStrictEqual(
    {
      atStart: atStart <= 1,
      after60s: after60s > 1000 && after60s < 1400,
      late,
      beyondDuration: sink.events.filter((e) => e.timeMs >= START + 120_000).length,
      total: result.messages + result.views === sink.events.length,
    },
    { atStart: true, after60s: true, late: 0, beyondDuration: 0, total: true },
  );
});

/**
 * anomaly-detection on the embedded log with StreamsRuntime: the platform's topics (chat.messages in
 * 6 partitions), a stop and a restart half-way (state restored from the changelogs), windows closed
 * by idle advance. Which messages are late depends on how the runtime interleaved the input
 * partitions into the by-sender repartition topic, so the oracle reads that order back (it is each
 * task's input, in offset order) and recomputes lateness and bursts by brute force from it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AnomalyAlert, Topics } from '../../../src/events/index.ts';
import { createAnomalyDetection } from '../../../src/processors/anomaly-detection/index.ts';
import { tempLog } from '../../streams/helpers/log.ts';
import { type Msg, wireOf } from '../delivery.ts';
import { type RawEvent, readTopic, waitFor } from '../helpers.ts';
import { liveHarness, liveOptions, slicesOf } from './live.ts';
import { accepted, expectedAlerts, finalAlerts, spamTraffic } from './oracle.ts';
import { bySenderTopic, readAlerts, receivedPerTask } from './read-back.ts';

test('embedded log: the brute-force alerts of what each task received, each record once across a restart', async (t) => {
  const log = await tempLog(t, 'anomaly-it-');
  const msgs = spamTraffic({
    seed: 11,
    users: 20,
    spammers: 4,
    minutes: 6,
    disorderP: 0.3,
    disorderMs: 3_000,
    lateP: 0.03,
  });
  const app = `anomaly-it-${process.pid}`;
  const live = liveHarness(
    t,
    log,
    (clock) =>
      createAnomalyDetection(
        { log },
        {
          applicationId: app,
          ...liveOptions(clock),
        },
      ),
    [Topics.chatMessages.name, bySenderTopic(app)],
  );
  // Delivered as live traffic, 5 s of arrival time at a time (backlog.test.ts drains one at once),
  // with two invalid records.
  const slices = slicesOf(
    msgs,
    (m) => m.arrival,
    5_000,
    (m): RawEvent => ({
      topic: Topics.chatMessages.name,
      key: m.conversation,
      value: JSON.stringify(wireOf(m)),
    }),
  );
  (slices[10] as RawEvent[]).push(
    { topic: Topics.chatMessages.name, key: 'c', value: '{"message_id":' },
    { topic: Topics.chatMessages.name, key: 'c', value: '{"message_id":"x"}' },
  );
  const { runtime, lateRecords } = await live.deliver(slices);
  // An hour of wall-clock quiet: stream time follows the clock, every burst becomes final.
  live.jump(3_600_000);
  let records: AnomalyAlert[] = [];
  await waitFor(
    async () => {
      records = await readAlerts(log);
      return records.length > 0 && finalAlerts(records).every((a) => a.status === 'closed');
    },
    30_000,
    'every burst closed',
  );
  await runtime.stop();

  // What each by-sender task received, in order: lateness per task, then the bursts.
  const received: string[] = [];
  const ok: Msg[] = [];
  let late = 0;
  for (const inTask of await receivedPerTask(log, app, msgs)) {
    received.push(...inTask.map((m) => m.id));
    const result = accepted(inTask, 5_000);
    ok.push(...result.accepted);
    late += result.late;
  }
  const want = expectedAlerts(ok);
  const versions = records.map((a) => `${a.alert_id}/${a.version}`);
  assert.deepStrictEqual(
    {
      alerts: finalAlerts(records),
      repartitioned: received.sort(),
      uniqueVersions: new Set(versions).size === versions.length,
      late: lateRecords,
      deadLettered: (await readTopic(log, `${Topics.chatMessages.name}.dlq`)).length,
    },
    {
      alerts: want,
      repartitioned: msgs.map((m) => m.id).sort(),
      uniqueVersions: true,
      late,
      deadLettered: 2,
    },
  );
  assert.ok(
    want.length >= 8 && ok.length > msgs.length * 0.8,
    `${want.length} alerts, ${ok.length} accepted`,
  );
});

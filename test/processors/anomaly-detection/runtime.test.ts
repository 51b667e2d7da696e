/**
 * anomaly-detection on the embedded log with StreamsRuntime: the platform's topics (chat.messages in
 * 6 partitions), a stop and a restart half-way (state restored from the changelogs), windows closed
 * by idle advance. Which messages are late depends on how the runtime interleaved the input
 * partitions into the by-sender repartition topic, so the oracle reads that order back (it is each
 * task's input, in offset order) and recomputes lateness and bursts by brute force from it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { platformTopics } from '../../../src/app/index.ts';
import { type AnomalyAlert, AnomalyAlertSchema, Topics } from '../../../src/events/index.ts';
import { createAnomalyDetection } from '../../../src/processors/anomaly-detection/index.ts';
import { Codecs } from '../../../src/streams/index.ts';
import { tempLog } from '../../streams/helpers/log.ts';
import { type RawEvent, readTopic, waitFor } from '../helpers.ts';
import { liveHarness, slicesOf } from './live.ts';
import { accepted, bursts, finalAlerts, type Msg, spamTraffic, wireOf } from './oracle.ts';

const alertCodec = Codecs.schema(AnomalyAlertSchema);

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
  const repartition = `${app}-by-sender-repartition`;
  const live = liveHarness(
    t,
    log,
    (clock) =>
      createAnomalyDetection(
        { log },
        {
          applicationId: app,
          commitIntervalMs: 20,
          runtime: { clock, pollTimeoutMs: 5, purgeIntervalMs: 1e12 },
        },
      ),
    [Topics.chatMessages.name, repartition],
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
  await log.createTopics(platformTopics());
  const { runtime, lateRecords } = await live.deliver(slices);
  // An hour of wall-clock quiet: stream time follows the clock, every burst becomes final.
  live.jump(3_600_000);
  const readAlerts = async () =>
    (await readTopic(log, Topics.anomalyAlerts.name)).map((r) => alertCodec.deserialize(r.value));
  let records: AnomalyAlert[] = [];
  await waitFor(
    async () => {
      records = await readAlerts();
      return records.length > 0 && finalAlerts(records).every((a) => a.status === 'closed');
    },
    30_000,
    'every burst closed',
  );
  await runtime.stop();

  // What each by-sender task received, in order: lateness per task, then the bursts.
  const byId = new Map<string, Msg>(msgs.map((m) => [m.id, m]));
  const received: string[] = [];
  const ok: Msg[] = [];
  let late = 0;
  for (let p = 0; p < 6; p++) {
    const inTask = (await readTopic(log, repartition))
      .filter((r) => r.partition === p)
      .map((r) => byId.get(JSON.parse(String(r.value)).id) as Msg);
    received.push(...inTask.map((m) => m.id));
    const result = accepted(inTask, 5_000);
    ok.push(...result.accepted);
    late += result.late;
  }
  const want = [
    ...bursts(ok, { kind: 'rate', threshold: 8, windowMs: 60_000 }),
    ...bursts(ok, { kind: 'duplicate_content', threshold: 5, windowMs: 600_000 }),
  ].sort((a, b) => (a.alert_id < b.alert_id ? -1 : 1));
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

/**
 * A backlog drained at once (a restart after downtime, a replay) drops no record as late that a live
 * run would not drop, at the default grace: the runtime processes its buffered partitions in event-time
 * order (PartitionGroup), so the by-sender repartition topic receives the messages in about the
 * order of their timestamps, not one source partition minutes ahead of the others.
 *
 * The live run is the ideal one: every message processed the moment it arrives, so each by-sender
 * task sees its messages in arrival order. A message is late there when its sender's task had
 * already seen a message more than the grace newer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { platformTopics } from '../../../src/app/index.ts';
import { AnomalyAlertSchema, Topics } from '../../../src/events/index.ts';
import { takeTrafficWithTruth } from '../../../src/generator/index.ts';
import { partitionForKey } from '../../../src/log/index.ts';
import { alertIdOf, createAnomalyDetection } from '../../../src/processors/anomaly-detection/index.ts';
import { Codecs } from '../../../src/streams/index.ts';
import { tempLog } from '../../streams/helpers/log.ts';
import { caughtUp, produce, rawOf, readTopic, waitFor } from '../helpers.ts';
import { accepted, bursts, finalAlerts, type Msg, spamTraffic, wireOf } from './oracle.ts';

const GRACE_MS = 5_000; // the default STREAMS_GRACE_MS
const PARTITIONS = 6; // chat.messages, and so the by-sender repartition topic

test('backlog drained at once: no message late that a live run would not drop; the alerts of a live run', async (t) => {
  const log = await tempLog(t, 'anomaly-backlog-');
  const msgs = spamTraffic({
    seed: 23,
    users: 60,
    spammers: 6,
    minutes: 20,
    disorderP: 0.3,
    disorderMs: 3_000,
    lateP: 0.01,
  });
  await log.createTopics(platformTopics());
  // The whole backlog is in the log before the processor starts; the log timestamp is the append
  // time (no help in ordering): the runtime goes by the event time its extractor reads.
  await produce(
    log,
    msgs.map((m) => ({
      topic: Topics.chatMessages.name,
      key: m.conversation,
      value: JSON.stringify(wireOf(m)),
    })),
  );
  const app = `anomaly-backlog-${process.pid}`;
  const repartition = `${app}-by-sender-repartition`;
  const runtime = createAnomalyDetection(
    { log },
    { applicationId: app, idleAdvanceMs: null, runtime: { purgeIntervalMs: 1e12 } },
  );
  t.after(() => runtime.stop());
  await runtime.start();
  await waitFor(
    () => caughtUp(log, app, [Topics.chatMessages.name, repartition]),
    60_000,
    'the backlog drained',
  );
  const lateRecords = runtime.metrics().counters.lateRecords;
  await runtime.stop();

  // Late in the live run: per by-sender task, in arrival order.
  const liveLate = new Set<string>();
  const liveAccepted: Msg[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const inTask = msgs.filter((m) => partitionForKey(m.sender, PARTITIONS) === p);
    const ok = new Set(accepted(inTask, GRACE_MS).accepted.map((m) => m.id));
    for (const m of inTask) (ok.has(m.id) ? liveAccepted : []).push(m);
    for (const m of inTask) if (!ok.has(m.id)) liveLate.add(m.id);
  }
  // Late in the backlog run: per by-sender task, in the order the task received them.
  const byId = new Map(msgs.map((m) => [m.id, m]));
  const backlogLate: string[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const inTask = (await readTopic(log, repartition))
      .filter((r) => r.partition === p)
      .map((r) => byId.get(JSON.parse(String(r.value)).id) as Msg);
    const ok = new Set(accepted(inTask, GRACE_MS).accepted.map((m) => m.id));
    for (const m of inTask) if (!ok.has(m.id)) backlogLate.push(m.id);
  }
  const alertCodec = Codecs.schema(AnomalyAlertSchema);
  const alerts = finalAlerts(
    (await readTopic(log, Topics.anomalyAlerts.name)).map((r) => alertCodec.deserialize(r.value)),
  );
  const live = [
    ...bursts(liveAccepted, { kind: 'rate', threshold: 8, windowMs: 60_000 }),
    ...bursts(liveAccepted, { kind: 'duplicate_content', threshold: 5, windowMs: 600_000 }),
  ].sort((a, b) => (a.alert_id < b.alert_id ? -1 : 1));
  t.diagnostic(`${msgs.length} messages; late: live ${liveLate.size}, backlog ${backlogLate.length}`);
  assert.deepStrictEqual(
    {
      lateNotLateLive: backlogLate.filter((id) => !liveLate.has(id)),
      lateCounted: lateRecords,
      // Closed or not: idle advance is off, so the last bursts stay open; their ids and counts so far.
      alerts: alerts.map((a) => a.alert_id).sort(),
    },
    {
      lateNotLateLive: [],
      lateCounted: backlogLate.length,
      alerts: live.map((a) => a.alert_id),
    },
  );
  assert.ok(liveLate.size > 0 && live.length >= 10, `${liveLate.size} late live, ${live.length} alerts`);
});

/**
 * One alert per burst on the generator's traffic (in event-time order, each burst's messages spread
 * over the spammer's conversations, so over several input partitions). Fetched partition by
 * partition, a burst's messages reached the by-sender task out of event-time order: an earlier one
 * arriving after the 8th moved the burst's start, so the first alert was retracted and a second
 * alert id sent (bench:quality: 3 of 52 bursts). In event-time order every burst gets one id.
 */
test('backlog of generated traffic: exactly one rate alert id per injected burst, none retracted', async (t) => {
  const log = await tempLog(t, 'anomaly-backlog-gen-');
  const { events, truth } = takeTrafficWithTruth(30_000, { seed: 4 });
  await log.createTopics(platformTopics());
  await produce(log, events.map(rawOf));
  const app = `anomaly-backlog-gen-${process.pid}`;
  const runtime = createAnomalyDetection(
    { log },
    { applicationId: app, idleAdvanceMs: null, runtime: { purgeIntervalMs: 1e12 } },
  );
  t.after(() => runtime.stop());
  await runtime.start();
  await waitFor(
    () => caughtUp(log, app, [Topics.chatMessages.name, `${app}-by-sender-repartition`]),
    60_000,
    'the backlog drained',
  );
  await runtime.stop();
  const alertCodec = Codecs.schema(AnomalyAlertSchema);
  const records = (await readTopic(log, Topics.anomalyAlerts.name))
    .map((r) => alertCodec.deserialize(r.value))
    .filter((a) => a.kind === 'rate');
  const idsOf = (status?: string) =>
    [
      ...new Set(records.filter((a) => status === undefined || a.status === status).map((a) => a.alert_id)),
    ].sort();
  const want = truth.spammers
    .flatMap((s) => s.bursts.map((b) => alertIdOf(s.userId, 'rate', b.thresholdMessageId)))
    .sort();
  assert.ok(want.length >= 5, `${want.length} injected bursts`);
  assert.deepStrictEqual({ ids: idsOf(), retracted: idsOf('retracted') }, { ids: want, retracted: [] });
});

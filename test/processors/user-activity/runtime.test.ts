/**
 * user-activity on the embedded log with StreamsRuntime: the platform's topics, live-like delivery,
 * a stop and a restart half-way, windows closed by idle advance. The read join's output is checked
 * as a whole against the brute-force join of the raw events; which units are late depends on how
 * the runtime interleaved partitions, so the windows are recomputed from the order each window task
 * received its units in (the by-user repartition topic, in offset order).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Topics, type UserActivityMetric, UserActivityMetricSchema } from '../../../src/events/index.ts';
import { type Activity, createUserActivity } from '../../../src/processors/user-activity/index.ts';
import { Codecs } from '../../../src/streams/index.ts';
import { tempLog } from '../../streams/helpers/log.ts';
import { liveHarness, liveOptions, slicesOf } from '../anomaly-detection/live.ts';
import { wireOf } from '../delivery.ts';
import { type RawEvent, readTopic, waitFor } from '../helpers.ts';
import { activityTraffic, joinUnits, sortMetrics, type Unit, viewWireOf, windowsOf } from './oracle.ts';

const metricCodec = Codecs.schema(UserActivityMetricSchema);
const unitKey = (u: Unit) => `${u.user}|${u.kind}|${u.c}|${u.ts}`;

test('embedded log: every window once, equal to the brute force on what each task received, across a restart', async (t) => {
  const log = await tempLog(t, 'user-activity-it-');
  const events = activityTraffic({
    seed: 21,
    users: 20,
    minutes: 6,
    disorderP: 0.3,
    disorderMs: 3_000,
    lateP: 0.02,
  });
  const app = `user-activity-it-${process.pid}`;
  const internal = ['messages-by-id', 'views-by-id', 'by-user'].map((n) => `${app}-${n}-repartition`);
  const inputs = [Topics.chatMessages.name, Topics.messageViews.name, ...internal];
  const live = liveHarness(
    t,
    log,
    (clock) =>
      createUserActivity(
        { log },
        {
          applicationId: app,
          ...liveOptions(clock),
        },
      ),
    inputs,
  );
  // Delivered as live traffic: 5 s of arrival time at a time, each slice processed before the next.
  const slices = slicesOf(
    events,
    (e) => (e.kind === 'm' ? e.m.arrival : e.v.arrival),
    5_000,
    (e): RawEvent =>
      e.kind === 'm'
        ? { topic: Topics.chatMessages.name, key: e.m.conversation, value: JSON.stringify(wireOf(e.m)) }
        : { topic: Topics.messageViews.name, key: e.v.viewer, value: JSON.stringify(viewWireOf(e.v)) },
  );
  (slices[5] as RawEvent[]).push({ topic: Topics.messageViews.name, key: 'x', value: '{"message_id":"m"}' });
  const { runtime, lateRecords: late } = await live.deliver(slices);
  // An hour of wall-clock quiet: stream time follows the clock and every window closes.
  const byUser = internal[2] as string;
  const tasks: Unit[][] = [[], [], [], [], [], []];
  for (const r of await readTopic(log, byUser)) {
    const a = JSON.parse(String(r.value)) as Activity;
    (tasks[r.partition] as Unit[]).push({
      user: String(r.key),
      kind: a.k,
      c: a.k === 'read' ? '' : a.c,
      ts: r.timestamp,
    });
  }
  const want = windowsOf(tasks, 60_000, 5_000);
  live.jump(3_600_000);
  let metrics: UserActivityMetric[] = [];
  await waitFor(
    async () => {
      metrics = (await readTopic(log, Topics.userActivityMetrics.name)).map((r) =>
        metricCodec.deserialize(r.value),
      );
      return metrics.length >= want.metrics.length;
    },
    30_000,
    'every window closed',
  );
  await runtime.stop();
  const got = sortMetrics(
    (await readTopic(log, Topics.userActivityMetrics.name)).map((r) => metricCodec.deserialize(r.value)),
  );
  assert.deepStrictEqual(
    {
      units: tasks.flat().map(unitKey).sort(),
      metrics: got,
      late,
      deadLettered: (await readTopic(log, `${Topics.messageViews.name}.dlq`)).length,
    },
    {
      units: joinUnits(events).map(unitKey).sort(),
      metrics: want.metrics,
      late: want.late,
      deadLettered: 1,
    },
  );
  assert.ok(want.metrics.length > 100 && want.late > 10, `${want.metrics.length} windows, ${want.late} late`);
});

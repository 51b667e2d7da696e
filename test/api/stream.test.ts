import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LiveFeed, ThroughputSampler } from '../../src/api/index.ts';
import { platformTopics } from '../../src/app/index.ts';
import { systemClock } from '../../src/clock/index.ts';
import { Topics } from '../../src/events/index.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import { eventually } from './helpers.ts';

const alert = (i: number) => ({
  alert_id: `al-${i}`,
  user_id: `user-${i % 4}`,
  kind: 'rate',
  count: 8,
  threshold: 8,
  window_start: '2026-01-01T00:00:00.000Z',
  window_end: '2026-01-01T00:00:30.000Z',
  severity: 'low',
  first_message_id: 'a',
  last_message_id: 'b',
});

test('live feed: alerts, peaks, trends and ticks; Last-Event-ID resumes alerts with none lost or repeated', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-feed-'));
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  t.after(async () => {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });
  await log.createTopics(platformTopics());
  const producer = log.producer();
  const feed = new LiveFeed({
    log,
    clock: systemClock,
    sampler: new ThroughputSampler(log, systemClock, () => new Map()),
    tickMs: 100,
  });
  await feed.start();
  t.after(() => feed.stop());

  const first: { type: string; id?: string; data: unknown }[] = [];
  const unsubscribe = feed.subscribe((e) => first.push(e));
  const send = (topic: string, values: object[], key = (_v: object, i: number) => String(i)) =>
    producer.send(
      topic,
      values.map((v, i) => ({ key: key(v, i), value: JSON.stringify(v) })),
    );
  await send(Topics.anomalyAlerts.name, [0, 1, 2, 3].map(alert), (v) => (v as { user_id: string }).user_id);
  await send(Topics.conversationMetrics.name, [
    { conversation_id: 'c', is_peak: true, message_count: 9 },
    { conversation_id: 'd', is_peak: false, message_count: 1 },
  ]);
  await send(Topics.trendingWords.name, [{ word: 'weekend', rank: 1 }]);
  await eventually(
    async () =>
      first.filter((e) => e.type === 'alert').length === 4 && first.some((e) => e.type === 'tick')
        ? true
        : undefined,
    5_000,
    'live events',
  );
  unsubscribe();
  const alerts = first.filter((e) => e.type === 'alert');
  assert.deepStrictEqual(
    [
      alerts.map((e) => (e.data as { alert_id: string }).alert_id).sort(),
      first
        .filter((e) => e.type === 'peak')
        .map((e) => (e.data as { conversation_id: string }).conversation_id),
      first.filter((e) => e.type === 'trend').length,
    ],
    [['al-0', 'al-1', 'al-2', 'al-3'], ['c'], 1],
  );

  // A client that saw the first two alerts reconnects with the id of the second; meanwhile two more
  // alerts were raised. It gets alerts 3–6 exactly once, in order per partition.
  await send(Topics.anomalyAlerts.name, [4, 5].map(alert), (v) => (v as { user_id: string }).user_id);
  const resumed: { type: string; data: unknown }[] = [];
  const stop = feed.subscribe((e) => resumed.push(e), alerts[1]!.id);
  await send(Topics.anomalyAlerts.name, [6].map(alert), (v) => (v as { user_id: string }).user_id);
  await eventually(
    async () => (resumed.filter((e) => e.type === 'alert').length >= 5 ? true : undefined),
    5_000,
    'resumed alerts',
  );
  await new Promise((r) => setTimeout(r, 300));
  stop();
  const got = resumed.filter((e) => e.type === 'alert').map((e) => (e.data as { alert_id: string }).alert_id);
  const seenBefore = alerts.slice(0, 2).map((e) => (e.data as { alert_id: string }).alert_id);
  assert.deepStrictEqual(
    [...got].sort(),
    ['al-0', 'al-1', 'al-2', 'al-3', 'al-4', 'al-5', 'al-6'].filter((a) => !seenBefore.includes(a)),
  );
  await producer.close();
});

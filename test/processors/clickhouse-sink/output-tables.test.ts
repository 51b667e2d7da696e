import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/clock/index.ts';
import {
  type AnomalyAlert,
  type ConversationMetric,
  formatRfc3339,
  Topics,
  type TrendingWord,
  type UserActivityMetric,
} from '../../../src/events/index.ts';
import { Random } from '../../../src/generator/index.ts';
import { type Log, openEmbeddedLog } from '../../../src/log/index.ts';
import {
  CLICKHOUSE_SINK_APPLICATION_ID,
  ClickHouseSinkState,
  createClickHouseSink,
  OUTPUT_TOPICS,
  type SinkFlushEvent,
  type SinkState,
} from '../../../src/processors/clickhouse-sink/index.ts';
import { type ClickHouse, insertMessages, MIGRATIONS, migrate } from '../../../src/storage/index.ts';
import { caughtUp, fileChdb, produce, type RawEvent, readTopic, tempDir, waitFor } from '../helpers.ts';

let ch: ClickHouse;
fileChdb('sink-out-chdb-', (c) => {
  ch = c;
});

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
const iso = (ms: number) => formatRfc3339(ms);
const raw = (topic: string, key: string, value: unknown, timestamp: number): RawEvent => ({
  topic,
  key,
  value: JSON.stringify(value),
  timestamp,
});

/** Output records as the four processors would write them, in emission order, plus invalid ones. */
function outputs(seed: number) {
  const random = new Random(seed);
  const events: RawEvent[] = [];
  const activity: UserActivityMetric[] = [];
  const metrics: ConversationMetric[] = [];
  const words: TrendingWord[] = [];
  const alerts: AnomalyAlert[] = [];
  for (let minute = 0; minute < 40; minute++) {
    const start = T0 + minute * 60_000;
    for (let u = 0; u < 30; u++) {
      if (!random.chance(0.6)) continue;
      const a: UserActivityMetric = {
        user_id: `user-${u}`,
        window_start: iso(start),
        window_end: iso(start + 60_000),
        messages_sent: random.int(0, 7),
        messages_received: random.int(0, 12),
        reads: random.int(0, 9),
        active_conversations: random.int(1, 4),
      };
      activity.push(a);
      events.push(raw(Topics.userActivityMetrics.name, a.user_id, a, start + 60_000));
    }
    for (let c = 0; c < 8; c++) {
      const count = random.int(0, 30);
      const m: ConversationMetric = {
        conversation_id: `conv-${c}`,
        window_start: iso(start),
        window_end: iso(start + 30_000),
        window_kind: 'hopping',
        message_count: count,
        participant_count: random.int(1, 8),
        is_peak: count >= 20,
        baseline_count: random.int(0, 100) / 10,
        peak_threshold: 20,
      };
      metrics.push(m);
      events.push(raw(Topics.conversationMetrics.name, m.conversation_id, m, start + 30_000));
    }
    if (minute % 2 === 0) {
      for (let rank = 1; rank <= 5; rank++) {
        const w: TrendingWord = {
          word: `wörd${random.int(0, 40)}-${rank}`,
          window_start: iso(start),
          window_end: iso(start + 120_000),
          count: random.int(3, 50),
          rank,
          score: random.int(10, 900) / 100,
          baseline: random.int(0, 50) / 10,
        };
        words.push(w);
        events.push(raw(Topics.trendingWords.name, w.word, w, start + 120_000));
      }
    }
    if (minute % 3 === 0) {
      // An alert at once, then (mostly) an update as the burst grows: the update must win.
      const user = `user-${random.int(0, 29)}`;
      const first: AnomalyAlert = {
        alert_id: `rate:${user}:${start}`,
        user_id: user,
        kind: 'rate',
        count: 8,
        threshold: 8,
        window_start: iso(start),
        window_end: iso(start + 20_000),
        severity: 'low',
        first_message_id: `m-${minute}-1`,
        last_message_id: `m-${minute}-8`,
        window_ms: 60_000,
        trigger_message_id: `m-${minute}-8`,
        triggered_at: iso(start + 20_000),
        message_count: 8,
        status: 'open',
        version: 1,
      };
      alerts.push(first);
      events.push(raw(Topics.anomalyAlerts.name, user, first, start + 20_000));
      if (random.chance(0.7)) {
        const update = {
          ...first,
          count: 8 + random.int(1, 20),
          window_end: iso(start + 50_000),
          severity: 'high' as const,
          last_message_id: `m-${minute}-last`,
          message_count: 30,
          status: 'closed' as const,
          version: 2,
        };
        alerts.push(update);
        events.push(raw(Topics.anomalyAlerts.name, user, update, start + 50_000));
        if (minute % 9 === 0) {
          // Superseded by an out-of-order message: the alert leaves the table.
          const retracted = { ...update, status: 'retracted' as const, version: 3 };
          alerts.push(retracted);
          events.push(raw(Topics.anomalyAlerts.name, user, retracted, start + 55_000));
        }
      }
    }
  }
  // One record per topic that does not match its schema: dead-lettered, never stored.
  for (const topic of OUTPUT_TOPICS) events.splice(100, 0, raw(topic, 'bad', { window_start: 'soon' }, T0));
  return { events, activity, metrics, words, alerts };
}

/** The sink until it has committed every output topic, then stopped. */
async function runSink(
  log: Log,
  database: string,
  extra: { onFlush?: (e: SinkFlushEvent) => void; state?: SinkState } = {},
): Promise<unknown> {
  const runtime = createClickHouseSink(
    { ch, log, ...(extra.state ? { state: extra.state } : {}) },
    { database, batchRows: 200, flushMs: 50, ...(extra.onFlush ? { onFlush: extra.onFlush } : {}) },
  );
  await runtime.start();
  try {
    await waitFor(
      async () =>
        runtime.state !== 'running' || (await caughtUp(log, CLICKHOUSE_SINK_APPLICATION_ID, OUTPUT_TOPICS)),
      60_000,
      'the sink to catch up',
    );
  } finally {
    await runtime.stop();
  }
  return runtime.failure;
}

/** Every stored row (latest version per identity, as FINAL reads it) and the user_stats totals. */
async function tables(db: string) {
  const q = <T>(sql: string) => ch.query<T>(sql);
  return {
    conversation_metrics: await q(
      `SELECT conversation_id, toString(window_start) AS ws, message_count, participant_count, is_peak, baseline, peak_threshold, window_kind
       FROM ${db}.conversation_metrics FINAL ORDER BY conversation_id, window_start`,
    ),
    trending_words: await q(
      `SELECT toString(window_start) AS ws, word, count, rank, score, baseline
       FROM ${db}.trending_words FINAL ORDER BY window_start, word`,
    ),
    realtime_user_activity: await q(
      `SELECT user_id, toString(window_start) AS ws, messages_sent, messages_received, reads, active_conversations
       FROM ${db}.realtime_user_activity FINAL ORDER BY user_id, window_start`,
    ),
    anomaly_alerts: await q(
      `SELECT alert_id, user_id, count, severity, status, toString(window_end) AS we, last_message_id,
              trigger_message_id, message_count, toString(detected_at) AS detected, version
       FROM ${db}.anomaly_alerts FINAL ORDER BY alert_id`,
    ),
    user_stats: await q(
      `SELECT user_id, sum(messages_sent) AS sent, sum(messages_received) AS received, sum(reads) AS reads,
              sum(active_windows) AS windows, toString(min(first_seen)) AS first, toString(max(last_seen)) AS last
       FROM ${db}.user_stats GROUP BY user_id ORDER BY user_id`,
    ),
  };
}

const ch64 = (ms: number) => iso(ms).replace('T', ' ').replace('Z', '');

/** The tables recomputed from the records: the last emission per identity, sums per user. */
function expected(o: ReturnType<typeof outputs>) {
  const last = <T>(items: readonly T[], id: (t: T) => string) => [
    ...new Map(items.map((t) => [id(t), t])).values(),
  ];
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const stats = new Map<
    string,
    { sent: number; received: number; reads: number; windows: number; first: number; last: number }
  >();
  for (const a of o.activity) {
    const s = stats.get(a.user_id) ?? {
      sent: 0,
      received: 0,
      reads: 0,
      windows: 0,
      first: Infinity,
      last: 0,
    };
    s.sent += a.messages_sent;
    s.received += a.messages_received;
    s.reads += a.reads;
    s.windows++;
    s.first = Math.min(s.first, Date.parse(a.window_start));
    s.last = Math.max(s.last, Date.parse(a.window_end));
    stats.set(a.user_id, s);
  }
  return {
    conversation_metrics: o.metrics
      .map((m) => ({
        conversation_id: m.conversation_id,
        ws: ch64(Date.parse(m.window_start)),
        message_count: m.message_count,
        participant_count: m.participant_count,
        is_peak: m.is_peak,
        baseline: m.baseline_count,
        peak_threshold: m.peak_threshold,
        window_kind: m.window_kind,
      }))
      .sort((a, b) => byText(a.conversation_id, b.conversation_id) || byText(a.ws, b.ws)),
    trending_words: last(o.words, (w) => `${w.window_start}/${w.word}`)
      .map((w) => ({
        ws: ch64(Date.parse(w.window_start)),
        word: w.word,
        count: w.count,
        rank: w.rank,
        score: w.score,
        baseline: w.baseline,
      }))
      .sort((a, b) => byText(a.ws, b.ws) || byText(a.word, b.word)),
    realtime_user_activity: o.activity
      .map((a) => ({
        user_id: a.user_id,
        ws: ch64(Date.parse(a.window_start)),
        messages_sent: a.messages_sent,
        messages_received: a.messages_received,
        reads: a.reads,
        active_conversations: a.active_conversations,
      }))
      .sort((a, b) => byText(a.user_id, b.user_id) || byText(a.ws, b.ws)),
    anomaly_alerts: last(o.alerts, (a) => a.alert_id)
      .filter((a) => a.status !== 'retracted')
      .map((a) => ({
        alert_id: a.alert_id,
        user_id: a.user_id,
        count: a.count,
        severity: a.severity,
        status: a.status,
        we: ch64(Date.parse(a.window_end)),
        last_message_id: a.last_message_id,
        trigger_message_id: a.trigger_message_id,
        message_count: a.message_count,
        detected: ch64(Date.parse(a.triggered_at)),
        version: a.version,
      }))
      .sort((a, b) => byText(a.alert_id, b.alert_id)),
    user_stats: [...stats]
      .sort((a, b) => byText(a[0], b[0]))
      .map(([user_id, s]) => ({
        user_id,
        sent: s.sent,
        received: s.received,
        reads: s.reads,
        windows: s.windows,
        first: ch64(s.first),
        last: ch64(s.last),
      })),
  };
}

/** A state that "crashes" (the runtime fails) right after the n-th acknowledged insert of `topic`. */
function crashingState(inner: SinkState, topic: string, n: number): SinkState {
  let inserted = 0;
  return {
    load: (app, t, p) => inner.load(app, t, p),
    async save(app, t, p, progress) {
      if (t === topic && progress.status === 'inserted' && ++inserted === n) {
        throw new Error('simulated crash between the insert and its progress record');
      }
      await inner.save(app, t, p, progress);
    },
  };
}

test('output topics → tables exactly once: latest emission wins, retracted alerts leave, user_stats sums each window once through crash and replay', async (t) => {
  const log = await openEmbeddedLog({ dataDir: await tempDir(t, 'sink-out-log-'), fsync: 'never' });
  t.after(() => log.close());
  const db = 'sink_outputs';
  await migrate(ch, { database: db, clock: new ManualClock(T0) });
  const o = outputs(7);
  await produce(log, o.events);
  const want = expected(o);

  // Run 1 dies between an insert and its progress record (twice over): the interrupted ranges are
  // inserted again under their tokens by the next run, and ClickHouse drops the copies.
  const state = new ClickHouseSinkState(ch, db);
  for (const [topic, n] of [
    [Topics.anomalyAlerts.name, 1],
    [Topics.userActivityMetrics.name, 2],
  ] as const) {
    const failure = await runSink(log, db, { state: crashingState(state, topic, n) });
    assert.match(String(failure), /simulated crash/);
  }
  const flushes: SinkFlushEvent[] = [];
  assert.equal(await runSink(log, db, { onFlush: (e) => flushes.push(e) }), undefined);
  assert.ok(
    flushes.some((e) => e.kind === 'replayed'),
    'an interrupted range was inserted again under its token',
  );
  assert.deepStrictEqual(await tables(db), want);

  // The four invalid records went to their dead-letter topics once (crashed runs committed nothing).
  const dead = [];
  for (const topic of OUTPUT_TOPICS) dead.push(...(await readTopic(log, `${topic}.dlq`)).map(() => topic));
  assert.deepStrictEqual(dead, OUTPUT_TOPICS);

  // Replay everything from the earliest offsets: every row is skipped, no total moves.
  const offsets = [];
  for (const topic of OUTPUT_TOPICS) {
    for (let p = 0; p < (await log.describeTopic(topic)).partitions; p++)
      offsets.push({ topic, partition: p, offset: 0 });
  }
  await log.setGroupOffsets(CLICKHOUSE_SINK_APPLICATION_ID, offsets);
  const replay: SinkFlushEvent[] = [];
  assert.equal(await runSink(log, db, { onFlush: (e) => replay.push(e) }), undefined);
  assert.ok(replay.length > 0 && replay.every((e) => e.kind === 'skipped'), 'the replay skipped what was in');
  assert.deepStrictEqual(await tables(db), want);
});

test('the sink persists only the output topics it is given', async (t) => {
  const log = await openEmbeddedLog({ dataDir: await tempDir(t, 'sink-out-log-'), fsync: 'never' });
  t.after(() => log.close());
  const sources = (outputs?: readonly (typeof OUTPUT_TOPICS)[number][]) =>
    createClickHouseSink({ ch, log }, outputs === undefined ? {} : { outputs })
      .topology.subtopologies.flatMap((s) => s.sourceTopics)
      .sort();
  assert.deepStrictEqual(sources([]), ['chat.messages', 'message-views']);
  assert.deepStrictEqual(sources(), ['chat.messages', 'message-views', ...OUTPUT_TOPICS].sort());
});

test('migration 5 on an install at version 4 keeps its data; a non-empty table of migration 2 stops it intact', async () => {
  const clock = new ManualClock(T0);
  const db = 'sink_upgrade';
  await migrate(ch, { database: db, clock, migrations: MIGRATIONS.filter((m) => m.version <= 4) });
  await insertMessages(
    ch,
    [
      {
        message_id: 'm1',
        conversation_id: 'c',
        sender_id: 'a',
        receiver_id: 'b',
        content: 'hi',
        created_at: T0,
      },
    ],
    undefined,
    db,
  );
  assert.deepStrictEqual(
    await migrate(ch, { database: db, clock, migrations: MIGRATIONS.filter((m) => m.version <= 5) }),
    [5],
  );
  const [kept] = await ch.query<{ n: number }>(`SELECT toUInt32(count()) AS n FROM ${db}.messages`);
  const [version] = await ch.query<{ v: string }>(
    `SELECT type AS v FROM system.columns WHERE database = {db:String} AND table = 'anomaly_alerts' AND name = 'version'`,
    { db },
  );

  const full = 'sink_upgrade_rows';
  await migrate(ch, { database: full, clock, migrations: MIGRATIONS.filter((m) => m.version <= 4) });
  await ch.command(
    `INSERT INTO ${full}.trending_words (window_start, window_end, word, count, rank, score, baseline, emitted_at)
     VALUES ('2026-03-01 09:00:00', '2026-03-01 09:02:00', 'kept', 9, 1, 3.5, 1, '2026-03-01 09:02:00')`,
  );
  const failed = await migrate(ch, { database: full, clock }).then(
    () => 'applied',
    (err: Error) => err.message,
  );
  const [row] = await ch.query<{ word: string }>(`SELECT word FROM ${full}.trending_words`);
  assert.deepStrictEqual(
    { kept, version, failed: /TABLE_NOT_EMPTY/.test(failed), row },
    { kept: { n: 1 }, version: { v: 'UInt64' }, failed: true, row: { word: 'kept' } },
  );
});

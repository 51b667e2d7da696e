import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/clock/index.ts';
import { AppError, ErrorCode } from '../../../src/errors/index.ts';
import { decodeChatMessage, decodeMessageView, formatRfc3339 } from '../../../src/events/index.ts';
import { takeTraffic } from '../../../src/generator/index.ts';
import { type Log, openEmbeddedLog } from '../../../src/log/index.ts';
import {
  CLICKHOUSE_SINK_APPLICATION_ID,
  createClickHouseSink,
  type SinkFlushEvent,
} from '../../../src/processors/clickhouse-sink/index.ts';
import { type ClickHouse, migrate } from '../../../src/storage/index.ts';
import {
  caughtUp,
  fileChdb,
  produce,
  type RawEvent,
  rawOf,
  readTopic,
  tempDir,
  waitFor,
} from '../helpers.ts';

// One chDB engine per process: every test of this file shares it, each in its own database (the seed
// queries name `message_db`, so the test that runs them owns that one).
let ch: ClickHouse;
fileChdb('sink-chdb-', (c) => {
  ch = c;
});

const INPUTS = ['chat.messages', 'message-views'];

/** Run the sink on `log` until it has committed everything, then stop it. */
async function runSink(
  log: Log,
  database: string,
  onFlush?: (e: SinkFlushEvent) => void,
  storage: ClickHouse = ch,
): Promise<void> {
  const runtime = createClickHouseSink(
    { ch: storage, log },
    { database, batchRows: 4000, flushMs: 150, ...(onFlush ? { onFlush } : {}) },
  );
  await runtime.start();
  try {
    await waitFor(
      () => caughtUp(log, CLICKHOUSE_SINK_APPLICATION_ID, INPUTS),
      120_000,
      'the sink to catch up',
    );
  } finally {
    await runtime.stop();
  }
  assert.equal(runtime.failure, undefined);
}

async function counts(db: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['messages', 'messages_base', 'message_views', 'message_index']) {
    const [row] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${db}.${table}`);
    out[table] = Number(row!.n);
  }
  const [r] = await ch.query<{ n: string }>(
    `SELECT count() AS n FROM (SELECT DISTINCT message_id, reader_id FROM ${db}.message_receipts)`,
  );
  out.receipt_pairs = Number(r!.n);
  return out;
}

test('seed queries run verbatim and equal the values recomputed from the input; replay adds nothing', async (t) => {
  const log = await openEmbeddedLog({ dataDir: await tempDir(t, 'sink-log-'), fsync: 'never' });
  t.after(() => log.close());
  await migrate(ch, { clock: new ManualClock(Date.UTC(2026, 0, 1)) });

  // ~4 hours of traffic (1 message/s), plus records that must be dead-lettered.
  const generated = takeTraffic(24_000, { seed: 11, messagesPerSecond: 1 });
  const bad: RawEvent[] = [
    { topic: 'chat.messages', key: 'conv-x', value: '{"message_id": "broken' },
    {
      topic: 'chat.messages',
      key: 'conv-x',
      value: JSON.stringify({
        ...generated.find((e) => e.kind === 'message')!.value,
        message_id: 'bad-ts',
        timestamp: 'yesterday',
      }),
    },
    {
      topic: 'message-views',
      key: 'bob',
      value: '{"message_id":"m","user_id":"bob","viewed_at":"2025-11-08T25:00:00Z"}',
    },
  ];
  const raw = generated.map(rawOf);
  raw.splice(1000, 0, bad[0]!, bad[1]!);
  raw.splice(5000, 0, bad[2]!);
  await produce(log, raw);
  await runSink(log, 'message_db');

  // The oracle: recompute both answers from the input events.
  const messages = generated
    .filter((e) => e.kind === 'message')
    .map((e) => decodeChatMessage(JSON.stringify(e.value)));
  const views = generated
    .filter((e) => e.kind === 'view')
    .map((e) => decodeMessageView(JSON.stringify(e.value)));
  const hourly = new Map<number, number>();
  for (const m of messages) {
    const hour = Math.floor(m.timestamp / 3_600_000) * 3_600_000;
    hourly.set(hour, (hourly.get(hour) ?? 0) + 1);
  }
  const receiverOf = new Map(messages.map((m) => [m.message_id, m.receiver_id]));
  const readIds = new Set(
    views.filter((v) => receiverOf.get(v.message_id) === v.user_id).map((v) => v.message_id),
  );
  const perSender = new Map<string, { sent: number; read: number }>();
  for (const m of messages) {
    const s = perSender.get(m.sender_id) ?? { sent: 0, read: 0 };
    s.sent++;
    if (readIds.has(m.message_id)) s.read++;
    perSender.set(m.sender_id, s);
  }

  // The seed's example queries, verbatim.
  const hourlyRows = await ch.query<{ hour: string; messages: string }>(`-- Hourly message volume
SELECT toStartOfHour(created_at) AS hour, count(*) AS messages
FROM message_db.messages GROUP BY hour ORDER BY hour DESC;`);
  const readRateRows = await ch.query<{
    sender_id: string;
    sent: string;
    read_count: string;
    read_rate: number;
  }>(`-- Read rate per sender
SELECT sender_id,
       count(*) AS sent,
       countIf(read_status = 'read') AS read_count,
       round(read_count * 100.0 / sent, 2) AS read_rate
FROM message_db.messages GROUP BY sender_id;`);

  assert.ok(hourly.size >= 3, 'the traffic spans several hours');
  assert.deepStrictEqual(
    hourlyRows.map((r) => [r.hour, Number(r.messages)]),
    [...hourly.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([h, n]) => [formatRfc3339(h).replace('T', ' ').slice(0, 19), n]),
  );
  const actualRates = readRateRows
    .map((r) => ({
      sender_id: r.sender_id,
      sent: Number(r.sent),
      read_count: Number(r.read_count),
      read_rate: Number(r.read_rate),
    }))
    .sort((a, b) => a.sender_id.localeCompare(b.sender_id));
  const expectedRates = [...perSender.entries()]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([sender_id, s]) => ({
      sender_id,
      sent: s.sent,
      read_count: s.read,
      read_rate: Math.round((s.read * 10_000) / s.sent) / 100,
    }));
  // read_rate is a Float64 rounded by ClickHouse (banker's rounding on ties): compare to 1e-9 or a tie.
  assert.deepStrictEqual(
    actualRates.map(({ read_rate, ...rest }) => rest),
    expectedRates.map(({ read_rate, ...rest }) => rest),
  );
  for (const [i, a] of actualRates.entries()) {
    const exact = (a.read_count * 100) / a.sent;
    assert.ok(Math.abs(a.read_rate - exact) <= 0.005 + 1e-9, `${a.sender_id}: ${a.read_rate} vs ${exact}`);
    assert.ok(Math.abs(a.read_rate - expectedRates[i]!.read_rate) < 0.0101);
  }

  // Invalid records went to the dead-letter topics with their reason, nothing else did.
  const dlq = [
    ...(await readTopic(log, 'chat.messages.dlq')),
    ...(await readTopic(log, 'message-views.dlq')),
  ];
  const reasons = dlq.map(
    (r) => Object.fromEntries(r.headers.map(([k, v]) => [k, v.toString()]))['dlq.reason'] ?? '',
  );
  assert.equal(dlq.length, 3);
  assert.ok(
    reasons.some((r) => /not JSON|Unterminated|JSON/.test(r)),
    reasons.join(' | '),
  );
  assert.ok(
    reasons.some((r) => /timestamp = "yesterday"/.test(r)),
    reasons.join(' | '),
  );
  assert.ok(
    reasons.some((r) => /viewed_at = "2025-11-08T25:00:00Z"/.test(r)),
    reasons.join(' | '),
  );

  // Replay: reset the sink's offsets to the earliest and process everything again.
  const before = await counts('message_db');
  assert.deepStrictEqual(before, {
    messages: messages.length,
    messages_base: messages.length,
    message_views: views.length,
    message_index: messages.length,
    receipt_pairs: new Set(views.map((v) => `${v.message_id}/${v.user_id}`)).size,
  });
  const offsets = [];
  for (const topic of INPUTS) {
    const { partitions } = await log.describeTopic(topic);
    for (let p = 0; p < partitions; p++) offsets.push({ topic, partition: p, offset: 0 });
  }
  await log.setGroupOffsets(CLICKHOUSE_SINK_APPLICATION_ID, offsets);
  const events: SinkFlushEvent[] = [];
  await runSink(log, 'message_db', (e) => events.push(e));
  assert.deepStrictEqual(await counts('message_db'), before);
  assert.ok(events.length > 0 && events.every((e) => e.kind === 'skipped'), 'the replay skipped what was in');
});

test('receipts: before their message, repeated, by others, for unknown ids, or invalid', async (t) => {
  const log = await openEmbeddedLog({ dataDir: await tempDir(t, 'sink-log-'), fsync: 'never' });
  t.after(() => log.close());
  const db = 'sink_receipts';
  await migrate(ch, { database: db, clock: new ManualClock(Date.UTC(2026, 0, 1)) });
  const T = Date.UTC(2025, 10, 8, 14, 0, 0);
  const iso = (ms: number) => formatRfc3339(ms);
  const msg = (id: string, from: string, to: string, at: number): RawEvent => ({
    topic: 'chat.messages',
    key: 'conv-1',
    value: JSON.stringify({
      message_id: id,
      user_id: from,
      content: `hello ${id}`,
      timestamp: iso(at),
      event_type: 'message_sent',
      conversation_id: 'conv-1',
      sender_id: from,
      receiver_id: to,
      message_type: 'text',
    }),
  });
  const view = (id: string, who: string, at: number | string): RawEvent => ({
    topic: 'message-views',
    key: who,
    value: JSON.stringify({
      message_id: id,
      user_id: who,
      viewed_at: typeof at === 'string' ? at : iso(at),
      device: 'ios',
    }),
  });

  // Phase 1: the views arrive first (and are stored) before any message exists.
  await produce(log, [
    view('m1', 'bob', T + 10_000), // the receiver's read…
    view('m1', 'bob', T + 5_000), // …and an earlier one arriving later: read_at is the first read
    view('m1', 'bob', T + 60_000), // a later re-read does not move read_at
    view('m2', 'alice', T + 3_000), // the sender viewing her own message
    view('m2', 'carol', T + 4_000), // someone else: recorded, not a read
    view('m3', 'alice', T + 7_000), // the receiver, twice the same event
    view('m3', 'alice', T + 7_000),
    view('ghost', 'bob', T + 1_000), // a message that never arrives
    view('m4', 'bob', '2025-11-08T14:00:00'), // no offset: invalid → dead-letter
  ]);
  await runSink(log, db);
  // Phase 2: the messages.
  await produce(log, [
    msg('m1', 'alice', 'bob', T),
    msg('m2', 'alice', 'bob', T + 1),
    msg('m3', 'bob', 'alice', T + 2),
    msg('m4', 'alice', 'bob', T + 3),
  ]);
  await runSink(log, db);

  const rows = await ch.query<{ message_id: string; read_status: string; read_at: string | null }>(
    `SELECT message_id, read_status, read_at FROM ${db}.messages ORDER BY message_id`,
  );
  assert.deepStrictEqual(rows, [
    { message_id: 'm1', read_status: 'read', read_at: '2025-11-08 14:00:05.000' },
    { message_id: 'm2', read_status: 'sent', read_at: null },
    { message_id: 'm3', read_status: 'read', read_at: '2025-11-08 14:00:07.000' },
    { message_id: 'm4', read_status: 'sent', read_at: null },
  ]);
  const stored = await ch.query<{ message_id: string; reader_id: string; n: string }>(
    `SELECT message_id, reader_id, count() AS n FROM ${db}.message_views GROUP BY message_id, reader_id ORDER BY message_id, reader_id`,
  );
  assert.deepStrictEqual(
    stored.map((r) => [r.message_id, r.reader_id, Number(r.n)]),
    [
      ['ghost', 'bob', 1],
      ['m1', 'bob', 3],
      ['m2', 'alice', 1],
      ['m2', 'carol', 1],
      ['m3', 'alice', 2],
    ],
  );
  // The dead-letter envelope carries the reason, the source position and the original bytes.
  const dlq = (await readTopic(log, 'message-views.dlq')).map((r) => JSON.parse(r.value!.toString()));
  assert.deepStrictEqual(
    dlq.map((e) => [e.stage, e.errorCode, e.source.topic, Buffer.from(e.value, 'base64').toString()]),
    [['validation', 'EVENT_INVALID', 'message-views', view('m4', 'bob', '2025-11-08T14:00:00').value]],
  );
  const source = (await readTopic(log, 'message-views')).find(
    (r) => r.partition === dlq[0].source.partition && r.offset === dlq[0].source.offset,
  );
  assert.equal(source?.value?.toString('base64'), dlq[0].value, 'the envelope points at the source record');
  assert.match(
    dlq[0].reason,
    /^message-views: viewed_at = "2025-11-08T14:00:00": expected an RFC 3339 date-time/,
  );
});

test('while ClickHouse is unavailable the sink retries with back-off and holds its input; nothing lost', async (t) => {
  const log = await openEmbeddedLog({ dataDir: await tempDir(t, 'sink-log-'), fsync: 'never' });
  t.after(() => log.close());
  const db = 'sink_outage';
  await migrate(ch, { database: db, clock: new ManualClock(Date.UTC(2026, 0, 1)) });
  const events = takeTraffic(12_000, { seed: 23, messagesPerSecond: 20 });
  await produce(log, events.map(rawOf));

  // The real engine behind a switch: for the first 1.5 s every data insert fails as a server that is
  // down would (STORAGE_UNAVAILABLE, retriable).
  const downUntil = Date.now() + 1500;
  const attempts: number[] = [];
  const flaky: ClickHouse = {
    kind: ch.kind,
    query: (sql, params) => ch.query(sql, params),
    queryCompact: (sql, options) => ch.queryCompact(sql, options),
    command: (sql, params) => ch.command(sql, params),
    ping: () => ch.ping(),
    close: async () => {},
    async insert(table, rows, options) {
      if (!table.endsWith('sink_progress')) {
        attempts.push(rows.length);
        if (Date.now() < downUntil) {
          throw new AppError(ErrorCode.STORAGE_UNAVAILABLE, 'connection refused', {
            retriable: true,
            context: { table },
          });
        }
      }
      return ch.insert(table, rows, options);
    },
  };
  await runSink(log, db, undefined, flaky);

  const messages = events.filter((e) => e.kind === 'message').length;
  const views = events.length - messages;
  const [row] = await ch.query<{ m: string; v: string }>(
    `SELECT (SELECT count() FROM ${db}.messages_base) AS m, (SELECT count() FROM ${db}.message_views) AS v`,
  );
  assert.deepStrictEqual([Number(row!.m), Number(row!.v)], [messages, views]);
  assert.ok(attempts.length > 10, `the insert was retried (${attempts.length} attempts)`);
  // Back-pressure: no attempt carried more than one batch plus one poll of rows.
  assert.ok(Math.max(...attempts) <= 4000 + 10_000, `largest insert ${Math.max(...attempts)} rows`);
});

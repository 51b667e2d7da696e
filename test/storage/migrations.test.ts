import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock/index.ts';
import {
  appliedMigrations,
  applyRetention,
  type ClickHouse,
  checksumOf,
  insertMessages,
  MIGRATIONS,
  type Migration,
  migrate,
  openChdb,
} from '../../src/storage/index.ts';

const T0 = Date.UTC(2026, 0, 1, 12);

test('migrations: fresh apply, idempotent re-apply, recorded, persistent across reopen', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'storage-migrations-'));
  const opened: ClickHouse[] = [];
  t.after(async () => {
    for (const c of opened) await c.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const clock = new ManualClock(T0);

  const ch = await openChdb({ dataDir });
  opened.push(ch);
  const first = await migrate(ch, { clock });
  clock.advance(60_000);
  const second = await migrate(ch, { clock });
  await insertMessages(ch, [
    {
      message_id: 'm1',
      conversation_id: 'c1',
      sender_id: 'a',
      receiver_id: 'b',
      content: 'hi',
      created_at: T0,
    },
  ]);
  const recorded = await appliedMigrations(ch);
  const tables = await ch.query<{ name: string; engine: string }>(
    `SELECT name, engine FROM system.tables WHERE database = 'message_db' AND name NOT LIKE '.inner%' ORDER BY name`,
  );
  await ch.close();

  const reopened = await openChdb({ dataDir });
  opened.push(reopened);
  const third = await migrate(reopened, { clock });
  const afterReopen = await appliedMigrations(reopened);
  const [count] = await reopened.query<{ n: number }>(
    'SELECT toUInt32(count()) AS n FROM message_db.messages',
  );

  assert.deepStrictEqual(
    { first, second, third, recorded, afterReopen, count, tables },
    {
      first: MIGRATIONS.map((m) => m.version),
      second: [],
      third: [],
      recorded: MIGRATIONS.map((m) => ({
        version: m.version,
        name: m.name,
        checksum: checksumOf(m),
        applied_at: '2026-01-01 12:00:00.000',
      })),
      afterReopen: recorded,
      count: { n: 1 },
      tables: [
        { name: 'anomaly_alerts', engine: 'ReplacingMergeTree' },
        { name: 'conversation_hourly', engine: 'AggregatingMergeTree' },
        { name: 'conversation_hourly_mv', engine: 'MaterializedView' },
        { name: 'conversation_metrics', engine: 'ReplacingMergeTree' },
        { name: 'conversation_senders', engine: 'AggregatingMergeTree' },
        { name: 'conversation_senders_mv', engine: 'MaterializedView' },
        { name: 'early_views', engine: 'MergeTree' },
        { name: 'early_views_mv', engine: 'MaterializedView' },
        { name: 'hourly_totals', engine: 'AggregatingMergeTree' },
        { name: 'hourly_totals_mv', engine: 'MaterializedView' },
        { name: 'hourly_volume', engine: 'View' },
        { name: 'message_events', engine: 'Null' },
        { name: 'message_events_msg_mv', engine: 'MaterializedView' },
        { name: 'message_events_view_mv', engine: 'MaterializedView' },
        { name: 'message_first_reads', engine: 'MergeTree' },
        { name: 'message_first_reads_mv', engine: 'MaterializedView' },
        { name: 'message_index', engine: 'ReplacingMergeTree' },
        { name: 'message_index_mv', engine: 'MaterializedView' },
        { name: 'message_receipts', engine: 'AggregatingMergeTree' },
        { name: 'message_receipts_mv', engine: 'MaterializedView' },
        { name: 'message_rows', engine: 'AggregatingMergeTree' },
        { name: 'message_rows_mv', engine: 'MaterializedView' },
        { name: 'message_views', engine: 'MergeTree' },
        { name: 'messages', engine: 'View' },
        { name: 'messages_base', engine: 'ReplacingMergeTree' },
        { name: 'minute_totals', engine: 'AggregatingMergeTree' },
        { name: 'minute_totals_mv', engine: 'MaterializedView' },
        { name: 'realtime_user_activity', engine: 'ReplacingMergeTree' },
        { name: 'rollup_events', engine: 'Null' },
        { name: 'rollup_events_mv', engine: 'MaterializedView' },
        { name: 'schema_migrations', engine: 'ReplacingMergeTree' },
        { name: 'sender_hourly', engine: 'AggregatingMergeTree' },
        { name: 'sender_hourly_mv', engine: 'MaterializedView' },
        { name: 'sender_read_delays', engine: 'AggregatingMergeTree' },
        { name: 'sender_read_delays_mv', engine: 'MaterializedView' },
        { name: 'sender_read_rate_total', engine: 'View' },
        { name: 'sender_totals', engine: 'AggregatingMergeTree' },
        { name: 'sender_totals_mv', engine: 'MaterializedView' },
        { name: 'sink_progress', engine: 'ReplacingMergeTree' },
        { name: 'store_watermarks', engine: 'MergeTree' },
        { name: 'trending_words', engine: 'ReplacingMergeTree' },
        { name: 'user_stats', engine: 'AggregatingMergeTree' },
        { name: 'user_stats_mv', engine: 'MaterializedView' },
        { name: 'view_lookups', engine: 'Null' },
        { name: 'view_lookups_mv', engine: 'MaterializedView' },
      ],
    },
  );
});

test('migrations: a changed checksum of an applied migration is rejected; new ones still apply', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'storage-migrations-'));
  const ch = await openChdb({ dataDir });
  t.after(async () => {
    await ch.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const clock = new ManualClock(T0);
  const v1: Migration = {
    version: 1,
    name: 'one',
    statements: ['CREATE TABLE IF NOT EXISTS $db.t1 (a String) ENGINE = MergeTree ORDER BY a'],
  };
  const v2: Migration = {
    version: 2,
    name: 'two',
    statements: ['CREATE TABLE IF NOT EXISTS $db.t2 (a String) ENGINE = MergeTree ORDER BY a'],
  };
  const applied = await migrate(ch, { clock, database: 'mig_test', migrations: [v1] });
  const edited: Migration = { ...v1, statements: [`${v1.statements[0]} SETTINGS index_granularity = 1024`] };
  const rejected = await migrate(ch, { clock, database: 'mig_test', migrations: [edited, v2] }).then(
    () => null,
    (err: unknown) => err,
  );
  const thenV2 = await migrate(ch, { clock, database: 'mig_test', migrations: [v1, v2] });
  const rejectedInfo =
    rejected instanceof Error && 'code' in rejected
      ? { code: rejected.code, mentionsVersion: rejected.message.includes('migration 1 (one)') }
      : rejected;
  assert.deepStrictEqual(
    {
      applied,
      rejected: rejectedInfo,
      thenV2,
      versions: (await appliedMigrations(ch, 'mig_test')).map((m) => m.version),
    },
    {
      applied: [1],
      rejected: { code: 'STORAGE_MIGRATION', mentionsVersion: true },
      thenV2: [2],
      versions: [1, 2],
    },
  );
});

test('retention: TTLs set from options, removed with 0, re-apply is a no-op', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'storage-retention-'));
  const ch = await openChdb({ dataDir });
  t.after(async () => {
    await ch.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  await migrate(ch, { clock: new ManualClock(T0) });
  const ttls = async (): Promise<Record<string, string | null>> => {
    const rows = await ch.query<{ name: string; engine_full: string }>(
      `SELECT name, engine_full FROM system.tables WHERE database = 'message_db'
       AND name IN ('messages_base', 'message_views', 'anomaly_alerts') ORDER BY name`,
    );
    return Object.fromEntries(
      rows.map((r) => [r.name, /\bTTL (.*?)(?: SETTINGS |$)/.exec(r.engine_full)?.[1] ?? null]),
    );
  };
  await applyRetention(ch, { messagesDays: 7 });
  await applyRetention(ch, { messagesDays: 7 });
  const set = await ttls();
  const [mutations] = await ch.query<{ n: number }>(
    `SELECT toUInt32(count()) AS n FROM system.mutations WHERE database = 'message_db' AND table = 'messages_base'`,
  );
  await applyRetention(ch, { messagesDays: 0, viewsDays: 0 });
  const removed = await ttls();
  assert.deepStrictEqual(
    { set, removed, mutations },
    {
      mutations: { n: 1 },
      set: {
        anomaly_alerts: 'toDateTime(window_start) + toIntervalDay(90)',
        message_views: 'toDateTime(viewed_at) + toIntervalDay(30)',
        messages_base: 'toDateTime(created_at) + toIntervalDay(7)',
      },
      removed: {
        anomaly_alerts: 'toDateTime(window_start) + toIntervalDay(90)',
        message_views: null,
        messages_base: null,
      },
    },
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { insertMessages, insertReceipts, MIGRATIONS, migrate } from '../../src/storage/index.ts';
import { openMigrated, SEED_HOURLY } from './helpers.ts';
import { answers, msg, storeBefore } from './upgrade-fixtures.ts';

const DAY = 86_400_000;

test('a store at migration 13 with data upgrades to 14 even when interrupted half-way: message_rows by day, the seed queries answer the same, new data lands once', async (t) => {
  const { ch, clock, version, messages } = await storeBefore(t, 'message_rows_daily');
  const before = await answers(ch);
  assert.equal(before.states.length, messages.length);

  // A start-up that died after the old table was dropped and before the new one took its name.
  const statements = MIGRATIONS.find((m) => m.version === version)!.statements;
  const dropped = statements.findIndex((s) => s.startsWith('DROP TABLE')) + 1;
  assert.ok(dropped > 0);
  for (const s of statements.slice(0, dropped)) await ch.command(s.replaceAll('$db', 'message_db'));
  assert.deepStrictEqual(
    await migrate(ch, { clock }),
    MIGRATIONS.filter((m) => m.version >= version).map((m) => m.version),
  );
  const after = await answers(ch);
  // …and a re-run of the whole migration (as after a crash before it was recorded) changes nothing.
  for (const s of statements) await ch.command(s.replaceAll('$db', 'message_db'));
  const again = await answers(ch);

  // New data: a message whose receipt came first, a first read of an old message in an older day,
  // a later view that must not move it, a view by someone else, a batch replayed under its token.
  const m5 = messages[5]!;
  const next = msg(400);
  await insertReceipts(
    ch,
    [{ message_id: 'm400', reader_id: next.receiver_id, viewed_at: next.created_at + 100 }],
    'v/early-14',
  );
  await insertMessages(ch, [next], 'm/14');
  await insertMessages(ch, [next], 'm/14');
  await insertReceipts(
    ch,
    [
      { message_id: 'm5', reader_id: m5.receiver_id, viewed_at: m5.created_at + 700 },
      { message_id: 'm5', reader_id: m5.receiver_id, viewed_at: m5.created_at + 900 },
      { message_id: 'm7', reader_id: 'someone_else', viewed_at: messages[7]!.created_at + 10 },
    ],
    'v/14',
  );
  const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  assert.deepStrictEqual(
    {
      after,
      again,
      partitionKey: await ch.query(
        "SELECT name, partition_key FROM system.tables WHERE database = 'message_db' AND name IN ('message_rows', 'message_rows_daily')",
      ),
      later: await ch.query(
        "SELECT message_id, read_status, toString(read_at) AS read_at FROM message_db.messages WHERE message_id IN ('m400', 'm5', 'm7') ORDER BY message_id",
      ),
      rows: await ch.query('SELECT toUInt32(count()) AS n FROM message_db.messages'),
      mutations: await ch.query(
        "SELECT toUInt32(count()) AS n FROM system.mutations WHERE database = 'message_db' AND table = 'message_rows'",
      ),
    },
    {
      after: before,
      again: before,
      partitionKey: [{ name: 'message_rows', partition_key: 'toYYYYMMDD(created_at)' }],
      later: [
        { message_id: 'm400', read_status: 'read', read_at: iso(next.created_at + 100) },
        { message_id: 'm5', read_status: 'read', read_at: iso(m5.created_at + 700) },
        { message_id: 'm7', read_status: 'sent', read_at: null },
      ],
      rows: [{ n: messages.length + 1 }],
      mutations: [{ n: 0 }],
    },
  );
});

test('one view batch reads messages of 120 different days: every day partition is patched in one insert', async (t) => {
  const { ch } = await openMigrated(t);
  const t0 = Date.UTC(2026, 0, 1, 12);
  const messages = Array.from({ length: 120 }, (_, i) => ({ ...msg(i), created_at: t0 + i * DAY }));
  await insertMessages(ch, messages, 'm/days');
  await insertReceipts(
    ch,
    messages.map((m) => ({
      message_id: m.message_id,
      reader_id: m.receiver_id,
      viewed_at: m.created_at + 1000,
    })),
    'v/days',
  );
  assert.deepStrictEqual(
    {
      hours: (await ch.query(SEED_HOURLY)).length,
      read: await ch.query(
        "SELECT toUInt32(countIf(read_status = 'read')) AS n, toUInt32(count()) AS rows FROM message_db.messages",
      ),
      days: await ch.query(
        "SELECT toUInt32(uniqExact(partition)) AS n FROM system.parts WHERE database = 'message_db' AND table = 'message_rows' AND active",
      ),
    },
    { hours: 120, read: [{ n: 120, rows: 120 }], days: [{ n: 120 }] },
  );
});

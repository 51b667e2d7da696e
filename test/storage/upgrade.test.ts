import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock/index.ts';
import {
  conversationHistory,
  insertMessages,
  insertReceipts,
  MIGRATIONS,
  messageById,
  migrate,
  rankedConversations,
  senderMessages,
} from '../../src/storage/index.ts';
import { openFresh, SEED_HOURLY, SEED_READ_RATE } from './helpers.ts';
import { answers, HOUR, loadHistory, msg, rollupViews, storeBefore, T0 } from './upgrade-fixtures.ts';

test('a store of migrations 1–6 with data upgrades to 7: the seed queries answer the same, and new data lands', async (t) => {
  const ch = await openFresh(t);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const previous = MIGRATIONS.filter((m) => m.version <= 6);
  assert.deepStrictEqual(await migrate(ch, { clock, migrations: previous }), [1, 2, 3, 4, 5, 6]);

  const messages = await loadHistory(ch);
  const before = await answers(ch);
  assert.equal(before.states.length, 400);
  assert.ok(before.states.filter((s) => (s as { read_status: string }).read_status === 'read').length > 100);

  assert.deepStrictEqual(
    await migrate(ch, { clock, migrations: MIGRATIONS.filter((m) => m.version <= 7) }),
    [7],
  );
  const after = await answers(ch);
  const [rows] = await ch.query<{ n: string }>(
    'SELECT toString(count()) AS n FROM message_db.message_rows FINAL',
  );

  // After the upgrade, the live paths write message_rows: a read of an old message, a new message
  // whose receipt came first, a later view that must not move read_at.
  const m2 = messages[2]!;
  await insertReceipts(
    ch,
    [
      { message_id: 'm2', reader_id: m2.receiver_id, viewed_at: m2.created_at + 700 },
      { message_id: 'm3', reader_id: messages[3]!.receiver_id, viewed_at: messages[3]!.created_at + HOUR },
      { message_id: 'm400', reader_id: msg(400).receiver_id, viewed_at: msg(400).created_at + 100 },
    ],
    'v/after',
  );
  await insertMessages(ch, [msg(400)], 'm/after');
  const later = await ch.query(
    "SELECT message_id, read_status, toString(read_at) AS read_at FROM message_db.messages WHERE message_id IN ('m2', 'm3', 'm400') ORDER BY message_id",
  );
  // Reads never cost a mutation: every write above was an insert.
  const [mutations] = await ch.query<{ n: string }>(
    "SELECT toString(count()) AS n FROM system.mutations WHERE database = 'message_db' AND table IN ('message_rows', 'messages_base', 'message_views')",
  );
  const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

  assert.deepStrictEqual(
    { after, rows: Number(rows?.n), later, mutations: Number(mutations?.n) },
    {
      after: before,
      rows: 400, // one row per message: replayed copies and reads folded
      later: [
        { message_id: 'm2', read_status: 'read', read_at: iso(m2.created_at + 700) },
        { message_id: 'm3', read_status: 'read', read_at: iso(messages[3]!.created_at + 5000) },
        { message_id: 'm400', read_status: 'read', read_at: iso(msg(400).created_at + 100) },
      ],
      mutations: 0,
    },
  );
});

test('a store before migration 10 with data upgrades: seed queries answer the same, message_rows scans LZ4, no mutation', async (t) => {
  const ch = await openFresh(t);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const version = MIGRATIONS.find((m) => m.name === 'message_rows_codecs')!.version;
  await migrate(ch, { clock, migrations: MIGRATIONS.filter((m) => m.version < version) });
  const messages = await loadHistory(ch);
  const before = await answers(ch);
  assert.equal(before.states.length, messages.length);

  // This migration and any later one (11: the sink's batches) apply.
  assert.deepStrictEqual(
    await migrate(ch, { clock }),
    MIGRATIONS.filter((m) => m.version >= version).map((m) => m.version),
  );
  const after = await answers(ch);
  // New data after the upgrade: a message whose receipt came first, a read of an old message.
  const m5 = messages[5]!;
  const next = msg(400);
  await insertReceipts(
    ch,
    [
      { message_id: 'm400', reader_id: next.receiver_id, viewed_at: next.created_at + 100 },
      { message_id: 'm5', reader_id: m5.receiver_id, viewed_at: m5.created_at + 700 },
    ],
    'v/after',
  );
  await insertMessages(ch, [next], 'm/after');
  // Old and new parts fold together when merged (the codec differs per part, the rows do not).
  await ch.command('OPTIMIZE TABLE message_db.message_rows FINAL');
  const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  assert.deepStrictEqual(
    {
      after,
      codecs: await ch.query(
        `SELECT name, compression_codec AS codec FROM system.columns
         WHERE database = 'message_db' AND table = 'message_rows' AND name IN ('created_at', 'message_id', 'sender_id')
         ORDER BY name`,
      ),
      later: await ch.query(
        "SELECT message_id, read_status, toString(read_at) AS read_at FROM message_db.messages WHERE message_id IN ('m5', 'm400') ORDER BY message_id",
      ),
      rows: await ch.query('SELECT toUInt32(count()) AS n FROM message_db.message_rows'),
      mutations: await ch.query(
        "SELECT toUInt32(count()) AS n FROM system.mutations WHERE database = 'message_db' AND table = 'message_rows'",
      ),
    },
    {
      after: before,
      codecs: [
        { name: 'created_at', codec: 'CODEC(Delta(8), LZ4)' },
        { name: 'message_id', codec: 'CODEC(LZ4)' },
        { name: 'sender_id', codec: 'CODEC(LZ4)' },
      ],
      later: [
        // m5 is not read by its receiver before (5 % 3 = 2): the view after the upgrade marks it.
        { message_id: 'm400', read_status: 'read', read_at: iso(next.created_at + 100) },
        { message_id: 'm5', read_status: 'read', read_at: iso(m5.created_at + 700) },
      ],
      rows: [{ n: messages.length + 1 }],
      mutations: [{ n: 0 }],
    },
  );
});

test('a store before migration 12 with data upgrades: seed queries and rollups answer the same, and the one insert path keeps them exact', async (t) => {
  const { ch, clock, version, messages } = await storeBefore(t, 'message_events');
  const rollups = () => rollupViews(ch);
  const before = { ...(await answers(ch)), ...(await rollups()) };
  assert.ok(before.states.filter((s) => (s as { read_status: string }).read_status === 'read').length > 100);

  assert.deepStrictEqual(
    await migrate(ch, { clock }),
    MIGRATIONS.filter((m) => m.version >= version).map((m) => m.version),
  );
  const after = { ...(await answers(ch)), ...(await rollups()) };

  // New data through the new path: a message whose receipt came first (m400), a first read of an old
  // message (m5), an earlier view of a read message arriving late (m0: read_at moves back, no new
  // read), a view by someone else (m7: not read), and the view batch again under its token.
  const m0 = messages[0]!;
  const m5 = messages[5]!;
  const m7 = messages[7]!;
  const next = msg(400);
  await insertReceipts(
    ch,
    [{ message_id: 'm400', reader_id: next.receiver_id, viewed_at: next.created_at + 100 }],
    'v/early-after',
  );
  await insertMessages(ch, [next], 'm/after');
  const late = [
    { message_id: 'm5', reader_id: m5.receiver_id, viewed_at: m5.created_at + 700 },
    { message_id: 'm5', reader_id: m5.receiver_id, viewed_at: m5.created_at + 900 },
    { message_id: 'm0', reader_id: m0.receiver_id, viewed_at: m0.created_at + 1000 },
    { message_id: 'm7', reader_id: 'someone_else', viewed_at: m7.created_at + 10 },
  ];
  await insertReceipts(ch, late, 'v/after');
  await insertReceipts(ch, late, 'v/after');
  const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  const bump = (rows: unknown[], add: Record<string, { sent: number; read: number }>) =>
    (rows as { sender_id: string; sent: number; read_count: number }[])
      .map((r) => ({
        sender_id: r.sender_id,
        sent: Number(r.sent) + (add[r.sender_id]?.sent ?? 0),
        read_count: Number(r.read_count) + (add[r.sender_id]?.read ?? 0),
      }))
      .sort((a, b) => a.sender_id.localeCompare(b.sender_id));
  const counts = (rows: unknown[]) => bump(rows, {});
  const added: Record<string, { sent: number; read: number }> = {};
  for (const [m, sent] of [
    [next, 1],
    [m5, 0],
  ] as const) {
    const a = added[m.sender_id] ?? { sent: 0, read: 0 };
    added[m.sender_id] = { sent: a.sent + sent, read: a.read + 1 };
  }
  const final = await rollups();
  assert.deepStrictEqual(
    {
      after,
      later: await ch.query(
        "SELECT message_id, read_status, toString(read_at) AS read_at FROM message_db.messages WHERE message_id IN ('m0', 'm400', 'm5', 'm7') ORDER BY message_id",
      ),
      legacy: counts(final.legacy),
      totals: counts(final.totals),
    },
    {
      after: before,
      later: [
        { message_id: 'm0', read_status: 'read', read_at: iso(m0.created_at + 1000) },
        { message_id: 'm400', read_status: 'read', read_at: iso(next.created_at + 100) },
        { message_id: 'm5', read_status: 'read', read_at: iso(m5.created_at + 700) },
        { message_id: 'm7', read_status: 'sent', read_at: null },
      ],
      // The replay-safe rollup still equals the seed's query on `messages`; the sums count each new
      // message and first read once.
      legacy: counts(await ch.query(SEED_READ_RATE.replace(';', ' ORDER BY sender_id'))),
      totals: bump(before.totals, added),
    },
  );
});

test('a store at migration 12 with data upgrades to 13: without sender_read_rate its views and the seed queries answer the same, and new data counts once', async (t) => {
  const { ch, clock, version, messages } = await storeBefore(t, 'lighter_inserts');
  const views = () => rollupViews(ch);
  const before = { ...(await answers(ch)), ...(await views()) };
  assert.equal(before.states.length, messages.length);
  assert.ok(before.volume.length > 2);

  assert.deepStrictEqual(
    await migrate(ch, { clock }),
    MIGRATIONS.filter((m) => m.version >= version).map((m) => m.version),
  );
  const after = { ...(await answers(ch)), ...(await views()) };
  const left = await ch.query(
    "SELECT name FROM system.tables WHERE database = 'message_db' AND name LIKE 'sender_read_rate%' ORDER BY name",
  );

  // New data: a message whose receipt came first, a first read of an old message, a view by someone
  // else, a batch replayed under its token and one under another token.
  const m5 = messages[5]!;
  const next = msg(400);
  await insertReceipts(
    ch,
    [{ message_id: 'm400', reader_id: next.receiver_id, viewed_at: next.created_at + 100 }],
    'v/early-13',
  );
  await insertMessages(ch, [next, msg(401)], 'm/13');
  await insertMessages(ch, [next, msg(401)], 'm/13');
  await insertMessages(ch, [msg(401)], 'm/13-another-token');
  const late = [
    { message_id: 'm5', reader_id: m5.receiver_id, viewed_at: m5.created_at + 700 },
    { message_id: 'm7', reader_id: 'someone_else', viewed_at: messages[7]!.created_at + 10 },
  ];
  await insertReceipts(ch, late, 'v/13');
  await insertReceipts(ch, late, 'v/13-another-token');
  const hourly = (await ch.query<{ hour: string; messages: string }>(SEED_HOURLY))
    .map((r) => ({ hour: r.hour, messages: String(r.messages) }))
    .sort((a, b) => a.hour.localeCompare(b.hour));
  const rates = (rows: unknown[]) =>
    (rows as { sender_id: string; sent: unknown; read_count: unknown }[])
      .map((r) => ({ sender_id: r.sender_id, sent: Number(r.sent), read_count: Number(r.read_count) }))
      .sort((a, b) => a.sender_id.localeCompare(b.sender_id));
  const final = await views();
  const seedRates = rates(await ch.query(SEED_READ_RATE));
  const bumped = rates(before.legacy).map((r) => ({
    ...r,
    sent: r.sent + (r.sender_id === next.sender_id ? 1 : 0) + (r.sender_id === msg(401).sender_id ? 1 : 0),
    read_count:
      r.read_count + (r.sender_id === next.sender_id ? 1 : 0) + (r.sender_id === m5.sender_id ? 1 : 0),
  }));

  assert.deepStrictEqual(
    {
      after,
      left,
      volume: final.volume.map((r) => ({
        hour: String((r as { hour: string }).hour),
        messages: String((r as { messages: unknown }).messages),
      })),
      legacy: rates(final.legacy),
      seedRates,
    },
    {
      after: before,
      left: [{ name: 'sender_read_rate_total' }],
      // The views equal the seed's queries on `messages`: every new message and first read once.
      volume: hourly,
      legacy: bumped,
      seedRates: bumped,
    },
  );
});

test("a store before migration 15 with data upgrades: rankings, a sender's messages and the seed queries answer the same; the narrowed by_sender projection serves the read", async (t) => {
  const { ch, clock, version, messages } = await storeBefore(t, 'slimmer_copies');
  const senders = [...new Set(messages.map((m) => m.sender_id))].sort();
  const range = { from: T0 - HOUR, to: T0 + 400 * 37_000 + HOUR };
  const reads = async () => ({
    ...(await answers(ch)),
    ranked: await rankedConversations(ch, { ...range, sort: 'volume', limit: 100, offset: 0 }),
    bySender: await Promise.all(senders.map((s) => senderMessages(ch, s, { limit: 30 }))),
    paged: await senderMessages(ch, senders[0]!, {
      limit: 10,
      before: { created_at: messages[200]!.created_at, message_id: messages[200]!.message_id },
    }),
  });
  const before = await reads();
  assert.equal(before.bySender.flat().length, 30 * senders.length);
  assert.ok(before.ranked.every((c) => c.participants > 0));

  assert.deepStrictEqual(
    await migrate(ch, { clock }),
    MIGRATIONS.filter((m) => m.version >= version).map((m) => m.version),
  );
  const after = await reads();
  // New data: the sender's newest message, read by its receiver, comes first in their page.
  const next = msg(400);
  await insertMessages(ch, [next], 'm/15');
  await insertReceipts(
    ch,
    [{ message_id: 'm400', reader_id: next.receiver_id, viewed_at: next.created_at + 50 }],
    'v/15',
  );
  const [newest] = await senderMessages(ch, next.sender_id, { limit: 1 });
  await ch.command('OPTIMIZE TABLE message_db.message_index FINAL');
  const plan = await ch.query<{ explain: string }>(
    `EXPLAIN SELECT message_id, created_at FROM message_db.message_index WHERE sender_id = {s:String}
     ORDER BY created_at DESC LIMIT 5`,
    { s: next.sender_id },
  );

  assert.deepStrictEqual(
    {
      after,
      newest: newest && { id: newest.message_id, status: newest.read_status, read_at: newest.read_at },
      hourlyColumns: (await ch.query<{ name: string }>('DESCRIBE TABLE message_db.conversation_hourly')).map(
        (c) => c.name,
      ),
      projection: plan.some((r) => r.explain.includes('ReadFromMergeTree (by_sender)')),
    },
    {
      after: before,
      newest: { id: 'm400', status: 'read', read_at: next.created_at + 50 },
      hourlyColumns: ['hour', 'conversation_id', 'messages', 'last_message_at'],
      projection: true,
    },
  );
});

test('a store before migration 16 with data upgrades: histories and contents read the same from messages_base, now LZ4, without a mutation', async (t) => {
  const { ch, clock, version, messages } = await storeBefore(t, 'base_codecs');
  const conversations = [...new Set(messages.map((m) => m.conversation_id))].sort();
  const reads = async () => ({
    ...(await answers(ch)),
    histories: await Promise.all(conversations.map((c) => conversationHistory(ch, c, { limit: 40 }))),
    byId: await Promise.all(['m0', 'm57', 'm399'].map((id) => messageById(ch, id))),
  });
  const before = await reads();
  const perConversation = conversations.map((c) => messages.filter((m) => m.conversation_id === c).length);
  assert.deepStrictEqual(
    before.histories.map((h) => h.length),
    perConversation.map((n) => Math.min(40, n)),
  );

  assert.deepStrictEqual(
    await migrate(ch, { clock }),
    MIGRATIONS.filter((m) => m.version >= version).map((m) => m.version),
  );
  const after = await reads();
  // Old (ZSTD) and new (LZ4) parts fold together when merged.
  await insertMessages(ch, [msg(400)], 'm/16');
  await ch.command('OPTIMIZE TABLE message_db.messages_base FINAL');
  assert.deepStrictEqual(
    {
      after,
      added: (await messageById(ch, 'm400'))?.content,
      codecs: await ch.query(
        `SELECT name, compression_codec AS codec FROM system.columns
         WHERE database = 'message_db' AND table = 'messages_base' AND name IN ('content', 'created_at', 'message_id')
         ORDER BY name`,
      ),
      rows: await ch.query('SELECT toUInt32(count()) AS n FROM message_db.messages_base'),
      mutations: await ch.query(
        "SELECT toUInt32(count()) AS n FROM system.mutations WHERE database = 'message_db' AND table = 'messages_base'",
      ),
    },
    {
      after: before,
      added: 'message 400',
      codecs: [
        { name: 'content', codec: 'CODEC(LZ4)' },
        { name: 'created_at', codec: 'CODEC(Delta(8), LZ4)' },
        { name: 'message_id', codec: 'CODEC(LZ4)' },
      ],
      rows: [{ n: messages.length + 1 }],
      mutations: [{ n: 0 }],
    },
  );
});

test("a store before migration 17 with data upgrades: a sender's pages answer the same, in one read of the by_sender projection", async (t) => {
  const { ch, clock, version, messages } = await storeBefore(t, 'sender_page_projection');
  const senders = [...new Set(messages.map((m) => m.sender_id))].sort();
  const pages = async () =>
    Promise.all(
      senders.flatMap((s) => [
        senderMessages(ch, s, { limit: 25 }),
        senderMessages(ch, s, {
          limit: 25,
          before: { created_at: messages[250]!.created_at, message_id: messages[250]!.message_id },
        }),
      ]),
    );
  const before = await pages();
  assert.ok(before.flat().filter((m) => m.read_status === 'read').length > 20);
  assert.deepStrictEqual(
    await migrate(ch, { clock }),
    MIGRATIONS.filter((m) => m.version >= version).map((m) => m.version),
  );
  const after = await pages();
  await ch.command('OPTIMIZE TABLE message_db.message_index FINAL');
  const plan = await ch.query<{ explain: string }>(
    `EXPLAIN SELECT message_id, any(conversation_id), any(receiver_id), created_at FROM message_db.message_index
     WHERE sender_id = {s:String} GROUP BY message_id, created_at ORDER BY created_at DESC LIMIT 5`,
    { s: senders[0]! },
  );
  assert.deepStrictEqual(
    { after, projection: plan.some((r) => r.explain.includes('ReadFromMergeTree (by_sender)')) },
    { after: before, projection: true },
  );
});

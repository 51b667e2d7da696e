import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock/index.ts';
import {
  activityHeatmap,
  type ClickHouse,
  insertMessages,
  insertReceipts,
  type MessageRow,
  MIGRATIONS,
  messageVolume,
  migrate,
  rankedConversations,
  type TimeRange,
} from '../../src/storage/index.ts';
import { openFresh, openMigrated } from './helpers.ts';

/*
 * The reads that take whole hours from conversation_hourly (migration 8) and hourly_totals (migration
 * 9) answer what the same reads over message_rows alone answered (the SQL below is theirs before the rollup), on generated data and
 * ranges that start and end anywhere; and a batch inserted again under its dedup token (the sink's
 * replay of an interrupted range) is not counted twice.
 */

const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);
const HOUR = 3_600_000;

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function messages(n: number, seed: number, prefix: string): MessageRow[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => ({
    message_id: `${prefix}${i}`,
    conversation_id: `c${Math.floor(r() * 40)}`,
    sender_id: `u${Math.floor(r() * 25)}`,
    receiver_id: `u${Math.floor(r() * 25)}`,
    content: 'x',
    created_at: T0 + Math.floor(r() * 7 * HOUR),
  }));
}

const at = (p: string) => `fromUnixTimestamp64Milli({${p}:Int64}, 'UTC')`;

async function rawRanked(ch: ClickHouse, range: TimeRange) {
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT conversation_id, uniqExact(message_id) AS messages, uniqExact(sender_id) AS participants,
            toUnixTimestamp64Milli(max(created_at)) AS last
     FROM message_db.message_rows
     WHERE created_at >= ${at('from')} AND created_at < ${at('to')} AND sender_id != ''
     GROUP BY conversation_id ORDER BY messages DESC, conversation_id LIMIT 1000`,
    { ...range },
  );
  return rows.map((r) => ({
    conversation_id: String(r.conversation_id),
    messages: Number(r.messages),
    participants: Number(r.participants),
    peaks: 0,
    last_message_at: Number(r.last),
  }));
}

async function rawHeatmap(ch: ClickHouse, range: TimeRange) {
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT toString(toDate(created_at)) AS day, toHour(created_at) AS hour,
            uniqExact(message_id) AS messages, uniqExact(sender_id) AS active_users
     FROM message_db.message_rows
     WHERE created_at >= ${at('from')} AND created_at < ${at('to')} AND sender_id != ''
     GROUP BY day, hour ORDER BY day, hour`,
    { ...range },
  );
  return rows.map((r) => ({
    day: String(r.day),
    hour: Number(r.hour),
    messages: Number(r.messages),
    active_users: Number(r.active_users),
  }));
}

async function rawVolume(ch: ClickHouse, range: TimeRange, step: number) {
  const rows = await ch.query<Record<string, unknown>>(
    `SELECT intDiv(toUnixTimestamp64Milli(created_at), {step:Int64}) * {step:Int64} AS start, uniqExact(message_id) AS messages
     FROM message_db.message_rows WHERE created_at >= ${at('from')} AND created_at < ${at('to')}
     GROUP BY start ORDER BY start`,
    { ...range, step },
  );
  return rows.map((r) => ({ start: Number(r.start), messages: Number(r.messages) }));
}

test('hourly rollup reads answer as the raw reads over arbitrary ranges', async (t) => {
  const { ch } = await openMigrated(t);
  const all = messages(3000, 7, 'm');
  for (let i = 0; i < all.length; i += 500)
    await insertMessages(ch, all.slice(i, i + 500), `chat.messages/0/${i}`);
  // Some read (patch rows in message_rows must not count as messages).
  await insertReceipts(
    ch,
    all
      .filter((_, i) => i % 3 === 0)
      .map((m) => ({ message_id: m.message_id, reader_id: m.receiver_id, viewed_at: m.created_at + 500 })),
  );
  const r = rng(11);
  const ranges: TimeRange[] = [
    { from: T0, to: T0 + 7 * HOUR },
    { from: T0 - HOUR, to: T0 + 9 * HOUR },
    { from: T0 + 1234, to: T0 + 1234 + 30 * 60_000 },
    { from: T0 + 2 * HOUR, to: T0 + 3 * HOUR },
  ];
  for (let i = 0; i < 8; i++) {
    const a = T0 + Math.floor(r() * 7 * HOUR);
    ranges.push({ from: a, to: a + Math.floor(r() * 5 * HOUR) + 1 });
  }
  let compared = 0;
  for (const range of ranges) {
    const ranked = await rankedConversations(ch, { ...range, sort: 'volume', limit: 1000, offset: 0 });
    const raw = await rawRanked(ch, range);
    assert.deepEqual(ranked, raw, `conversations ${JSON.stringify(range)}`);
    assert.deepEqual(
      await rankedConversations(ch, { ...range, sort: 'volume', limit: 7, offset: 5 }),
      raw.slice(5, 12),
      `a page of conversations ${JSON.stringify(range)}`,
    );
    assert.deepEqual(
      await activityHeatmap(ch, range),
      await rawHeatmap(ch, range),
      `heatmap ${JSON.stringify(range)}`,
    );
    for (const step of [HOUR, 2 * HOUR, 15 * 60_000]) {
      assert.deepEqual(await messageVolume(ch, { ...range, stepMs: step }), await rawVolume(ch, range, step));
    }
    compared += ranked.length;
  }
  assert.ok(compared > 100, `compared ${compared} conversation rows`);
});

test('a batch replayed under its dedup token is not counted twice in conversation_hourly', async (t) => {
  const { ch } = await openMigrated(t);
  const first = messages(400, 3, 'r');
  const second = messages(300, 5, 's');
  await insertMessages(ch, first, 'chat.messages/1/0-399');
  await insertMessages(ch, second, 'chat.messages/1/400-699');
  // The sink re-inserts an interrupted range under its token: ClickHouse drops it in messages_base
  // and, with deduplicate_blocks_in_dependent_materialized_views, in the rollup.
  await insertMessages(ch, second, 'chat.messages/1/400-699');
  await insertMessages(ch, first, 'chat.messages/1/0-399');
  const [sum] = await ch.query<{ n: string }>(
    'SELECT sum(messages) AS n FROM message_db.conversation_hourly',
  );
  assert.equal(Number(sum?.n), 700);
  const range = { from: T0, to: T0 + 8 * HOUR };
  const ranked = await rankedConversations(ch, { ...range, sort: 'volume', limit: 1000, offset: 0 });
  assert.deepEqual(ranked, await rawRanked(ch, range));
  assert.equal(
    ranked.reduce((a, c) => a + c.messages, 0),
    700,
  );
});

test('a store of migrations 1–7 with data upgrades to 8 and 9: the conversation rollups carry the stored messages over', async (t) => {
  const ch = await openFresh(t);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  await migrate(ch, { clock, migrations: MIGRATIONS.filter((m) => m.version <= 7) });
  const all = messages(600, 9, 'o');
  await insertMessages(ch, all, 'chat.messages/0/0-599');
  await insertMessages(ch, all.slice(0, 50), 'replayed-under-another-token'); // folded by message_rows FINAL
  const range = { from: T0 - HOUR, to: T0 + 9 * HOUR };
  const before = await rawRanked(ch, range);
  assert.deepStrictEqual(
    await migrate(ch, { clock, migrations: MIGRATIONS.filter((m) => m.version <= 8) }),
    [8],
  );
  // the ranking reads migration 9's tables too
  assert.deepStrictEqual(
    await migrate(ch, { clock, migrations: MIGRATIONS.filter((m) => m.version <= 9) }),
    [9],
  );
  assert.deepEqual(
    await rankedConversations(ch, { ...range, sort: 'volume', limit: 1000, offset: 0 }),
    before,
  );
  assert.equal(
    before.reduce((a, c) => a + c.messages, 0),
    600,
  );
});

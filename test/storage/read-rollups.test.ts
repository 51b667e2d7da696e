import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock/index.ts';
import { seededFloats as rng } from '../../src/generator/index.ts';
import {
  activityHeatmap,
  type ClickHouse,
  insertMessages,
  insertReceipts,
  type MessageRow,
  MIGRATIONS,
  messageVolume,
  migrate,
  type ReceiptRow,
  rangeSummary,
  senderReadRates,
  senderReadStats,
  type TimeRange,
} from '../../src/storage/index.ts';
import { openFresh, openMigrated } from './helpers.ts';

/*
 * The read rollups of migration 9 (hourly_totals, sender_hourly, sender_totals) against a brute-force
 * recomputation from the rows inserted: only the receiver's first view reads a message (read_at = its
 * earliest), views by others never, a view before its message is not lost, duplicates, retries under
 * the batch's token, views again under another token and views that arrive out of order never count
 * twice — over ranges that start and end anywhere (whole hours from the rollups, edges raw).
 */

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 31, 20); // spans a month boundary: two partitions

interface Traffic {
  messages: MessageRow[];
  receipts: ReceiptRow[];
}

function traffic(seed: number, n: number, prefix: string): Traffic {
  const rand = rng(seed);
  const pick = (k: number) => Math.floor(rand() * k);
  const users = Array.from({ length: 15 }, (_, i) => `u${i}`);
  const messages: MessageRow[] = [];
  const receipts: ReceiptRow[] = [];
  for (let i = 0; i < n; i++) {
    const sender = users[pick(users.length)]!;
    const receiver = users[(users.indexOf(sender) + 1 + pick(users.length - 1)) % users.length]!;
    const created = T0 + pick(7 * HOUR);
    const m = {
      message_id: `${prefix}${i}`,
      conversation_id: `c${pick(30)}`,
      sender_id: sender,
      receiver_id: receiver,
      content: 'x',
      created_at: created,
    };
    messages.push(m);
    if (rand() < 0.6) {
      // 1–3 views by the receiver, in any order, some stamped before the message (time to read 0)
      for (let k = 1 + pick(3); k > 0; k--)
        receipts.push({
          message_id: m.message_id,
          reader_id: receiver,
          viewed_at: created - 5_000 + pick(HOUR),
        });
    }
    if (rand() < 0.3) receipts.push({ message_id: m.message_id, reader_id: sender, viewed_at: created + 1 });
  }
  receipts.push({ message_id: `${prefix}ghost`, reader_id: 'u1', viewed_at: T0 });
  return { messages, receipts };
}

/** Inserts in shuffled batches (many views before their message); retries, duplicates, replays. */
async function load(ch: ClickHouse, t: Traffic, seed: number, tag: string): Promise<void> {
  const rand = rng(seed);
  const batches: { kind: 'm' | 'r'; from: number; to: number }[] = [];
  for (let i = 0; i < t.messages.length; i += 250) batches.push({ kind: 'm', from: i, to: i + 250 });
  for (let i = 0; i < t.receipts.length; i += 300) batches.push({ kind: 'r', from: i, to: i + 300 });
  batches.sort(() => rand() - 0.5);
  for (const [n, b] of batches.entries()) {
    const token = `${tag}/${b.kind}/${b.from}`;
    const run = (tok: string | undefined) =>
      b.kind === 'm'
        ? insertMessages(ch, t.messages.slice(b.from, b.to), tok)
        : insertReceipts(ch, t.receipts.slice(b.from, b.to), tok);
    await run(token);
    if (n % 3 === 0) await run(token); // a retried batch: same token
    if (b.kind === 'r' && n % 4 === 1) await run(`${token}/again`); // views again, another token
    if (b.kind === 'r' && n % 5 === 2) await run(undefined); // views again, no token
  }
}

interface Truth {
  id: string;
  hour: number;
  sender: string;
  conversation: string;
  created: number;
  readAt: number | undefined;
}

function truth(t: Traffic): Truth[] {
  const first = new Map<string, number>();
  const byId = new Map(t.messages.map((m) => [m.message_id, m]));
  for (const r of t.receipts) {
    if (byId.get(r.message_id)?.receiver_id !== r.reader_id) continue;
    first.set(r.message_id, Math.min(first.get(r.message_id) ?? Infinity, r.viewed_at));
  }
  return t.messages.map((m) => ({
    id: m.message_id,
    hour: m.created_at - (m.created_at % HOUR),
    sender: m.sender_id,
    conversation: m.conversation_id,
    created: m.created_at,
    readAt: first.get(m.message_id),
  }));
}

/** ClickHouse's quantileExact: the value at position ⌊level·n⌋ of the sorted values. */
function quantile(values: number[], level: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(level * sorted.length))]!;
}

function expectedSenders(all: Truth[], range: TimeRange) {
  const by = new Map<string, { sent: number; delays: number[] }>();
  for (const m of all) {
    if (m.created < range.from || m.created >= range.to) continue;
    const s = by.get(m.sender) ?? { sent: 0, delays: [] };
    s.sent++;
    if (m.readAt !== undefined) s.delays.push(Math.max(0, m.readAt - m.created));
    by.set(m.sender, s);
  }
  return [...by.entries()]
    .map(([sender_id, s]) => ({
      sender_id,
      sent: s.sent,
      read_count: s.delays.length,
      read_rate: Math.round((10_000 * s.delays.length) / s.sent) / 100,
      median_ms: quantile(s.delays, 0.5),
      p90_ms: quantile(s.delays, 0.9),
    }))
    .sort((a, b) => b.sent - a.sent || (a.sender_id < b.sender_id ? -1 : 1));
}

function expectedSummary(all: Truth[], range: TimeRange) {
  const inRange = all.filter((m) => m.created >= range.from && m.created < range.to);
  return {
    messages: inRange.length,
    read_count: inRange.filter((m) => m.readAt !== undefined).length,
    conversations: new Set(inRange.map((m) => m.conversation)).size,
    senders: new Set(inRange.map((m) => m.sender)).size,
  };
}

function ranges(seed: number): TimeRange[] {
  const r = rng(seed);
  const out: TimeRange[] = [
    { from: T0 - HOUR, to: T0 + 8 * HOUR },
    { from: T0 + HOUR, to: T0 + 5 * HOUR },
    { from: T0 + 1234, to: T0 + 1234 + 30 * 60_000 },
    { from: T0 + 3 * HOUR + 17, to: T0 + 6 * HOUR - 17 },
  ];
  for (let i = 0; i < 6; i++) {
    const a = T0 + Math.floor(r() * 7 * HOUR);
    out.push({ from: a, to: a + Math.floor(r() * 5 * HOUR) + 1 });
  }
  return out;
}

/** Every rollup read equals the brute force, over every range; and the all-time read rates. */
async function assertRollupsExact(ch: ClickHouse, all: Truth[], label: string): Promise<void> {
  for (const range of ranges(5)) {
    const at = `${label} ${JSON.stringify(range)}`;
    const want = expectedSenders(all, range);
    assert.deepStrictEqual(await rangeSummary(ch, range), expectedSummary(all, range), `summary ${at}`);
    assert.deepStrictEqual(await senderReadStats(ch, { ...range, limit: 100 }), want, `senders ${at}`);
    const some = ['u3', 'nobody', 'u7'];
    assert.deepStrictEqual(
      await senderReadStats(ch, { ...range, senders: some, limit: 100 }),
      some.map(
        (s) =>
          want.find((w) => w.sender_id === s) ?? {
            sender_id: s,
            sent: 0,
            read_count: 0,
            read_rate: null,
            median_ms: null,
            p90_ms: null,
          },
      ),
      `named senders ${at}`,
    );
  }
  const total = expectedSenders(all, { from: 0, to: Number.MAX_SAFE_INTEGER });
  assert.deepStrictEqual(
    await senderReadRates(ch, { limit: 1000, offset: 0 }),
    total.map((s) => ({
      sender_id: s.sender_id,
      sent: s.sent,
      read_count: s.read_count,
      read_rate: Math.round((10_000 * s.read_count) / s.sent) / 100,
    })),
    `read rates ${label}`,
  );
}

test('read rollups answer as the brute force: first view by the receiver, once, over arbitrary ranges', async (t) => {
  const { ch } = await openMigrated(t);
  const data = traffic(3, 2000, 'm');
  await load(ch, data, 9, 'a');
  const all = truth(data);
  assert.ok(all.filter((m) => m.readAt !== undefined).length > 800, 'enough reads');
  await assertRollupsExact(ch, all, 'loaded');

  // A crash after the rollups' lookup table took a batch's read transitions but before the sums
  // did: the batch inserted again under its token still counts them (once).
  const unread = data.messages.filter((m) => all.find((x) => x.id === m.message_id)?.readAt === undefined);
  const late = unread.slice(0, 40).map((m) => ({
    message_id: m.message_id,
    reader_id: m.receiver_id,
    viewed_at: m.created_at + 2 * HOUR,
  }));
  for (const v of late) {
    const m = data.messages.find((x) => x.message_id === v.message_id)!;
    await ch.command(
      `INSERT INTO message_db.message_first_reads (message_id, created_at, read_at, insert_token)
       VALUES ({id:String}, fromUnixTimestamp64Milli({c:Int64}, 'UTC'), fromUnixTimestamp64Milli({r:Int64}, 'UTC'), 'crash/r/0')`,
      { id: v.message_id, c: m.created_at, r: v.viewed_at },
    );
  }
  await insertReceipts(ch, late, 'crash/r/0');
  await insertReceipts(ch, late, 'crash/r/0');
  data.receipts.push(...late);
  await assertRollupsExact(ch, truth(data), 'after the replayed crash');

  // The rollups are filled at insert: the volume chart and the heatmap read them too (their raw
  // comparison is in hourly-rollups.test.ts); here only that they count each message once.
  const day = { from: T0 - HOUR, to: T0 + 8 * HOUR };
  const volume = await messageVolume(ch, { ...day, stepMs: HOUR });
  const cells = await activityHeatmap(ch, day);
  assert.deepStrictEqual(
    [volume.reduce((a, b) => a + b.messages, 0), cells.reduce((a, b) => a + b.messages, 0)],
    [2000, 2000],
  );
});

test('a store of migrations 1–8 with data upgrades to 9: the read rollups carry it over, and later views count once', async (t) => {
  const ch = await openFresh(t);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  await migrate(ch, { clock, migrations: MIGRATIONS.filter((m) => m.version <= 8) });
  const data = traffic(4, 900, 'o');
  await load(ch, data, 2, 'b');
  assert.deepStrictEqual(
    await migrate(ch, { clock, migrations: MIGRATIONS.filter((m) => m.version <= 9) }),
    [9],
  );
  await assertRollupsExact(ch, truth(data), 'upgraded');
  // After the upgrade: views of messages read before it (no new read), earlier views of them (read_at
  // moves back), first views, and views arriving before their (new) message.
  const more = traffic(6, 300, 'n');
  const again = data.receipts.slice(0, 200).map((r) => ({ ...r, viewed_at: r.viewed_at - 1000 }));
  await load(ch, { messages: more.messages, receipts: [...more.receipts, ...again] }, 8, 'c');
  await assertRollupsExact(
    ch,
    truth({
      messages: [...data.messages, ...more.messages],
      receipts: [...data.receipts, ...more.receipts, ...again],
    }),
    'after the upgrade',
  );
});

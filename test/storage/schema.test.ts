import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededFloats as rng } from '../../src/generator/index.ts';
import { insertMessages, insertReceipts, type MessageRow, type ReceiptRow } from '../../src/storage/index.ts';
import { openMigrated, SEED_HOURLY, SEED_READ_RATE } from './helpers.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 31, 20); // spans a month boundary: two partitions

function hourText(ms: number): string {
  return new Date(ms - (ms % HOUR)).toISOString().replace('T', ' ').slice(0, 19);
}

test('seed queries, verbatim, equal a brute-force recomputation (receipts early, late, duplicated, replayed)', async (t) => {
  const { ch } = await openMigrated(t);
  const rand = rng(7);
  const pick = (n: number): number => Math.floor(rand() * n);
  const users = Array.from({ length: 12 }, (_, i) => `user_${i}`);
  const messages: MessageRow[] = [];
  for (let i = 0; i < 3000; i++) {
    const sender = users[pick(users.length)]!;
    let receiver = users[pick(users.length)]!;
    if (receiver === sender) receiver = users[(users.indexOf(sender) + 1) % users.length]!;
    messages.push({
      message_id: `msg_${i}`,
      conversation_id: `conv_${[sender, receiver].sort().join('_')}`,
      sender_id: sender,
      receiver_id: receiver,
      content: `it's "quoted" \\ and ${'x'.repeat(pick(40))}`,
      created_at: T0 + pick(8 * HOUR),
    });
  }
  const receipts: ReceiptRow[] = [];
  for (let i = 0; i < 5000; i++) {
    const m = messages[pick(messages.length)]!;
    const byReceiver = rand() < 0.6;
    receipts.push({
      message_id: m.message_id,
      reader_id: byReceiver ? m.receiver_id : users[pick(users.length)]!,
      viewed_at: m.created_at + 1 + pick(HOUR),
      device: rand() < 0.5 ? 'web' : 'mobile',
    });
  }
  // Views of messages that never arrive are kept but count nowhere.
  receipts.push({ message_id: 'ghost', reader_id: 'user_1', viewed_at: T0 });

  // Interleave batches in an order where many receipts precede their messages; replay some.
  const batches: { kind: 'm' | 'r'; from: number; to: number }[] = [];
  for (let i = 0; i < messages.length; i += 500) batches.push({ kind: 'm', from: i, to: i + 500 });
  for (let i = 0; i < receipts.length; i += 700) batches.push({ kind: 'r', from: i, to: i + 700 });
  batches.sort(() => rand() - 0.5);
  for (const [n, b] of batches.entries()) {
    const token = `${b.kind}/${b.from}-${b.to}`;
    const run = async (): Promise<void> => {
      if (b.kind === 'm') await insertMessages(ch, messages.slice(b.from, b.to), token);
      else await insertReceipts(ch, receipts.slice(b.from, b.to), token);
    };
    await run();
    if (n % 3 === 0) await run(); // a retried batch: same token
  }
  await insertMessages(ch, messages.slice(100, 400), 'm/replay-under-another-token');

  // Brute force.
  const hourly = new Map<string, number>();
  for (const m of messages) hourly.set(hourText(m.created_at), (hourly.get(hourText(m.created_at)) ?? 0) + 1);
  const readMessages = new Set<string>();
  const byId = new Map(messages.map((m) => [m.message_id, m]));
  for (const r of receipts)
    if (byId.get(r.message_id)?.receiver_id === r.reader_id) readMessages.add(r.message_id);
  const perSender = new Map<string, { sent: number; read: number }>();
  for (const m of messages) {
    const s = perSender.get(m.sender_id) ?? { sent: 0, read: 0 };
    s.sent++;
    if (readMessages.has(m.message_id)) s.read++;
    perSender.set(m.sender_id, s);
  }

  const gotHourly = await ch.query<{ hour: string; messages: number }>(SEED_HOURLY);
  const gotRate = await ch.query<{ sender_id: string; sent: number; read_count: number; read_rate: number }>(
    SEED_READ_RATE,
  );
  const gotRollup = await ch.query<{
    sender_id: string;
    sent: number;
    read_count: number;
    read_rate: number;
  }>('SELECT * FROM message_db.sender_read_rate_total');
  const gotHourlyRollup = await ch.query<{ hour: string; messages: number }>(
    'SELECT hour, messages FROM message_db.hourly_volume ORDER BY hour DESC',
  );
  const normalise = (rows: { sender_id: string; sent: number; read_count: number; read_rate: number }[]) =>
    rows
      .map((r) => ({
        sender_id: r.sender_id,
        sent: Number(r.sent),
        read_count: Number(r.read_count),
        // round(x, 2) in ClickHouse vs JS may differ only at exact ties; compare to within half a cent.
        rate_ok:
          Math.abs(Number(r.read_rate) - (Number(r.read_count) * 100) / Number(r.sent)) <= 0.005 + 1e-9,
      }))
      .sort((a, b) => a.sender_id.localeCompare(b.sender_id));
  const expectedRate = [...perSender.entries()]
    .map(([sender_id, s]) => ({ sender_id, sent: s.sent, read_count: s.read, rate_ok: true }))
    .sort((a, b) => a.sender_id.localeCompare(b.sender_id));
  const expectedHourly = [...hourly.entries()]
    .sort((a, b) => b[0].localeCompare(a[0]))
    .map(([hour, n]) => ({ hour, messages: n }));

  assert.deepStrictEqual(
    {
      hourly: gotHourly.map((r) => ({ hour: r.hour, messages: Number(r.messages) })),
      rate: normalise(gotRate),
      hourlyRollup: gotHourlyRollup.map((r) => ({ hour: r.hour, messages: Number(r.messages) })),
      rateRollup: normalise(gotRollup),
    },
    { hourly: expectedHourly, rate: expectedRate, hourlyRollup: expectedHourly, rateRollup: expectedRate },
  );
});

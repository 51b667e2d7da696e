import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ClickHouse,
  fromDateTime64,
  insertMessages,
  insertReceipts,
  type MessageRow,
  type ReceiptRow,
} from '../../src/storage/index.ts';
import { openMigrated, SEED_HOURLY, SEED_READ_RATE } from './helpers.ts';

const T0 = Date.UTC(2026, 2, 1, 9);

function msg(id: string, createdAt: number, sender = 'alice', receiver = 'bob'): MessageRow {
  return {
    message_id: id,
    conversation_id: `conv_${[sender, receiver].sort().join('_')}`,
    sender_id: sender,
    receiver_id: receiver,
    content: `content of ${id}`,
    created_at: createdAt,
  };
}

interface Status {
  message_id: string;
  read_status: string;
  read_at: number | null;
}

async function statuses(ch: ClickHouse): Promise<Status[]> {
  const rows = await ch.query<{ message_id: string; read_status: string; read_at: string | null }>(
    'SELECT message_id, read_status, read_at FROM message_db.messages ORDER BY message_id',
  );
  return rows.map((r) => ({ ...r, read_at: r.read_at === null ? null : fromDateTime64(r.read_at) }));
}

test('insert with the same dedup token twice: rows, receipts and rollups unchanged', async (t) => {
  const { ch } = await openMigrated(t);
  const messages = [msg('m1', T0), msg('m2', T0 + 1), msg('m3', T0 + 2)];
  const receipts: ReceiptRow[] = [{ message_id: 'm1', reader_id: 'bob', viewed_at: T0 + 10 }];
  for (let i = 0; i < 2; i++) {
    await insertMessages(ch, messages, 'chat.messages/0/0-2');
    await insertReceipts(ch, receipts, 'message-views/0/0-0');
  }
  const [counts] = await ch.query<Record<string, number>>(
    `SELECT
       (SELECT toUInt32(count()) FROM message_db.messages_base) AS base,
       (SELECT toUInt32(count()) FROM message_db.messages) AS messages,
       (SELECT toUInt32(count()) FROM message_db.message_views) AS views,
       (SELECT toUInt32(sum(view_count)) FROM message_db.message_receipts) AS view_count,
       (SELECT toUInt32(sum(messages)) FROM message_db.hourly_volume) AS hourly`,
  );
  assert.deepStrictEqual(counts, { base: 3, messages: 3, views: 1, view_count: 1, hourly: 3 });
});

test('a replay under a different token does not double count messages', async (t) => {
  const { ch } = await openMigrated(t);
  const messages = [msg('m1', T0), msg('m2', T0 + 1)];
  await insertMessages(ch, messages, 'chat.messages/0/0-1');
  await insertMessages(ch, messages.slice(0, 1), 'chat.messages/0/0-0');
  const hourly = await ch.query(SEED_HOURLY);
  const rate = await ch.query(SEED_READ_RATE);
  assert.deepStrictEqual(
    { hourly, rate },
    {
      hourly: [{ hour: '2026-03-01 09:00:00', messages: 2 }],
      rate: [{ sender_id: 'alice', sent: 2, read_count: 0, read_rate: 0 }],
    },
  );
});

test('read receipts: receiver first read, repeats, other readers, early receipts, duplicates', async (t) => {
  const { ch } = await openMigrated(t);
  // m4's receipt arrives before m4 itself.
  await insertReceipts(ch, [{ message_id: 'm4', reader_id: 'bob', viewed_at: T0 + 400 }], 'v/0/0');
  await insertMessages(ch, [msg('m1', T0), msg('m2', T0 + 1), msg('m3', T0 + 2)], 'm/0/0-2');
  await insertReceipts(
    ch,
    [
      { message_id: 'm1', reader_id: 'bob', viewed_at: T0 + 100 }, // receiver: read
      { message_id: 'm2', reader_id: 'carol', viewed_at: T0 + 100 }, // not the receiver
      { message_id: 'm2', reader_id: 'alice', viewed_at: T0 + 110 }, // the sender
    ],
    'v/0/1-3',
  );
  const afterFirst = await statuses(ch);
  await insertReceipts(
    ch,
    [
      { message_id: 'm1', reader_id: 'bob', viewed_at: T0 + 900 }, // a later view: read_at stays
      { message_id: 'm1', reader_id: 'bob', viewed_at: T0 + 100, device: 'mobile' }, // duplicate
    ],
    'v/0/4-5',
  );
  await insertMessages(ch, [msg('m4', T0 + 3)], 'm/0/3-3');
  const afterAll = await statuses(ch);
  const receipts = await ch.query(
    `SELECT message_id, reader_id, toString(min(first_viewed_at)) AS first, toString(max(last_viewed_at)) AS last,
            toUInt32(sum(view_count)) AS views, arraySort(groupUniqArrayArray(devices)) AS devices
     FROM message_db.message_receipts GROUP BY message_id, reader_id ORDER BY message_id, reader_id`,
  );
  const rollup = await ch.query('SELECT * FROM message_db.sender_read_rate_total');
  const rate = await ch.query(SEED_READ_RATE);
  assert.deepStrictEqual(
    { afterFirst, afterAll, receipts, rollup, rate },
    {
      afterFirst: [
        { message_id: 'm1', read_status: 'read', read_at: T0 + 100 },
        { message_id: 'm2', read_status: 'sent', read_at: null },
        { message_id: 'm3', read_status: 'sent', read_at: null },
      ],
      afterAll: [
        { message_id: 'm1', read_status: 'read', read_at: T0 + 100 },
        { message_id: 'm2', read_status: 'sent', read_at: null },
        { message_id: 'm3', read_status: 'sent', read_at: null },
        { message_id: 'm4', read_status: 'read', read_at: T0 + 400 },
      ],
      receipts: [
        {
          message_id: 'm1',
          reader_id: 'bob',
          first: '2026-03-01 09:00:00.100',
          last: '2026-03-01 09:00:00.900',
          views: 3,
          devices: ['mobile', 'web'],
        },
        {
          message_id: 'm2',
          reader_id: 'alice',
          first: '2026-03-01 09:00:00.110',
          last: '2026-03-01 09:00:00.110',
          views: 1,
          devices: ['web'],
        },
        {
          message_id: 'm2',
          reader_id: 'carol',
          first: '2026-03-01 09:00:00.100',
          last: '2026-03-01 09:00:00.100',
          views: 1,
          devices: ['web'],
        },
        {
          message_id: 'm4',
          reader_id: 'bob',
          first: '2026-03-01 09:00:00.400',
          last: '2026-03-01 09:00:00.400',
          views: 1,
          devices: ['web'],
        },
      ],
      rollup: [{ sender_id: 'alice', sent: 4, read_count: 2, read_rate: 50 }],
      rate: [{ sender_id: 'alice', sent: 4, read_count: 2, read_rate: 50 }],
    },
  );
});

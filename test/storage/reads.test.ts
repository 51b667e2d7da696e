import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  conversationHistory,
  insertMessages,
  insertReceipts,
  messageById,
  messageStatus,
  senderMessages,
} from '../../src/storage/index.ts';
import { openMigrated } from './helpers.ts';

const T0 = Date.UTC(2026, 5, 1);

test('messageStatus: receiver first view marks read; other viewers listed; unknown ids absent', async (t) => {
  const { ch } = await openMigrated(t);
  const base = { conversation_id: 'c', sender_id: 'ann', receiver_id: 'ben', content: 'x' };
  await insertMessages(ch, [
    { ...base, message_id: 'a', created_at: T0 },
    { ...base, message_id: 'b', created_at: T0 + 1 },
  ]);
  await insertReceipts(ch, [
    { message_id: 'a', reader_id: 'ben', viewed_at: T0 + 50 },
    { message_id: 'a', reader_id: 'ben', viewed_at: T0 + 20 },
    { message_id: 'a', reader_id: 'cat', viewed_at: T0 + 10 },
    { message_id: 'b', reader_id: 'cat', viewed_at: T0 + 30 },
  ]);
  const got = await messageStatus(ch, ['b', 'a', 'nope']);
  const common = { conversation_id: 'c', sender_id: 'ann', receiver_id: 'ben' };
  assert.deepStrictEqual(got, [
    {
      ...common,
      message_id: 'a',
      created_at: T0,
      read_status: 'read',
      read_at: T0 + 20,
      viewers: [
        { reader_id: 'cat', first_viewed_at: T0 + 10, view_count: 1 },
        { reader_id: 'ben', first_viewed_at: T0 + 20, view_count: 2 },
      ],
    },
    {
      ...common,
      message_id: 'b',
      created_at: T0 + 1,
      read_status: 'sent',
      read_at: null,
      viewers: [{ reader_id: 'cat', first_viewed_at: T0 + 30, view_count: 1 }],
    },
  ]);
});

test("a sender's latest messages and a conversation's history: newest first, paged, read state, replayed copies once", async (t) => {
  const { ch } = await openMigrated(t);
  // ann writes 5 messages to ben (conversation c1) and 1 to cat (c2); ben writes 1 to ann.
  const rows = [
    ...[0, 1, 2, 3, 4].map((i) => ({
      message_id: `a${i}`,
      conversation_id: 'c1',
      sender_id: 'ann',
      receiver_id: 'ben',
      content: `hi ${i}`,
      created_at: T0 + i * 1000,
    })),
    {
      message_id: 'x',
      conversation_id: 'c2',
      sender_id: 'ann',
      receiver_id: 'cat',
      content: 'yo',
      created_at: T0 + 2500,
    },
    {
      message_id: 'b0',
      conversation_id: 'c1',
      sender_id: 'ben',
      receiver_id: 'ann',
      content: 'hey',
      created_at: T0 + 3500,
    },
  ];
  // The receiver's view of a4 arrives before a4; a3 is viewed only by someone else; a1 twice by ben.
  await insertReceipts(ch, [{ message_id: 'a4', reader_id: 'ben', viewed_at: T0 + 9000 }], 'v/early');
  await insertMessages(ch, rows, 'm/0');
  await insertMessages(ch, rows.slice(0, 3), 'm/replayed-under-another-token');
  await insertReceipts(
    ch,
    [
      { message_id: 'a1', reader_id: 'ben', viewed_at: T0 + 7000 },
      { message_id: 'a1', reader_id: 'ben', viewed_at: T0 + 6000 },
      { message_id: 'a3', reader_id: 'cat', viewed_at: T0 + 8000 },
      { message_id: 'x', reader_id: 'cat', viewed_at: T0 + 5000 },
    ],
    'v/0',
  );
  const sent = (id: string, conv: string, to: string, at: number, readAt: number | null) => ({
    message_id: id,
    conversation_id: conv,
    receiver_id: to,
    created_at: at,
    read_status: readAt === null ? 'sent' : 'read',
    read_at: readAt,
  });
  const first = await senderMessages(ch, 'ann', { limit: 3 });
  const next = await senderMessages(ch, 'ann', {
    limit: 10,
    before: { created_at: first[2]!.created_at, message_id: first[2]!.message_id },
  });
  const history = await conversationHistory(ch, 'c1', { limit: 3 });
  const wholeHistory = await conversationHistory(ch, 'c1', { limit: 10 });
  const byId = await messageById(ch, 'a1');
  assert.deepStrictEqual(
    {
      first,
      next,
      history: history.map((m) => [m.message_id, m.read_status, m.read_at]),
      wholeHistory: wholeHistory.map((m) => m.message_id),
      byId,
    },
    {
      first: [
        sent('a4', 'c1', 'ben', T0 + 4000, T0 + 9000),
        sent('a3', 'c1', 'ben', T0 + 3000, null),
        sent('x', 'c2', 'cat', T0 + 2500, T0 + 5000),
      ],
      next: [
        sent('a2', 'c1', 'ben', T0 + 2000, null),
        sent('a1', 'c1', 'ben', T0 + 1000, T0 + 6000),
        sent('a0', 'c1', 'ben', T0, null),
      ],
      history: [
        ['a4', 'read', T0 + 9000],
        ['b0', 'sent', null],
        ['a3', 'sent', null],
      ],
      wholeHistory: ['a4', 'b0', 'a3', 'a2', 'a1', 'a0'], // replayed a0–a2 once each
      byId: {
        message_id: 'a1',
        conversation_id: 'c1',
        sender_id: 'ann',
        receiver_id: 'ben',
        created_at: T0 + 1000,
        read_status: 'read',
        read_at: T0 + 6000,
        viewers: [{ reader_id: 'ben', first_viewed_at: T0 + 6000, view_count: 2 }],
        content: 'hi 1',
        message_type: 'text',
        user_id: 'ann',
        event_type: 'message_sent',
      },
    },
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { insertMessages, insertReceipts, messageStatus } from '../../src/storage/index.ts';
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

/** The store and history the upgrade tests share: a store at some migration, with data in it. */
import type { TestContext } from 'node:test';
import { ManualClock } from '../../src/clock/index.ts';
import {
  type ClickHouse,
  insertMessages,
  insertReceipts,
  type MessageRow,
  MIGRATIONS,
  migrate,
  senderReadRates,
} from '../../src/storage/index.ts';
import { openFresh, SEED_HOURLY, SEED_READ_RATE } from './helpers.ts';

export const HOUR = 3_600_000;
export const T0 = Date.UTC(2026, 4, 31, 22); // two monthly partitions

export function msg(i: number): MessageRow {
  const sender = `user_${i % 5}`;
  const receiver = `user_${(i + 1 + (i % 3)) % 5}`;
  return {
    message_id: `m${i}`,
    conversation_id: `conv_${[sender, receiver].sort().join('_')}`,
    sender_id: sender,
    receiver_id: receiver,
    content: `message ${i}`,
    created_at: T0 + i * 37_000,
  };
}

/** The seed's two queries and every message's read state through `messages`. */
export async function answers(ch: ClickHouse) {
  return {
    hourly: await ch.query(SEED_HOURLY),
    rate: await ch.query(SEED_READ_RATE),
    states: await ch.query(
      'SELECT message_id, read_status, toString(read_at) AS read_at FROM message_db.messages ORDER BY message_id',
    ),
  };
}

/**
 * 400 messages over two monthly partitions, with receipts by the receiver (first, later, duplicated),
 * by others, one before its message, and a batch replayed under another token.
 */
export async function loadHistory(ch: ClickHouse): Promise<MessageRow[]> {
  const messages = Array.from({ length: 400 }, (_, i) => msg(i));
  // Receipts: by the receiver (first, later, duplicated), by others, and one before its message.
  await insertReceipts(
    ch,
    [{ message_id: 'm399', reader_id: messages[399]!.receiver_id, viewed_at: T0 }],
    'v/early',
  );
  await insertMessages(ch, messages.slice(0, 200), 'm/0');
  await insertMessages(ch, messages.slice(200), 'm/1');
  await insertMessages(ch, messages.slice(50, 80), 'm/replayed-under-another-token');
  const views = messages.flatMap((m, i) =>
    i % 3 === 0
      ? [
          { message_id: m.message_id, reader_id: m.receiver_id, viewed_at: m.created_at + 5000 },
          { message_id: m.message_id, reader_id: m.receiver_id, viewed_at: m.created_at + 9000 },
        ]
      : i % 3 === 1
        ? [{ message_id: m.message_id, reader_id: m.sender_id, viewed_at: m.created_at + 1000 }]
        : [],
  );
  await insertReceipts(ch, views, 'v/0');
  await insertReceipts(ch, views.slice(0, 40), 'v/duplicates');
  return messages;
}

/** The rollup views and the API's read rates, as the upgrade tests compare them. */
export async function rollupViews(ch: ClickHouse) {
  return {
    legacy: await ch.query('SELECT * FROM message_db.sender_read_rate_total ORDER BY sender_id'),
    volume: await ch.query('SELECT * FROM message_db.hourly_volume ORDER BY hour'),
    totals: await senderReadRates(ch, { limit: 100, offset: 0 }),
  };
}

/** A store migrated up to (not including) the named migration, with loadHistory's data in it. */
export async function storeBefore(t: TestContext, name: string) {
  const ch = await openFresh(t);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const version = MIGRATIONS.find((m) => m.name === name)!.version;
  await migrate(ch, { clock, migrations: MIGRATIONS.filter((m) => m.version < version) });
  const messages = await loadHistory(ch);
  return { ch, clock, version, messages };
}

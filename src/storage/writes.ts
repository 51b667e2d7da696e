import { checkDatabaseName } from './migrations.ts';
import type { ClickHouse, InsertSummary } from './port.ts';
import { Tables } from './schema.ts';
import { toDateTime64 } from './wire.ts';

/**
 * A message as the sink hands it over: the seed's `messages` columns (snake_case), times in epoch ms.
 * `read_status`/`read_at` are not written: they are derived from receipts by the `messages` view.
 */
export interface MessageRow {
  message_id: string;
  conversation_id: string;
  sender_id: string;
  receiver_id: string;
  content: string;
  /** Event time (the payload's `timestamp`), epoch ms. */
  created_at: number;
  /** Default 'text'. */
  message_type?: string;
  /** Default: sender_id (the seed's producer sends user_id = sender). */
  user_id?: string;
  /** Default 'message_sent'. */
  event_type?: string;
}

/** One view of a message (`message-views`): who, when (epoch ms), on what device. */
export interface ReceiptRow {
  message_id: string;
  /** The viewer: the event's `user_id`. */
  reader_id: string;
  viewed_at: number;
  /** Default 'web'. */
  device?: string;
}

function qualified(database: string, table: string): string {
  return `${checkDatabaseName(database)}.${table}`;
}

/**
 * Inserts a batch of messages into `messages_base` (and through it the rollups). With the same
 * `dedupToken` (e.g. `chat.messages/3/1200-1299`), a retried batch is dropped by the engine; a replay
 * under another token still does not double count `messages` (ReplacingMergeTree read FINAL).
 */
export function insertMessages(
  ch: ClickHouse,
  rows: readonly MessageRow[],
  dedupToken?: string,
  database = 'message_db',
): Promise<InsertSummary> {
  const out = new Array<object>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out[i] = {
      message_id: r.message_id,
      conversation_id: r.conversation_id,
      sender_id: r.sender_id,
      receiver_id: r.receiver_id,
      content: r.content,
      created_at: toDateTime64(r.created_at),
      message_type: r.message_type ?? 'text',
      user_id: r.user_id ?? r.sender_id,
      event_type: r.event_type ?? 'message_sent',
    };
  }
  return ch.insert(qualified(database, Tables.messagesBase), out, withToken(dedupToken));
}

/**
 * Inserts a batch of view events into `message_views`; the materialized view folds them into
 * `message_receipts` (first/last view per message and reader), which the `messages` view reads.
 * Order does not matter: a view may arrive before its message.
 */
export function insertReceipts(
  ch: ClickHouse,
  rows: readonly ReceiptRow[],
  dedupToken?: string,
  database = 'message_db',
): Promise<InsertSummary> {
  const out = new Array<object>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out[i] = {
      message_id: r.message_id,
      reader_id: r.reader_id,
      viewed_at: toDateTime64(r.viewed_at),
      device: r.device ?? 'web',
    };
  }
  return ch.insert(qualified(database, Tables.messageViews), out, withToken(dedupToken));
}

function withToken(dedupToken: string | undefined): { dedupToken?: string } {
  return dedupToken === undefined ? {} : { dedupToken };
}

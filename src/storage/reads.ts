import { checkDatabaseName } from './migrations.ts';
import type { ClickHouse } from './port.ts';
import { fromDateTime64 } from './wire.ts';

/** A message's delivery state, as the API shows it. Times in epoch ms. */
export interface MessageStatus {
  message_id: string;
  conversation_id: string;
  sender_id: string;
  receiver_id: string;
  created_at: number;
  read_status: 'sent' | 'read';
  read_at: number | null;
  /** Everyone who viewed it (receiver or not), first view first. */
  viewers: { reader_id: string; first_viewed_at: number; view_count: number }[];
}

interface StatusRow {
  message_id: string;
  conversation_id: string;
  sender_id: string;
  receiver_id: string;
  created_at: string;
  viewers: [string, string, number | string][];
}

/**
 * Status of up to a few thousand messages by id, by primary-key lookups (message_index,
 * message_receipts) — not through the `messages` view, which is sorted by time (a lookup by id would
 * scan it). Same rules as the view: read when the receiver viewed it, read_at = the receiver's first
 * view. Unknown ids are absent from the result.
 */
export async function messageStatus(
  ch: ClickHouse,
  messageIds: readonly string[],
  database = 'message_db',
): Promise<MessageStatus[]> {
  if (messageIds.length === 0) return [];
  const db = checkDatabaseName(database);
  const rows = await ch.query<StatusRow>(
    `SELECT i.message_id AS message_id, i.conversation_id AS conversation_id, i.sender_id AS sender_id,
            i.receiver_id AS receiver_id, toString(i.created_at) AS created_at, r.viewers AS viewers
     FROM (
       SELECT message_id, any(conversation_id) AS conversation_id, any(sender_id) AS sender_id,
              any(receiver_id) AS receiver_id, any(created_at) AS created_at
       FROM ${db}.message_index WHERE message_id IN {ids:Array(String)} GROUP BY message_id
     ) AS i
     LEFT JOIN (
       SELECT message_id,
              arraySort(x -> x.2, groupArray((reader_id, toString(first), toUInt64(views)))) AS viewers
       FROM (
         SELECT message_id, reader_id, min(first_viewed_at) AS first, sum(view_count) AS views
         FROM ${db}.message_receipts WHERE message_id IN {ids:Array(String)}
         GROUP BY message_id, reader_id
       ) GROUP BY message_id
     ) AS r ON i.message_id = r.message_id
     ORDER BY message_id`,
    { ids: messageIds },
  );
  return rows.map((row) => {
    const viewers = (row.viewers ?? []).map(([reader_id, first, count]) => ({
      reader_id,
      first_viewed_at: fromDateTime64(first),
      view_count: Number(count),
    }));
    const byReceiver = viewers.find((v) => v.reader_id === row.receiver_id);
    return {
      message_id: row.message_id,
      conversation_id: row.conversation_id,
      sender_id: row.sender_id,
      receiver_id: row.receiver_id,
      created_at: fromDateTime64(row.created_at),
      read_status: byReceiver === undefined ? 'sent' : 'read',
      read_at: byReceiver?.first_viewed_at ?? null,
      viewers,
    };
  });
}

import { z } from 'zod';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { conversationHistory, messageById } from '../../storage/index.ts';
import type { ApiContext, ZodApp } from '../app.ts';
import {
  cursorParam,
  decodeCursor,
  encodeCursor,
  errorResponses,
  instant,
  iso,
  isoOrNull,
  limit,
  page,
} from '../params.ts';

const id = z.string().min(1).max(256);

const Message = z.object({
  message_id: z.string(),
  conversation_id: z.string(),
  sender_id: z.string(),
  receiver_id: z.string(),
  user_id: z.string(),
  content: z.string(),
  message_type: z.string(),
  event_type: z.string(),
  timestamp: z.string().meta({ format: 'date-time' }),
  read_status: z.enum(['sent', 'read']),
  read_at: z.string().nullable(),
  viewers: z.array(z.object({ reader_id: z.string(), first_viewed_at: z.string(), view_count: z.number() })),
});

const HistoryItem = z.object({
  message_id: z.string(),
  conversation_id: z.string(),
  sender_id: z.string(),
  receiver_id: z.string(),
  content: z.string(),
  message_type: z.string(),
  timestamp: z.string(),
  read_status: z.enum(['sent', 'read']),
  read_at: z.string().nullable(),
});

const HistoryCursor = z.tuple([z.number().int(), z.string().min(1).max(256)]);

const HistoryQuery = z.object({
  limit: limit(50, 500),
  before: instant.optional().meta({ description: 'only messages strictly older than this instant' }),
  cursor: cursorParam.optional(),
});

/** GET /api/v1/messages/{id}; conversation history (newest first) and its seed alias. */
export function messageRoutes(ctx: ApiContext) {
  return async (app: ZodApp) => {
    app.get(
      '/api/v1/messages/:id',
      {
        schema: {
          tags: ['messages'],
          summary: 'A message with its read status (primary-key lookups, no scan)',
          params: z.object({ id }),
          response: { 200: Message, ...errorResponses },
        },
      },
      async (request) => {
        const m = await messageById(ctx.deps.ch, request.params.id, ctx.database);
        if (m === undefined) {
          throw new AppError(
            ErrorCode.API_NOT_FOUND,
            `message ${JSON.stringify(request.params.id)} is not stored (yet)`,
            {
              context: { message_id: request.params.id },
            },
          );
        }
        return {
          message_id: m.message_id,
          conversation_id: m.conversation_id,
          sender_id: m.sender_id,
          receiver_id: m.receiver_id,
          user_id: m.user_id,
          content: m.content,
          message_type: m.message_type,
          event_type: m.event_type,
          timestamp: iso(m.created_at),
          read_status: m.read_status,
          read_at: isoOrNull(m.read_at),
          viewers: m.viewers.map((v) => ({ ...v, first_viewed_at: iso(v.first_viewed_at) })),
        };
      },
    );
    const history = {
      schema: {
        tags: ['conversations'],
        summary: 'A conversation’s messages, newest first (cursor pagination)',
        params: z.object({ id }),
        querystring: HistoryQuery,
        response: { 200: page(HistoryItem), ...errorResponses },
      },
    };
    for (const url of ['/api/v1/conversations/:id/messages', '/api/v1/messages/conversation/:id']) {
      app.get(url, history, async (request) => {
        const q = request.query;
        const c = decodeCursor(HistoryCursor, q.cursor);
        const before =
          c !== undefined
            ? { created_at: c[0], message_id: c[1] }
            : q.before !== undefined
              ? { created_at: q.before, message_id: '' }
              : undefined;
        const rows = await conversationHistory(
          ctx.deps.ch,
          request.params.id,
          { limit: q.limit, ...(before === undefined ? {} : { before }) },
          ctx.database,
        );
        const last = rows.at(-1);
        return {
          items: rows.map((r) => ({
            message_id: r.message_id,
            conversation_id: r.conversation_id,
            sender_id: r.sender_id,
            receiver_id: r.receiver_id,
            content: r.content,
            message_type: r.message_type,
            timestamp: iso(r.created_at),
            read_status: r.read_status,
            read_at: isoOrNull(r.read_at),
          })),
          next_cursor:
            rows.length === q.limit && last ? encodeCursor([last.created_at, last.message_id]) : null,
        };
      });
    }
  };
}

import { z } from 'zod';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { AlertKind } from '../../events/index.ts';
import {
  alertBurst,
  rangeSummary,
  senderMessagesBetween,
  senderReadStats,
  wordHistory,
} from '../../storage/index.ts';
import type { ApiContext, ZodApp } from '../app.ts';
import { errorResponses, instant, iso, limit, timeRange } from '../params.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const id = z.string().min(1).max(256);
const range = { from: instant.optional(), to: instant.optional() };
/** Senders one time-to-read request may name. */
const MAX_SENDERS = 100;

const WordWindow = z.object({
  window_start: z.string(),
  window_end: z.string(),
  count: z.number(),
  baseline: z.number(),
  score: z.number(),
  rank: z.number(),
});
const SenderReadStats = z.object({
  sender_id: z.string(),
  sent: z.number(),
  read_count: z.number(),
  read_rate: z.number().nullable(),
  median_ms: z.number().nullable(),
  p90_ms: z.number().nullable(),
});
const BurstMessage = z.object({
  message_id: z.string(),
  conversation_id: z.string(),
  receiver_id: z.string(),
  content: z.string(),
  timestamp: z.string(),
});

/**
 * Summaries and drill-downs the dashboard shows and a script can get the same way: a range's totals,
 * read rate and time to read per sender, a word's trend history, an alert's burst (reads in
 * src/storage/insight-reads.ts).
 */
export function insightRoutes(ctx: ApiContext) {
  const ch = () => ctx.deps.ch;
  const now = () => ctx.deps.clock.now();
  return async (app: ZodApp) => {
    app.get(
      '/api/v1/trends/:word/history',
      {
        schema: {
          tags: ['trends'],
          summary:
            'A word’s trend windows starting in [from, to) (default: the last 24 h), oldest first: count against baseline, score, rank. Windows in which the word did not trend have no item.',
          params: z.object({ word: z.string().min(1).max(128) }),
          querystring: z.object({ ...range, limit: limit(1_000, 10_000) }),
          response: {
            200: z.object({ word: z.string(), from: z.string(), to: z.string(), items: z.array(WordWindow) }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const q = request.query;
        const r = timeRange(q, now(), DAY);
        // Words are stored as the tokenizer makes them: NFC, lower case.
        const word = request.params.word.normalize('NFC').toLowerCase();
        const rows = await wordHistory(ch(), word, { ...r, limit: q.limit }, ctx.database);
        return {
          word,
          from: iso(r.from),
          to: iso(r.to),
          items: rows.map((w) => ({
            ...w,
            window_start: iso(w.window_start),
            window_end: iso(w.window_end),
          })),
        };
      },
    );
    app.get(
      '/api/v1/stats/summary',
      {
        schema: {
          tags: ['stats'],
          summary:
            'Totals of the messages created in [from, to) (default: the last hour): messages, read, unread, read rate, conversations and senders',
          querystring: z.object(range),
          response: {
            200: z.object({
              from: z.string(),
              to: z.string(),
              messages: z.number(),
              read_count: z.number(),
              unread: z.number(),
              read_rate: z.number().nullable(),
              conversations: z.number(),
              senders: z.number(),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const r = timeRange(request.query, now(), HOUR);
        const t = await rangeSummary(ch(), r, ctx.database);
        return {
          from: iso(r.from),
          to: iso(r.to),
          ...t,
          unread: t.messages - t.read_count,
          read_rate: t.messages === 0 ? null : Math.round((10_000 * t.read_count) / t.messages) / 100,
        };
      },
    );
    app.get(
      '/api/v1/stats/senders',
      {
        schema: {
          tags: ['stats'],
          summary:
            'Read rate and time to read (receiver’s first view − sent: median, 90th percentile) per sender over the messages created in [from, to) (default: the last 24 h): the given senders, or the most active ones',
          querystring: z.object({
            sender: z
              .union([id, z.array(id).min(1).max(MAX_SENDERS)])
              .optional()
              .meta({
                description: `a sender id; repeat for more (up to ${MAX_SENDERS}); absent: the \`limit\` senders with the most messages in the range`,
              }),
            limit: limit(20, MAX_SENDERS),
            ...range,
          }),
          response: {
            200: z.object({ from: z.string(), to: z.string(), items: z.array(SenderReadStats) }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const q = request.query;
        const r = timeRange(q, now(), DAY);
        const senders = q.sender === undefined ? undefined : [...new Set([q.sender].flat())];
        return {
          from: iso(r.from),
          to: iso(r.to),
          items: await senderReadStats(
            ch(),
            { ...r, limit: q.limit, ...(senders === undefined ? {} : { senders }) },
            ctx.database,
          ),
        };
      },
    );
    app.get(
      '/api/v1/alerts/:id/messages',
      {
        schema: {
          tags: ['alerts'],
          summary:
            'The messages of an alert’s burst: its sender’s messages from the burst’s first to its last message as the alert’s latest record names them (both included; an open alert’s burst may grow), oldest first; duplicate_content: those with the burst’s content',
          params: z.object({ id }),
          querystring: z.object({ limit: limit(1_000, 10_000) }),
          response: {
            200: z.object({
              alert_id: z.string(),
              user_id: z.string(),
              kind: z.string(),
              from: z.string(),
              to: z.string(),
              message_count: z
                .number()
                .meta({ description: 'messages in the burst, as the alert counts them' }),
              items: z.array(BurstMessage),
              truncated: z.boolean(),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const a = await alertBurst(ch(), request.params.id, ctx.database);
        if (a === undefined) {
          throw new AppError(ErrorCode.API_NOT_FOUND, `no alert ${JSON.stringify(request.params.id)}`, {
            context: { alert_id: request.params.id },
          });
        }
        const n = request.query.limit;
        // One more than asked: tells whether the list was cut.
        const rows = await senderMessagesBetween(
          ch(),
          a.user_id,
          {
            from: a.window_start,
            to: a.window_end,
            limit: n + 1,
            ...(a.kind === AlertKind.DUPLICATE_CONTENT ? { sameContentAs: a.first_message_id } : {}),
          },
          ctx.database,
        );
        return {
          alert_id: a.alert_id,
          user_id: a.user_id,
          kind: a.kind,
          from: iso(a.window_start),
          to: iso(a.window_end),
          message_count: a.message_count,
          items: rows.slice(0, n).map(({ created_at, ...m }) => ({ ...m, timestamp: iso(created_at) })),
          truncated: rows.length > n,
        };
      },
    );
  };
}

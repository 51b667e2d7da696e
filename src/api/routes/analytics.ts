import { z } from 'zod';
import { AppError, ErrorCode } from '../../errors/index.ts';
import {
  activityHeatmap,
  conversationWindows,
  listAlerts,
  messageVolume,
  rankedConversations,
  senderReadRates,
  trendWindow,
  userStats,
} from '../../storage/index.ts';
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
  timeRange,
} from '../params.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const id = z.string().min(1).max(256);
const range = { from: instant.optional(), to: instant.optional() };
/** A ranked list's position: how many rows came before. */
const OffsetCursor = z.tuple([z.literal('o'), z.number().int().min(0).max(1_000_000)]);
const offsetOf = (cursor: string | undefined) => decodeCursor(OffsetCursor, cursor)?.[1] ?? 0;
const nextOffset = (offset: number, got: number, asked: number) =>
  got === asked ? encodeCursor(['o', offset + got]) : null;

const INTERVALS = { minute: 60_000, hour: HOUR, day: DAY } as const;
/** Buckets one volume request may ask for. */
const MAX_BUCKETS = 10_000;

const Window = z.object({
  window_start: z.string(),
  window_end: z.string(),
  message_count: z.number(),
  participant_count: z.number(),
  is_peak: z.boolean(),
  baseline: z.number(),
});
const ConversationSummary = z.object({
  conversation_id: z.string(),
  messages: z.number(),
  participants: z.number(),
  peaks: z.number(),
  last_message_at: z.string().nullable(),
});
const ReadRate = z.object({
  sender_id: z.string(),
  sent: z.number(),
  read_count: z.number(),
  read_rate: z.number(),
});
const Trend = z.object({
  window_start: z.string(),
  window_end: z.string(),
  word: z.string(),
  count: z.number(),
  rank: z.number(),
  score: z.number(),
  baseline: z.number(),
});
const Alert = z.object({
  alert_id: z.string(),
  user_id: z.string(),
  kind: z.string(),
  severity: z.string(),
  count: z.number(),
  threshold: z.number(),
  window_start: z.string(),
  window_end: z.string(),
  first_message_id: z.string(),
  last_message_id: z.string(),
  detected_at: z.string(),
});
const AlertCursor = z.tuple([z.number().int(), z.string().min(1).max(256)]);
const WindowCursor = z.tuple([z.number().int(), z.number().int()]);

/** Conversations, volume, read rates, users, trends, alerts: ClickHouse reads (src/storage/api-reads.ts). */
export function analyticsRoutes(ctx: ApiContext) {
  const ch = () => ctx.deps.ch;
  const now = () => ctx.deps.clock.now();
  return async (app: ZodApp) => {
    app.get(
      '/api/v1/conversations/:id/metrics',
      {
        schema: {
          tags: ['conversations'],
          summary:
            'A conversation’s windows (volume, participants, peaks) starting in [from, to), oldest first',
          params: z.object({ id }),
          querystring: z.object({ ...range, limit: limit(500, 5_000), cursor: cursorParam.optional() }),
          response: { 200: page(Window), ...errorResponses },
        },
      },
      async (request) => {
        const q = request.query;
        const r = timeRange(q, now(), DAY);
        const c = decodeCursor(WindowCursor, q.cursor);
        const rows = await conversationWindows(
          ch(),
          request.params.id,
          { ...r, limit: q.limit, ...(c ? { after: { window_start: c[0], window_end: c[1] } } : {}) },
          ctx.database,
        );
        const last = rows.at(-1);
        return {
          items: rows.map((w) => ({
            ...w,
            window_start: iso(w.window_start),
            window_end: iso(w.window_end),
          })),
          next_cursor:
            rows.length === q.limit && last ? encodeCursor([last.window_start, last.window_end]) : null,
        };
      },
    );
    app.get(
      '/api/v1/conversations',
      {
        schema: {
          tags: ['conversations'],
          summary: 'Conversations ranked by volume (messages) or peaks (peak windows) in [from, to)',
          querystring: z.object({
            sort: z.enum(['volume', 'peaks']).default('volume'),
            ...range,
            limit: limit(50, 1_000),
            cursor: cursorParam.optional(),
          }),
          response: { 200: page(ConversationSummary), ...errorResponses },
        },
      },
      async (request) => {
        const q = request.query;
        const offset = offsetOf(q.cursor);
        const rows = await rankedConversations(
          ch(),
          { ...timeRange(q, now(), DAY), sort: q.sort, limit: q.limit, offset },
          ctx.database,
        );
        return {
          items: rows.map((r) => ({ ...r, last_message_at: isoOrNull(r.last_message_at) })),
          next_cursor: nextOffset(offset, rows.length, q.limit),
        };
      },
    );
    app.get(
      '/api/v1/stats/volume',
      {
        schema: {
          tags: ['stats'],
          summary: 'Messages per minute, hour or day in [from, to) (the seed’s hourly query, as data)',
          querystring: z.object({ interval: z.enum(['minute', 'hour', 'day']).default('hour'), ...range }),
          response: {
            200: z.object({
              interval: z.string(),
              from: z.string(),
              to: z.string(),
              buckets: z.array(z.object({ start: z.string(), messages: z.number() })),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const q = request.query;
        const step = INTERVALS[q.interval];
        const r = timeRange(
          q,
          now(),
          q.interval === 'minute' ? HOUR : q.interval === 'hour' ? DAY : 30 * DAY,
        );
        if ((r.to - r.from) / step > MAX_BUCKETS) {
          throw new AppError(
            ErrorCode.API_BAD_REQUEST,
            `the range holds more than ${MAX_BUCKETS} ${q.interval}s: narrow it or use a longer interval`,
            { context: { field: 'from', interval: q.interval } },
          );
        }
        const rows = await messageVolume(ch(), { ...r, stepMs: step }, ctx.database);
        return {
          interval: q.interval,
          from: iso(r.from),
          to: iso(r.to),
          buckets: rows.map((b) => ({ start: iso(b.start), messages: b.messages })),
        };
      },
    );
    app.get(
      '/api/v1/stats/read-rates',
      {
        schema: {
          tags: ['stats'],
          summary: 'Read rate per sender, most messages first (the seed’s read-rate query, as data)',
          querystring: z.object({ limit: limit(100, 10_000), cursor: cursorParam.optional() }),
          response: { 200: page(ReadRate), ...errorResponses },
        },
      },
      async (request) => {
        const q = request.query;
        const offset = offsetOf(q.cursor);
        const rows = await senderReadRates(ch(), { limit: q.limit, offset }, ctx.database);
        return { items: rows, next_cursor: nextOffset(offset, rows.length, q.limit) };
      },
    );
    app.get(
      '/api/v1/users/:id/stats',
      {
        schema: {
          tags: ['users'],
          summary: 'A user’s totals (sent, received, reads, active minutes) and read rate',
          params: z.object({ id }),
          response: {
            200: z.object({
              user_id: z.string(),
              messages_sent: z.number(),
              messages_received: z.number(),
              reads: z.number(),
              active_windows: z.number(),
              first_seen: z.string().nullable(),
              last_seen: z.string().nullable(),
              read_rate: z.number().nullable(),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const s = await userStats(ch(), request.params.id, ctx.database);
        if (s === undefined) {
          throw new AppError(
            ErrorCode.API_NOT_FOUND,
            `no activity of user ${JSON.stringify(request.params.id)}`,
            {
              context: { user_id: request.params.id },
            },
          );
        }
        return { ...s, first_seen: isoOrNull(s.first_seen), last_seen: isoOrNull(s.last_seen) };
      },
    );
    app.get(
      '/api/v1/users/activity',
      {
        schema: {
          tags: ['users'],
          summary: 'Messages and active senders per UTC day × hour in [from, to) (heatmap cells)',
          querystring: z.object(range),
          response: {
            200: z.object({
              from: z.string(),
              to: z.string(),
              cells: z.array(
                z.object({
                  day: z.string(),
                  hour: z.number(),
                  messages: z.number(),
                  active_users: z.number(),
                }),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const r = timeRange(request.query, now(), 7 * DAY, 92 * DAY);
        return { from: iso(r.from), to: iso(r.to), cells: await activityHeatmap(ch(), r, ctx.database) };
      },
    );
    app.get(
      '/api/v1/trends',
      {
        schema: {
          tags: ['trends'],
          summary: 'Trending words of the latest window, or of the window starting at `window`',
          querystring: z.object({
            window: z
              .union([z.literal('latest'), instant])
              .default('latest')
              .meta({ description: '`latest` or a window start (RFC 3339)' }),
            limit: limit(10, 1_000),
          }),
          response: { 200: z.object({ items: z.array(Trend) }), ...errorResponses },
        },
      },
      async (request) => {
        const q = request.query;
        const rows = await trendWindow(
          ch(),
          { limit: q.limit, ...(q.window === 'latest' ? {} : { windowStart: q.window }) },
          ctx.database,
        );
        return {
          items: rows.map((t) => ({
            ...t,
            window_start: iso(t.window_start),
            window_end: iso(t.window_end),
          })),
        };
      },
    );
    app.get(
      '/api/v1/alerts',
      {
        schema: {
          tags: ['alerts'],
          summary: 'Anomaly alerts detected since `since` (default 24 h ago), newest first',
          querystring: z.object({
            since: instant.optional(),
            user: id.optional(),
            kind: z.string().min(1).max(64).optional(),
            limit: limit(100, 1_000),
            cursor: cursorParam.optional(),
          }),
          response: { 200: page(Alert), ...errorResponses },
        },
      },
      async (request) => {
        const q = request.query;
        const c = decodeCursor(AlertCursor, q.cursor);
        const rows = await listAlerts(
          ch(),
          {
            since: q.since ?? now() - DAY,
            limit: q.limit,
            ...(q.user === undefined ? {} : { userId: q.user }),
            ...(q.kind === undefined ? {} : { kind: q.kind }),
            ...(c === undefined ? {} : { before: { detected_at: c[0], alert_id: c[1] } }),
          },
          ctx.database,
        );
        const last = rows.at(-1);
        return {
          items: rows.map((a) => ({
            ...a,
            window_start: iso(a.window_start),
            window_end: iso(a.window_end),
            detected_at: iso(a.detected_at),
          })),
          next_cursor:
            rows.length === q.limit && last ? encodeCursor([last.detected_at, last.alert_id]) : null,
        };
      },
    );
  };
}

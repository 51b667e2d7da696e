import { z } from 'zod';
import type { ApiContext, ZodApp } from '../app.ts';
import { FEED_EVENT_TYPES, type FeedEvent, type FeedEventType } from '../feed.ts';
import { errorResponses } from '../params.ts';

/** Comment line sent this often so that proxies keep an idle stream open, ms. */
const KEEPALIVE_MS = 15_000;
/** Bytes a slow client may have unsent before its stream is closed (it reconnects with Last-Event-ID). */
const MAX_BUFFERED = 4 * 1024 * 1024;

const Types = z
  .string()
  .max(200)
  .optional()
  .transform((s, c) => {
    if (s === undefined || s === '') return new Set(FEED_EVENT_TYPES);
    const wanted = s.split(',').map((t) => t.trim());
    const bad = wanted.filter((t) => !FEED_EVENT_TYPES.includes(t as FeedEventType));
    if (bad.length > 0) {
      c.addIssue({
        code: 'custom',
        message: `unknown event type ${bad.join(', ')}: expected ${FEED_EVENT_TYPES.join(', ')}`,
      });
      return z.NEVER;
    }
    return new Set(wanted as FeedEventType[]);
  })
  .meta({ description: `comma-separated event types (${FEED_EVENT_TYPES.join(', ')}); default all` });

/** SSE framing of one event: `id` only for alerts (resumable), data as one JSON line. */
function frame(e: FeedEvent): string {
  return `${e.id === undefined ? '' : `id: ${e.id}\n`}event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
}

/**
 * GET /api/v1/stream: Server-Sent Events of the live feed (alerts, trends, peaks, a 1 s tick).
 * `Last-Event-ID` (header, or `last_event_id` for clients that cannot set headers) resumes alerts.
 */
export function streamRoutes(ctx: ApiContext) {
  return async (app: ZodApp) => {
    app.get(
      '/api/v1/stream',
      {
        schema: {
          tags: ['live'],
          summary: 'Live feed (text/event-stream): alert, trend, peak and tick events',
          produces: ['text/event-stream'],
          querystring: z.object({ types: Types, last_event_id: z.string().max(200).optional() }),
          headers: z.object({ 'last-event-id': z.string().max(200).optional() }).loose(),
          response: errorResponses,
        },
      },
      async (request, reply) => {
        const types = request.query.types;
        const lastId = request.headers['last-event-id'] ?? request.query.last_event_id;
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        res.write(': msgtrack live feed\nretry: 2000\n\n');
        let closed = false;
        const close = () => {
          if (closed) return;
          closed = true;
          ctx.streams.delete(close);
          unsubscribe();
          clearInterval(keepalive);
          res.end();
        };
        const unsubscribe = ctx.feed.subscribe((e) => {
          if (closed || !types.has(e.type)) return;
          res.write(frame(e));
          if (res.writableLength > MAX_BUFFERED) close();
        }, lastId);
        const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
        keepalive.unref();
        request.raw.on('close', close);
        ctx.streams.add(close);
      },
    );
  };
}

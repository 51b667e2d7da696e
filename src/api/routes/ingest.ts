import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ChatMessageSchema, MessageViewSchema } from '../../events/index.ts';
import type { ApiContext, ZodApp } from '../app.ts';
import { ErrorBodySchema } from '../params.ts';

/** Largest batch one request may carry. */
export const MAX_BATCH = 1_000;

/** One event or an array of them (1–MAX_BATCH); a single object is treated as an array of one. */
const batchOf = <S extends z.ZodType>(schema: S, what: string) =>
  z
    .preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(schema).min(1).max(MAX_BATCH))
    .meta({ description: `${what}: one object, or an array of up to ${MAX_BATCH}` });

const Accepted = z.object({
  accepted: z.number().int(),
  message_ids: z.array(z.string()),
  duplicates: z.number().int().meta({ description: 'ids already accepted or stored: not appended again' }),
});
const ViewsAccepted = z.object({ accepted: z.number().int() });

const ingestErrors = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  413: ErrorBodySchema,
  415: ErrorBodySchema,
  429: ErrorBodySchema,
  503: ErrorBodySchema,
};

/** Per request: whether each message's id came from the client (set before validation). */
const givenIds = new WeakMap<FastifyRequest, boolean[]>();

/**
 * POST /api/v1/messages (and the seed's /api/v1/messages/send), POST /api/v1/views. Validation is
 * the topic's own event schema (src/events); `message_id` and `timestamp` (`viewed_at` for views)
 * are filled before it when absent. 202 once appended to the log (see ingest.ts for what that
 * promises and how re-posted ids are handled).
 */
export function ingestRoutes(ctx: ApiContext) {
  return async (app: ZodApp) => {
    const paths = [
      ['/api/v1/messages', 'Ingest chat messages → chat.messages (202 once appended to the log)'],
      ['/api/v1/messages/send', 'Ingest chat messages (the seed API path; same as POST /api/v1/messages)'],
    ] as const;
    for (const [url, summary] of paths) {
      app.post(
        url,
        {
          schema: {
            tags: ['ingest'],
            summary,
            description:
              'The seed producer’s JSON. message_id and timestamp may be omitted: the API fills them (timestamp = now). Re-posting a message_id never stores a second message.',
            body: batchOf(ChatMessageSchema, 'chat.messages events'),
            response: { 202: Accepted, ...ingestErrors },
          },
          preValidation: async (request) => {
            const body = request.body;
            const items = Array.isArray(body) ? body : [body];
            if (items.length <= MAX_BATCH)
              givenIds.set(
                request,
                items.map((m) => ctx.ingest.fill(m)),
              );
          },
        },
        async (request, reply) => {
          const given = givenIds.get(request) ?? request.body.map(() => true);
          return reply.code(202).send(await ctx.ingest.messages(request.body, given));
        },
      );
    }
    app.post(
      '/api/v1/views',
      {
        schema: {
          tags: ['ingest'],
          summary: 'Ingest read receipts → message-views (202 once appended to the log)',
          description:
            'viewed_at may be omitted (now). A receipt before its message is kept and applies when it arrives.',
          body: batchOf(MessageViewSchema, 'message-views events'),
          response: { 202: ViewsAccepted, ...ingestErrors },
        },
        preValidation: async (request) => {
          const body = request.body;
          for (const v of (Array.isArray(body) ? body : [body]).slice(0, MAX_BATCH)) ctx.ingest.fillView(v);
        },
      },
      async (request, reply) => reply.code(202).send(await ctx.ingest.views(request.body)),
    );
  };
}

import { z } from 'zod';
import { Topics } from '../../events/index.ts';
import type { Log } from '../../log/index.ts';
import type { ClickHouse } from '../../storage/index.ts';
import type { StreamsRuntime } from '../../streams/index.ts';
import type { ZodApp } from '../app.ts';
import type { ApiMetrics } from '../metrics.ts';

/** What /health, /ready and /metrics read: the API's and `msgtrack process`'s endpoint alike. */
export interface HealthSources {
  readonly log: Log;
  readonly ch: ClickHouse;
  readonly runtimes: () => ReadonlyMap<string, StreamsRuntime>;
  readonly metrics: ApiMetrics;
}

const Health = z.object({ status: z.literal('ok') });
const Ready = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), reason: z.string().optional() })),
});

/** What /ready checks: the log answers, ClickHouse answers, and no processor has failed. */
export async function readiness(ctx: HealthSources): Promise<z.infer<typeof Ready>> {
  const checks: z.infer<typeof Ready>['checks'] = {};
  const probe = async (name: string, fn: () => Promise<unknown>) => {
    try {
      await withTimeout(fn(), 2_000);
      checks[name] = { ok: true };
    } catch (err) {
      checks[name] = { ok: false, reason: err instanceof Error ? err.message : String(err) };
    }
  };
  await probe('log', () => ctx.log.partitionOffsets(Topics.chatMessages.name, 0));
  await probe('storage', () => ctx.ch.ping());
  for (const [name, r] of ctx.runtimes()) {
    checks[`processor:${name}`] =
      r.state === 'running' ? { ok: true } : { ok: false, reason: `processor ${name} is ${r.state}` };
  }
  const ok = Object.values(checks).every((c) => c.ok);
  return { status: ok ? 'ready' : 'not_ready', checks };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]);
}

/** /health (liveness), /ready (dependencies, 503 with reasons), /metrics (Prometheus), /api/v1/health (seed alias). */
export function healthRoutes(ctx: HealthSources) {
  return async (app: ZodApp) => {
    const live = {
      schema: { tags: ['health'], summary: 'Liveness: the process serves HTTP', response: { 200: Health } },
    };
    app.get('/health', live, async () => ({ status: 'ok' as const }));
    app.get(
      '/api/v1/health',
      { ...live, schema: { ...live.schema, summary: 'Liveness (the seed API path)' } },
      async () => ({
        status: 'ok' as const,
      }),
    );
    app.get(
      '/ready',
      {
        schema: {
          tags: ['health'],
          summary: 'Readiness: log and storage reachable, processors running (503 with the reasons)',
          response: { 200: Ready, 503: Ready },
        },
      },
      async (_request, reply) => {
        const r = await readiness(ctx);
        return reply.code(r.status === 'ready' ? 200 : 503).send(r);
      },
    );
    app.get(
      '/metrics',
      {
        schema: {
          tags: ['health'],
          summary: 'Prometheus metrics (text exposition format)',
          produces: ['text/plain'],
        },
      },
      async (_request, reply) => reply.type(ctx.metrics.contentType).send(await ctx.metrics.text()),
    );
  };
}

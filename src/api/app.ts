import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import FindMyWay from 'find-my-way';
import type { Clock } from '../clock/index.ts';
import type { Config } from '../config/index.ts';
import { dashboardRoutes } from '../dashboard/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import type { Log } from '../log/index.ts';
import type { ClickHouse } from '../storage/index.ts';
import type { StreamsRuntime } from '../streams/index.ts';
import { toHttpError } from './errors.ts';
import { LiveFeed } from './feed.ts';
import { bearerCheck, RateLimiter } from './guards.ts';
import { Ingest } from './ingest.ts';
import { ApiMetrics, requestTimer } from './metrics.ts';
import { analyticsRoutes } from './routes/analytics.ts';
import { healthRoutes } from './routes/health.ts';
import { ingestRoutes } from './routes/ingest.ts';
import { insightRoutes } from './routes/insights.ts';
import { messageRoutes } from './routes/messages.ts';
import { operatorRoutes } from './routes/operator.ts';
import { streamRoutes } from './routes/stream.ts';
import { ThroughputSampler, totalLag } from './throughput.ts';

/** What the API needs from the running instance; `buildApp` never opens or listens on anything. */
export interface ApiDeps {
  readonly log: Log;
  readonly ch: ClickHouse;
  readonly clock: Clock;
  /** HOST, PORT, API_TOKEN and the API's limits. */
  readonly api: Config['api'];
  /** The processors running in this instance (none for `msgtrack api`). */
  readonly runtimes?: () => ReadonlyMap<string, StreamsRuntime>;
  /** Created when absent; pass one to share it with the storage instrumentation. */
  readonly metrics?: ApiMetrics;
  /** ClickHouse database (default message_db). */
  readonly database?: string;
  /** Whether the SQL console may run without API_TOKEN (the API is bound to a loopback address). */
  readonly loopback?: boolean;
  /** Fastify's logger (pino); default none. */
  readonly logger?: FastifyBaseLogger;
  /** Live feed tick, ms (default 1 000). */
  readonly tickMs?: number;
}

/** Services the routes share, decorated on the app. */
export interface ApiContext {
  readonly deps: ApiDeps;
  readonly database: string;
  readonly runtimes: () => ReadonlyMap<string, StreamsRuntime>;
  readonly ingest: Ingest;
  readonly metrics: ApiMetrics;
  readonly feed: LiveFeed;
  readonly sampler: ThroughputSampler;
  /** Open live-feed streams: each entry ends one (called when the app closes). */
  readonly streams: Set<() => void>;
}

export type ZodApp = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

declare module 'fastify' {
  interface FastifyInstance {
    /** The API's services (decorated by buildApp). */
    ctx: ApiContext;
  }
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/**
 * The API as a fastify app (app-as-plugin: routes are plugins registered here; only server.ts
 * listens). Route schemas are zod (fastify-type-provider-zod): the same schemas validate requests,
 * type the handlers and produce `/openapi.json`.
 */
export async function buildApp(deps: ApiDeps): Promise<ZodApp> {
  const app = Fastify({
    // Request logs (info) are off: the HTTP histograms count requests; warnings and errors go through.
    ...(deps.logger === undefined
      ? {}
      : { loggerInstance: deps.logger.child({ module: 'api' }, { level: 'warn' }) }),
    bodyLimit: deps.api.bodyLimitBytes,
    // Prototype-poisoning keys in a JSON body are refused (400), not silently kept.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    routerOptions: { maxParamLength: 512, ignoreTrailingSlash: true },
    forceCloseConnections: true,
    // Errors before routing (a URL that does not decode, a bad Content-Type header): same shape.
    frameworkErrors: (err, _request, raw) => {
      const e = toHttpError(err);
      const reply = raw as unknown as FastifyReply;
      void reply.code(e.status).headers(e.headers).type('application/json').send(e.body);
    },
  }).withTypeProvider<ZodTypeProvider>();
  // JSON only: any other content type (text/plain included) is a 415.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const runtimes = deps.runtimes ?? (() => new Map<string, StreamsRuntime>());
  const metrics = deps.metrics ?? new ApiMetrics();
  metrics.observe(runtimes);
  const sampler = new ThroughputSampler(deps.log, deps.clock, runtimes);
  const ctx: ApiContext = {
    deps,
    database: deps.database ?? 'message_db',
    runtimes,
    metrics,
    sampler,
    streams: new Set(),
    feed: new LiveFeed({
      log: deps.log,
      clock: deps.clock,
      sampler,
      ...(deps.tickMs ? { tickMs: deps.tickMs } : {}),
    }),
    ingest: new Ingest({
      log: deps.log,
      ch: deps.ch,
      clock: deps.clock,
      limiter: new RateLimiter(deps.api.ingestRateLimit, deps.clock),
      backlog: () => totalLag(runtimes()),
      maxLag: deps.api.ingestMaxLag,
      ...(deps.database === undefined ? {} : { database: deps.database }),
      onAppended: (topic, n) => metrics.ingested.inc({ topic }, n),
    }),
  };

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'msgtrack API',
        version: '1',
        description:
          'Real-time message tracking: ingest, message status, conversation history and metrics, volume, read rates, user activity, trends, alerts, topics, processors, SQL console, live feed.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: deps.api.token === undefined ? [] : [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  // 405 for a known path with another method: a router holding every route's pattern.
  const known = FindMyWay();
  app.addHook('onRoute', (route) => {
    for (const m of [route.method].flat()) {
      if (METHODS.includes(m as (typeof METHODS)[number])) {
        try {
          known.on(m as (typeof METHODS)[number], route.url, () => {});
        } catch {
          // HEAD routes fastify adds for GETs, already there
        }
      }
    }
  });

  const checkToken = bearerCheck(deps.api.token);
  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/api/')) checkToken(request.headers.authorization);
  });
  app.addHook('onResponse', requestTimer(metrics));

  app.setErrorHandler((err, request, reply) => {
    const e = toHttpError(err);
    if (e.status >= 500 && e.body.error.code === ErrorCode.INTERNAL) {
      request.log.error({ err }, 'internal error');
    }
    if (request.url.startsWith('/api/v1/messages') && e.status === 429)
      metrics.rejected.inc({ reason: 'rate_limited' });
    if (request.url.startsWith('/api/v1/messages') && e.status === 503)
      metrics.rejected.inc({ reason: 'overloaded' });
    void reply
      .code(e.status)
      .headers(e.headers)
      .type('application/json')
      .serializer(JSON.stringify)
      .send(e.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = METHODS.filter((m) => m !== request.method && known.find(m, path) !== null);
    const err =
      allowed.length > 0
        ? new AppError(ErrorCode.API_METHOD_NOT_ALLOWED, `${request.method} is not allowed on ${path}`, {
            context: { allowed: allowed.join(', ') },
          })
        : new AppError(ErrorCode.API_NOT_FOUND, `no route ${request.method} ${path}`);
    const e = toHttpError(err);
    if (allowed.length > 0) e.headers.allow = allowed.join(', ');
    void reply.code(e.status).headers(e.headers).type('application/json').send(e.body);
  });

  app.decorate('ctx', ctx);
  await app.register(healthRoutes({ log: deps.log, ch: deps.ch, runtimes, metrics }));
  await app.register(ingestRoutes(ctx));
  await app.register(messageRoutes(ctx));
  await app.register(analyticsRoutes(ctx));
  await app.register(insightRoutes(ctx));
  await app.register(operatorRoutes(ctx));
  await app.register(streamRoutes(ctx));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The built-in dashboard at / (its files only; it calls the routes above like any client).
  await app.register(dashboardRoutes());

  app.addHook('onReady', async () => {
    await ctx.feed.start();
  });
  app.addHook('preClose', async () => {
    for (const end of [...ctx.streams]) end();
    await ctx.feed.stop();
  });
  app.addHook('onClose', async () => {
    await ctx.ingest.close();
    if (deps.metrics === undefined) metrics.close();
  });
  return app;
}

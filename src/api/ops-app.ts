import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError, ErrorCode } from '../errors/index.ts';
import type { ZodApp } from './app.ts';
import { toHttpError } from './errors.ts';
import { requestTimer } from './metrics.ts';
import { type HealthSources, healthRoutes } from './routes/health.ts';

/**
 * The operations endpoint of an instance that serves no API (`msgtrack process <name…>`): the same
 * `/health` (liveness), `/ready` (log and storage reachable, every processor of the instance
 * running; 503 with the reasons) and `/metrics` (the instance's Prometheus registry, `msgtrack_…`)
 * as the API, nothing else. No token: none of these is under `/api/` (nor is it on the API).
 */
export async function buildOpsApp(sources: HealthSources, logger?: FastifyBaseLogger): Promise<ZodApp> {
  const app = Fastify({
    ...(logger === undefined ? {} : { loggerInstance: logger.child({ module: 'http' }, { level: 'warn' }) }),
    return503OnClosing: true,
    forceCloseConnections: true,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  sources.metrics.observe(sources.runtimes);
  app.addHook('onResponse', requestTimer(sources.metrics));
  app.setErrorHandler((err, _request, reply) => {
    const e = toHttpError(err);
    void reply.code(e.status).headers(e.headers).type('application/json').send(e.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const e = toHttpError(
      new AppError(
        ErrorCode.API_NOT_FOUND,
        `no route ${request.method} ${path}: this instance serves /health, /ready and /metrics only`,
      ),
    );
    void reply.code(e.status).headers(e.headers).type('application/json').send(e.body);
  });
  await app.register(healthRoutes(sources));
  return app;
}

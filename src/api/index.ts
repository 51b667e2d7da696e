/**
 * The REST API: a fastify app built by `buildApp(deps)` (routes, validation, OpenAPI, errors, auth,
 * live feed, metrics); `startApiServer` and `startOpsServer` (`/health`, `/ready`, `/metrics` of
 * `msgtrack process`) are the only places that listen.
 */
export { type ApiContext, type ApiDeps, buildApp, type ZodApp } from './app.ts';
export { type ErrorBody, toHttpError } from './errors.ts';
export { FEED_EVENT_TYPES, type FeedEvent, type FeedEventType, LiveFeed } from './feed.ts';
export { assertSafeBinding, bearerCheck, isLoopback, RateLimiter } from './guards.ts';
export { ApiMetrics, instrumentStorage } from './metrics.ts';
export type { HealthSources } from './routes/health.ts';
export { type ApiServer, type HttpServer, startApiServer, startOpsServer } from './server.ts';
export { type Throughput, ThroughputSampler } from './throughput.ts';

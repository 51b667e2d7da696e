/**
 * The REST API: a fastify app built by `buildApp(deps)` (routes, validation, OpenAPI, errors, auth,
 * live feed, metrics); `startApiServer` is the only place that listens.
 */
export { type ApiContext, type ApiDeps, buildApp, type ZodApp } from './app.ts';
export { type ErrorBody, toHttpError } from './errors.ts';
export { FEED_EVENT_TYPES, type FeedEvent, type FeedEventType, LiveFeed } from './feed.ts';
export { assertSafeBinding, bearerCheck, isLoopback, RateLimiter } from './guards.ts';
export { ApiMetrics, instrumentStorage } from './metrics.ts';
export { type ApiServer, startApiServer } from './server.ts';
export { type Throughput, ThroughputSampler } from './throughput.ts';

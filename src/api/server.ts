import type { FastifyBaseLogger } from 'fastify';
import { AppError, ErrorCode } from '../errors/index.ts';
import { type ApiContext, type ApiDeps, buildApp, type ZodApp } from './app.ts';
import { assertSafeBinding, isLoopback } from './guards.ts';
import { buildOpsApp } from './ops-app.ts';
import type { HealthSources } from './routes/health.ts';

export interface ApiServer {
  readonly app: ZodApp;
  /** The services behind the routes (live feed, throughput sampler …). */
  readonly ctx: ApiContext;
  /** e.g. http://127.0.0.1:8080 (the bound port when PORT=0). */
  readonly url: string;
  /** Stop accepting, end the live streams, wait for requests in flight; idempotent. */
  close(): Promise<void>;
}

/** A listening app: its URL (the bound port when PORT=0) and an idempotent close. */
export interface HttpServer {
  readonly app: ZodApp;
  readonly url: string;
  close(): Promise<void>;
}

/** Why HOST:PORT cannot be listened on, as the setting to change (the OS error codes of listen). */
const LISTEN_ERRORS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is in use: set PORT to a free port (or stop what listens there)',
  EACCES: 'permission denied: a port below 1024 needs privileges, set PORT above it',
  EADDRNOTAVAIL: 'no interface has this address: set HOST to one of this machine’s addresses',
};

async function listen(app: ZodApp, host: string, port: number): Promise<HttpServer> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    const why = LISTEN_ERRORS[(err as NodeJS.ErrnoException).code ?? ''];
    if (why === undefined) throw err;
    throw new AppError(ErrorCode.CONFIG_INVALID, `cannot listen on ${host}:${port}: ${why}`, {
      context: { host, port },
      cause: err,
    });
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://${shown}:${bound}`,
    close: () => {
      closing ??= app.close();
      return closing;
    },
  };
}

/**
 * Build the app and listen on HOST:PORT — with `startOpsServer`, the only places that listen. A
 * non-loopback HOST without API_TOKEN is refused (API_INSECURE_BINDING) unless `insecure`.
 */
export async function startApiServer(
  deps: Omit<ApiDeps, 'loopback'>,
  options: { insecure?: boolean } = {},
): Promise<ApiServer> {
  const { host, port, token } = deps.api;
  assertSafeBinding(host, token, options.insecure === true);
  const app = await buildApp({ ...deps, loopback: isLoopback(host) });
  return { ...(await listen(app, host, port)), ctx: app.ctx };
}

/**
 * The operations endpoint of an instance without the API (`msgtrack process`): `/health`, `/ready`,
 * `/metrics` on HOST:PORT. Any HOST is allowed: nothing there reads or writes data.
 */
export async function startOpsServer(
  sources: HealthSources,
  at: { host: string; port: number; logger?: FastifyBaseLogger },
): Promise<HttpServer> {
  return listen(await buildOpsApp(sources, at.logger), at.host, at.port);
}

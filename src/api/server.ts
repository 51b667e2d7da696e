import { type ApiContext, type ApiDeps, buildApp, type ZodApp } from './app.ts';
import { assertSafeBinding, isLoopback } from './guards.ts';

export interface ApiServer {
  readonly app: ZodApp;
  /** The services behind the routes (live feed, throughput sampler …). */
  readonly ctx: ApiContext;
  /** e.g. http://127.0.0.1:8080 (the bound port when PORT=0). */
  readonly url: string;
  /** Stop accepting, end the live streams, wait for requests in flight; idempotent. */
  close(): Promise<void>;
}

/**
 * Build the app and listen on HOST:PORT — the only place that listens. A non-loopback HOST without
 * API_TOKEN is refused (API_INSECURE_BINDING) unless `insecure`.
 */
export async function startApiServer(
  deps: Omit<ApiDeps, 'loopback'>,
  options: { insecure?: boolean } = {},
): Promise<ApiServer> {
  const { host, port, token } = deps.api;
  assertSafeBinding(host, token, options.insecure === true);
  const app = await buildApp({ ...deps, loopback: isLoopback(host) });
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    app,
    ctx: app.ctx,
    url: `http://${shown}:${bound}`,
    close: () => {
      closing ??= app.close();
      return closing;
    },
  };
}

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The dashboard's files: plain ES modules and CSS served as they are (no build step). */
const PUBLIC_DIR = join(import.meta.dirname, 'public');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Everything from our own origin only: the page cannot load or call anything elsewhere (no CDN,
 * works offline), and no inline script runs.
 */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** Reads the public folder once (a few files, a few tens of KB) so each request is a memory send. */
function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(PUBLIC_DIR)) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    const body = readFileSync(join(PUBLIC_DIR, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { body, type, etag });
  }
  return assets;
}

/**
 * The built-in dashboard: `GET /` is the page, `GET /assets/<file>` its modules and styles. It calls
 * only the public API (`/api/v1/*`), so it needs no route of its own beyond its files. Hidden from
 * `/openapi.json` (not part of the API).
 */
export function dashboardRoutes() {
  const assets = loadAssets();
  return async (app: FastifyInstance) => {
    const send = (name: string) => async (request: FastifyRequest, reply: FastifyReply) => {
      const a = assets.get(name)!;
      void reply
        .header('content-type', a.type)
        .header('etag', a.etag)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', CSP);
      if (request.headers['if-none-match'] === a.etag) return reply.code(304).send();
      return reply.send(a.body);
    };
    app.get('/', { schema: { hide: true } }, send('index.html'));
    for (const name of assets.keys()) {
      if (name !== 'index.html') app.get(`/assets/${name}`, { schema: { hide: true } }, send(name));
    }
  };
}

import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { test } from 'node:test';
import Fastify from 'fastify';
import { dashboardRoutes } from '../../src/dashboard/index.ts';

test('dashboard plugin: / and every asset with type, own-origin CSP and ETag (304 on a match); nothing else', async (t) => {
  const app = Fastify();
  t.after(() => app.close());
  await app.register(dashboardRoutes());
  const files = (await readdir(new URL('../../src/dashboard/public/', import.meta.url))).sort();
  const got: Record<string, string> = {};
  for (const f of files) {
    const r = await app.inject({ url: f === 'index.html' ? '/' : `/assets/${f}` });
    assert.equal(r.statusCode, 200, f);
    assert.match(r.headers['content-security-policy'] as string, /^default-src 'self';/);
    got[f] = String(r.headers['content-type']).split(';')[0]!;
    const again = await app.inject({
      url: f === 'index.html' ? '/' : `/assets/${f}`,
      headers: { 'if-none-match': String(r.headers.etag) },
    });
    assert.deepStrictEqual([again.statusCode, again.body], [304, ''], f);
  }
  assert.deepStrictEqual(got, {
    'api.js': 'text/javascript',
    'app.css': 'text/css',
    'app.js': 'text/javascript',
    'index.html': 'text/html',
    'page-alerts.js': 'text/javascript',
    'page-calls.js': 'text/javascript',
    'page-conversations.js': 'text/javascript',
    'page-explore.js': 'text/javascript',
    'page-overview.js': 'text/javascript',
    'page-pipeline.js': 'text/javascript',
    'page-trends.js': 'text/javascript',
    'page-users.js': 'text/javascript',
    'pages.js': 'text/javascript',
    'ui.js': 'text/javascript',
  });
  for (const url of [
    '/assets/../plugin.ts',
    '/assets/plugin.ts',
    '/assets/%2e%2e%2fplugin.ts',
    '/index.html',
  ])
    assert.equal((await app.inject({ url })).statusCode, 404, url);
});

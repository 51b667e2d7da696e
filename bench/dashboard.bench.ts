/**
 * Dashboard budget (a script, not a test): 1M messages (and 300k read receipts) stored in chDB
 * through `messages_base` and `message_views` (their materialized views fill the rollups as the sink
 * would), the API app listening with no processors, and headless Chromium opening every page.
 * Reports the time from navigation to the page rendered with data, and the duration of every API
 * call each page made (Chromium's resource timing: request start → response end).
 *
 *   npm run bench:dashboard                    # 1M messages
 *   npm run bench:dashboard -- --messages 100000
 *
 * Last line: one JSON object (also bench/results/dashboard.json): messages, first_render_ms (the
 * Overview at `/`), per page render_ms and slowest_api_ms, slowest_api (path and ms).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../src/api/index.ts';
import { platformTopics } from '../src/app/index.ts';
import { systemClock } from '../src/clock/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { openEmbeddedLog } from '../src/log/index.ts';
import { migrate, openChdb } from '../src/storage/index.ts';
import { launchChromium } from '../test/dashboard/helpers.ts';

const { values: flags } = parseArgs({ options: { messages: { type: 'string', default: '1000000' } } });
const N = Number(flags.messages);
const CHUNK = 100_000;

const dir = await mkdtemp(join(tmpdir(), 'msgtrack-bench-dashboard-'));
const config = loadConfig({ DATA_DIR: dir });
const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
await log.createTopics(platformTopics());
const ch = await openChdb({ dataDir: dir });
await migrate(ch, { clock: systemClock });

// Spread over the last 24 hours: 20,000 conversations, 5,000 users; 30 % of the messages read.
const now = Date.now();
const spanMs = 24 * 3600_000;
const t0 = performance.now();
for (let from = 0; from < N; from += CHUNK) {
  const n = Math.min(CHUNK, N - from);
  await ch.command(`INSERT INTO message_db.messages_base (message_id, conversation_id, sender_id, receiver_id, content, created_at)
    SELECT 'm' || toString(number), 'c' || toString(number % 20000), 'u' || toString(number % 5000),
      'u' || toString((number * 7 + 1) % 5000), 'hello world content ' || toString(number),
      fromUnixTimestamp64Milli(toInt64(${now - spanMs} + intDiv(number * ${spanMs}, ${N})), 'UTC')
    FROM numbers(${from}, ${n})`);
  await ch.command(`INSERT INTO message_db.message_views (message_id, reader_id, viewed_at)
    SELECT 'm' || toString(number), 'u' || toString((number * 7 + 1) % 5000),
      fromUnixTimestamp64Milli(toInt64(${now - spanMs} + intDiv(number * ${spanMs}, ${N}) + 1000), 'UTC')
    FROM numbers(${from}, ${n}) WHERE number % 10 < 3`);
}
const seedMs = performance.now() - t0;
console.log(`seeded ${N} messages in ${(seedMs / 1000).toFixed(1)} s`);

const app = await buildApp({ log, ch, clock: systemClock, api: config.api, loopback: true });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
const browser = await launchChromium();
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
let calls: { path: string; ms: number }[] = [];
page.on('requestfinished', (r) => {
  const path = new URL(r.url()).pathname;
  if (!path.startsWith('/api/') || path === '/api/v1/stream') return;
  const t = r.timing();
  calls.push({
    path: new URL(r.url()).pathname + new URL(r.url()).search,
    ms: t.responseEnd - t.requestStart,
  });
});

const PAGES = ['overview', 'conversations', 'users', 'trends', 'alerts', 'pipeline', 'explore'];
const results: Record<string, { render_ms: number; slowest_api_ms: number; calls: number }> = {};
let slowest = { path: '', ms: 0 };
let firstRender = 0;
for (const name of PAGES) {
  calls = [];
  const start = performance.now();
  // `/` itself for the Overview (the first render the budget is about), a hash for the others
  await page.goto(name === 'overview' ? `${url}/` : `${url}/#/${name}?range=24h`);
  await page.waitForSelector(`main[data-page="${name}"][data-rendered]`, { timeout: 30_000 });
  const renderMs = performance.now() - start;
  if (name === 'explore') {
    await page.click('#run');
    await page.waitForSelector('#result table', { timeout: 30_000 });
  }
  await page.waitForLoadState('networkidle').catch(() => {});
  if (name === 'overview') firstRender = renderMs;
  const top = calls.reduce((a, c) => (c.ms > a.ms ? c : a), { path: '', ms: 0 });
  if (top.ms > slowest.ms) slowest = top;
  results[name] = {
    render_ms: Math.round(renderMs),
    slowest_api_ms: Math.round(top.ms),
    calls: calls.length,
  };
  console.log(
    `${name.padEnd(14)} render ${renderMs.toFixed(0).padStart(5)} ms  slowest API ${top.ms.toFixed(0).padStart(5)} ms  ${top.path}`,
  );
}
await browser.close();
await app.close();
await ch.close();
await log.close();
await rm(dir, { recursive: true, force: true });

const out = {
  messages: N,
  seed_s: Math.round(seedMs / 100) / 10,
  first_render_ms: Math.round(firstRender),
  slowest_api: { path: slowest.path, ms: Math.round(slowest.ms) },
  pages: results,
};
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL('./results/dashboard.json', import.meta.url), `${JSON.stringify(out)}\n`);
console.log(JSON.stringify(out));

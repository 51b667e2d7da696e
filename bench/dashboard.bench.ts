/**
 * Dashboard budget (a script, not a test): 1M messages (and 300k read receipts) stored in chDB
 * through `messages_base` and `message_views` (their materialized views fill the rollups as the sink
 * would), the API app listening with no processors, and headless Chromium opening every page.
 * Trending words (ten per 2-minute window) and an alert every 5 minutes (each on a 2-second burst of
 * stored messages) are inserted as the processors would have written them. Reports the time from
 * navigation to the page rendered with data, and the duration of every API call each page made
 * (Chromium's resource timing: request start → response end), the Trends word history and an
 * Alerts burst included. Every page twice: as it opens (the default range, the last hour) and over
 * the whole 24 hours (all 1M messages in range).
 *
 *   npm run bench:dashboard                    # 1M messages
 *   npm run bench:dashboard -- --messages 100000
 *
 * Last line: one JSON object (also bench/results/dashboard.json): messages, first_render_ms (the
 * Overview at `/`), per page@range render_ms and slowest_api_ms (in the page: a page's parallel calls
 * queue behind each other on chDB), slowest_api (path and ms), api_alone_ms (each call again on its
 * own, median of 3, by page, method and path).
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
// What the processors would have written over those 24 hours: ten ranked words per 2-minute trend
// window, and an alert every 5 minutes on a burst of real stored messages (one sender's messages
// within 2 seconds), so the Trends word history and the Alerts burst read something.
const WINDOW_MS = 120_000;
await ch.command(`INSERT INTO message_db.trending_words
  SELECT fromUnixTimestamp64Milli(toInt64(w), 'UTC') AS window_start,
    fromUnixTimestamp64Milli(toInt64(w + ${WINDOW_MS}), 'UTC') AS window_end,
    'word' || toString(r) AS word, toUInt32(20 - r) AS count, toUInt16(r + 1) AS rank,
    (20 - r - 5) / sqrt(6) AS score, 5 AS baseline, window_end AS emitted_at, 1 AS version
  FROM (SELECT ${now - spanMs} + intDiv(number, 10) * ${WINDOW_MS} AS w, number % 10 AS r
        FROM numbers(${(spanMs / WINDOW_MS) * 10}))`);
const ALERT_EVERY_MS = 300_000;
await ch.command(`INSERT INTO message_db.anomaly_alerts
  SELECT 'alert-' || toString(n) AS alert_id, 'u' || toString(k % 5000) AS user_id,
    'rate' AS kind, 'high' AS severity, 'closed' AS status, toUInt32(10) AS count, toUInt32(8) AS threshold,
    toUInt32(60000) AS window_ms,
    fromUnixTimestamp64Milli(toInt64(${now - spanMs} + intDiv(k * ${spanMs}, ${N})), 'UTC') AS window_start,
    fromUnixTimestamp64Milli(toInt64(${now - spanMs} + intDiv(k * ${spanMs}, ${N}) + 2000), 'UTC') AS window_end,
    'm' || toString(k) AS first_message_id, 'm' || toString(k) AS last_message_id,
    'm' || toString(k) AS trigger_message_id, toUInt32(10) AS message_count,
    window_start AS detected_at, window_end AS emitted_at, toUInt8(0) AS retracted, toUInt64(4) AS version
  FROM (SELECT number AS n, intDiv(number * ${ALERT_EVERY_MS} * ${N}, ${spanMs}) AS k
        FROM numbers(${spanMs / ALERT_EVERY_MS}))`);
const seedMs = performance.now() - t0;
console.log(`seeded ${N} messages in ${(seedMs / 1000).toFixed(1)} s`);
// The bulk load leaves merges running for a while; a dashboard is read in a steady state (a live
// sink's small parts, not a million rows loaded a moment ago), so wait for them (at most 2 min).
const settle = performance.now();
while (performance.now() - settle < 120_000) {
  const [m] = await ch.query<{ n: string }>('SELECT count() AS n FROM system.merges');
  if (Number(m?.n) === 0) break;
  await new Promise((r) => setTimeout(r, 1000));
}
const settleMs = performance.now() - settle;
console.log(`merges settled in ${(settleMs / 1000).toFixed(1)} s`);

const app = await buildApp({ log, ch, clock: systemClock, api: config.api, loopback: true });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
const browser = await launchChromium();
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
let calls: { path: string; ms: number; method: string; body: string | null }[] = [];
/** Every call of every page, for the one-at-a-time pass below. */
const everyCall: { page: string; path: string; method: string; body: string | null }[] = [];
page.on('requestfinished', (r) => {
  const path = new URL(r.url()).pathname;
  if (!path.startsWith('/api/') || path === '/api/v1/stream') return;
  const t = r.timing();
  calls.push({
    path: new URL(r.url()).pathname + new URL(r.url()).search,
    ms: t.responseEnd - t.requestStart,
    method: r.method(),
    body: r.postData(),
  });
});

const PAGES = ['overview', 'conversations', 'users', 'trends', 'alerts', 'pipeline', 'explore'];
const results: Record<string, { render_ms: number; slowest_api_ms: number; calls: number }> = {};
let slowest = { path: '', ms: 0 };
let firstRender = 0;
// Each page as it opens (the default range, 1 hour), then over the whole 24 hours (every message).
for (const range of ['1h', '24h'] as const)
  for (const name of PAGES) {
    calls = [];
    const start = performance.now();
    // `/` itself for the Overview (the first render the budget is about), a hash for the others
    const hash = name === 'trends' ? `#/trends?range=${range}&word=word3` : `#/${name}?range=${range}`;
    await page.goto(name === 'overview' && range === '1h' ? `${url}/` : `${url}/${hash}`);
    await page.waitForSelector(`main[data-page="${name}"][data-rendered]`, { timeout: 30_000 });
    const renderMs = performance.now() - start;
    if (name === 'explore') {
      await page.click('#run');
      await page.waitForSelector('#result table', { timeout: 30_000 });
    }
    if (name === 'alerts') {
      // the newest alert's burst (GET /api/v1/alerts/{id}/messages)
      await page.click('#alert-rows tr button');
      await page.waitForSelector('#alert-rows .burst li', { timeout: 30_000 });
    }
    await page.waitForLoadState('networkidle').catch(() => {});
    if (name === 'overview' && range === '1h') firstRender = renderMs;
    const top = calls.reduce((a, c) => (c.ms > a.ms ? c : a), { path: '', ms: 0 });
    for (const c of calls) console.log(`  ${c.ms.toFixed(0).padStart(5)} ms  ${c.path.split('?')[0]}`);
    if (top.ms > slowest.ms) slowest = top;
    for (const c of calls)
      everyCall.push({ page: `${name}@${range}`, path: c.path, method: c.method, body: c.body });
    results[`${name}@${range}`] = {
      render_ms: Math.round(renderMs),
      slowest_api_ms: Math.round(top.ms),
      calls: calls.length,
    };
    console.log(
      `${`${name}@${range}`.padEnd(18)} render ${renderMs.toFixed(0).padStart(5)} ms  slowest API ${top.ms.toFixed(0).padStart(5)} ms  ${top.path}`,
    );
  }
// The same calls one at a time (median of 3): chDB runs one statement at a time, so a page's
// parallel calls wait for each other and their in-page times include that wait.
const alone: Record<string, number> = {};
for (const c of everyCall) {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const res = await fetch(`${url}${c.path}`, {
      method: c.method,
      ...(c.body === null ? {} : { body: c.body, headers: { 'content-type': 'application/json' } }),
    });
    await res.arrayBuffer();
    times.push(performance.now() - t);
  }
  const key = `${c.page} ${c.method} ${c.path.split('?')[0]}`;
  alone[key] = Math.max(alone[key] ?? 0, Math.round(times.sort((a, b) => a - b)[1]!));
}
for (const [key, ms] of Object.entries(alone)) console.log(`alone ${String(ms).padStart(5)} ms  ${key}`);
await browser.close();
await app.close();
await ch.close();
await log.close();
await rm(dir, { recursive: true, force: true });

const out = {
  messages: N,
  seed_s: Math.round(seedMs / 100) / 10,
  merges_settled_s: Math.round(settleMs / 100) / 10,
  first_render_ms: Math.round(firstRender),
  slowest_api: { path: slowest.path, ms: Math.round(slowest.ms) },
  pages: results,
  api_alone_ms: alone,
};
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
await writeFile(new URL('./results/dashboard.json', import.meta.url), `${JSON.stringify(out)}\n`);
console.log(JSON.stringify(out));

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, openApiFixture } from '../api/helpers.ts';
import { launchChromium, watchedPage } from './helpers.ts';

const TOKEN = 'dashboard-test-token-0123456789';

test('API_TOKEN: the dashboard asks once, keeps the token for the tab (not in the URL), and sends it to REST and the live feed', async (t) => {
  const f = await openApiFixture({ env: { API_TOKEN: TOKEN }, tickMs: 300 });
  t.after(() => f.close());
  const url = await f.app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await launchChromium();
  t.after(() => browser.close());
  const { page, errors, foreign } = await watchedPage(browser, url);
  const sent: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/')) sent.push(r.headers()['authorization'] ?? 'none');
  });

  await page.goto(`${url}/#/pipeline`);
  await page.waitForSelector('#token-dialog[open]');
  await page.fill('#token-input', TOKEN);
  await page.press('#token-input', 'Enter');
  await page.waitForSelector('main[data-page="pipeline"][data-rendered]');
  // the live feed (fetch-based SSE, with the header) delivers ticks
  await eventually(
    async () => ((await page.getAttribute('#live', 'data-lag')) === null ? undefined : true),
    5_000,
    'a live tick',
  );
  assert.equal(await page.evaluate('sessionStorage.getItem("msgtrack.token")'), TOKEN);
  assert.ok(!page.url().includes(TOKEN), page.url());
  assert.ok(sent.includes(`Bearer ${TOKEN}`), sent.join(' '));
  // a reload in the same tab does not ask again
  await page.reload();
  await page.waitForSelector('main[data-page="pipeline"][data-rendered]');
  assert.equal(await page.isVisible('#token-dialog'), false);
  // the 401s before the token was entered are the only failed requests Chromium logs
  assert.deepStrictEqual(
    { errors: errors.filter((e) => !/status of 401/.test(e)), foreign },
    { errors: [], foreign: [] },
  );
});

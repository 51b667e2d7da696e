import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Random } from '../../src/generator/index.ts';
import { type ApiFixture, message, openApiFixture } from './helpers.ts';

/**
 * 10 000 random requests against the real app (embedded log, chDB, the sink running): methods,
 * paths (the real routes, mangled ones, encodings), query values, headers and bodies of every kind
 * — wrong types, huge, deeply nested, invalid UTF-8, NaN and 1e400, prototype-pollution keys.
 * Nothing may answer 5xx (503 back-pressure aside, which must not happen here either), every error
 * must be the one error shape, and the heap must stay bounded.
 */
const REQUESTS = 10_000;

let f: ApiFixture;
before(async () => {
  f = await openApiFixture({ processors: ['clickhouse-sink'], env: { INGEST_RATE_LIMIT: '0' } });
});
after(() => f.close());

const rnd = new Random(20_261_201);
const pick = <T>(xs: readonly T[]): T => xs[rnd.int(0, xs.length - 1)]!;

const PATHS = [
  '/health',
  '/ready',
  '/metrics',
  '/openapi.json',
  '/api/v1/health',
  '/api/v1/messages',
  '/api/v1/messages/send',
  '/api/v1/views',
  '/api/v1/messages/m-1',
  '/api/v1/messages/conversation/c-1',
  '/api/v1/conversations/c-1/messages',
  '/api/v1/conversations/c-1/metrics',
  '/api/v1/conversations',
  '/api/v1/stats/volume',
  '/api/v1/stats/read-rates',
  '/api/v1/users/u1/stats',
  '/api/v1/users/activity',
  '/api/v1/trends',
  '/api/v1/alerts',
  '/api/v1/topics',
  '/api/v1/query',
  '/api/v1/%E0%A4%A',
  '/api/v1/messages/%00',
  '/api/v1/messages/%ff%fe',
  '/api/v1//messages',
  '/api/v1/messages/../../etc/passwd',
  `/api/v1/messages/${'x'.repeat(600)}`,
  '/api/v1/conversations/%F0%9F%92%A9/messages',
  '/nope',
  '/',
  '/api/v1/users/__proto__/stats',
  '/api/v1/conversations/constructor/metrics',
];
const KEYS = [
  'limit',
  'from',
  'to',
  'before',
  'cursor',
  'interval',
  'sort',
  'window',
  'since',
  'user',
  'kind',
  'types',
  '__proto__',
  'constructor',
];
const VALUES = [
  '',
  '0',
  '-1',
  '1',
  '500',
  '5000',
  '1e400',
  'NaN',
  'Infinity',
  '2026-01-01T00:00:00Z',
  '2026-13-45T99:99:99Z',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999999999+14:00',
  'latest',
  'minute',
  'hour',
  'day',
  'volume',
  'peaks',
  'alert,tick',
  'WzEsIngiXQ',
  'eyJhIjoxfQ',
  '%00',
  '%E0%A4%A',
  "'; DROP TABLE messages_base; --",
  'x'.repeat(2000),
  '{"$gt":""}',
  '[]',
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
  'application/octet-stream',
];

/** JSON nested n levels deep (built as text: JSON.stringify itself would overflow the stack). */
function deep(n: number): string {
  return rnd.chance(0.5) ? `${'['.repeat(n)}1${']'.repeat(n)}` : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
}

function body(): string | Buffer | undefined {
  switch (rnd.int(0, 15)) {
    case 0:
      return undefined;
    case 1:
      return JSON.stringify(message(rnd.int(0, 1e6), { message_id: `fz-${rnd.int(0, 2000)}` }));
    case 2:
      return JSON.stringify(
        Array.from({ length: rnd.int(1, 30) }, (_, i) =>
          message(i, { message_id: `fz-b-${rnd.int(0, 500)}` }),
        ),
      );
    case 3:
      return JSON.stringify({ ...message(1), sender_id: pick([1, null, true, [], {}, 'x'.repeat(300)]) });
    case 4:
      return JSON.stringify({
        ...message(2),
        timestamp: pick(['', 'NaN', '1e400', 12, '2026-02-30T00:00:00Z']),
      });
    case 5:
      return '{"__proto__":{"polluted":true},"message_id":"p"}';
    case 6:
      return '{"constructor":{"prototype":{"polluted":true}}}';
    case 7:
      return deep(rnd.int(100, 20_000));
    case 8:
      return Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]);
    case 9:
      return '[1e400, NaN, -Infinity]';
    case 10:
      return '{"sql": "SELECT 1", "params": {"__proto__": 1}}';
    case 11:
      return JSON.stringify({
        sql: pick([
          'SELECT 1',
          'DROP DATABASE message_db',
          'SELECT * FROM system.numbers',
          'SELECT {x:UInt8}',
          'SELECT sleep(3)',
          '',
        ]),
        params: { x: pick([1, 'a', null]) },
        max_rows: pick([1, 0, -5, 1e9, 'ten']),
      });
    case 12:
      return 'x'.repeat(rnd.int(0, 50_000));
    case 13:
      return JSON.stringify({
        message_id: 'v',
        user_id: pick(['u', 5, null]),
        viewed_at: pick(['2026-01-01T00:00:00Z', 'never', 0]),
      });
    case 14:
      return '{"a":'.repeat(rnd.int(1, 50));
    default:
      return JSON.stringify(Array.from({ length: 1001 }, () => ({})));
  }
}

test(`${REQUESTS} random requests: no 5xx, always the error shape, bounded memory`, async () => {
  const statuses = new Map<number, number>();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapMax = heapBefore;
  for (let i = 0; i < REQUESTS; i++) {
    const method = pick([
      'GET',
      'GET',
      'GET',
      'POST',
      'POST',
      'PUT',
      'DELETE',
      'PATCH',
      'HEAD',
      'OPTIONS',
    ] as const);
    let url = pick(PATHS);
    // Few SQL-console and stream requests: each costs real engine time (the stream is tested elsewhere).
    if (url === '/api/v1/query' && !rnd.chance(0.1)) url = '/api/v1/alerts';
    const q = Array.from({ length: rnd.int(0, 4) }, () => `${pick(KEYS)}=${pick(VALUES)}`).join('&');
    if (q !== '') url += `?${q}`;
    const headers: Record<string, string> = {};
    const ct = pick(CONTENT_TYPES);
    if (ct !== '') headers['content-type'] = ct;
    if (rnd.chance(0.1)) headers.authorization = pick(['Bearer x', 'Basic Zm9vOmJhcg==', 'Bearer ', '']);
    if (rnd.chance(0.05)) headers['content-length'] = pick(['-1', 'abc', '99999999999']);
    if (rnd.chance(0.05)) headers['last-event-id'] = pick(['a.1.2', 'a.-1.x', 'z'.repeat(300)]);
    const payload = method === 'GET' || method === 'HEAD' ? undefined : body();
    const r = await f.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
    statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
    if (r.statusCode >= 500)
      assert.fail(`${method} ${url.slice(0, 200)} → ${r.statusCode} ${r.body.slice(0, 300)}`);
    if (r.statusCode >= 400 && method !== 'HEAD') {
      const e = r.json().error;
      assert.deepStrictEqual(
        [typeof e.code, typeof e.message, typeof e.details],
        ['string', 'string', 'object'],
        `${method} ${url.slice(0, 200)}: ${r.body.slice(0, 200)}`,
      );
    }
    if (i % 500 === 0) heapMax = Math.max(heapMax, process.memoryUsage().heapUsed);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  assert.equal(total, REQUESTS);
  assert.ok(
    heapMax - heapBefore < 400 * 1024 * 1024,
    `heap grew by ${Math.round((heapMax - heapBefore) / 1e6)} MB`,
  );
  // Every class of answer happened: successes, client errors of several kinds.
  for (const s of [200, 202, 400, 404, 405, 415])
    assert.ok(statuses.has(s), `no ${s} in ${JSON.stringify([...statuses])}`);
});

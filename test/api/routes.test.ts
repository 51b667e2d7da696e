import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildApp, type ZodApp } from '../../src/api/index.ts';
import { systemClock } from '../../src/clock/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { StreamsRuntime } from '../../src/streams/index.ts';
import { type ApiFixture, eventually, message, openApiFixture } from './helpers.ts';

let f: ApiFixture;
before(async () => {
  f = await openApiFixture({ processors: ['clickhouse-sink'] });
});
after(() => f.close());

/** Another app on the same log and storage, with other API settings. */
async function appWith(env: Record<string, string>, runtimes?: () => ReadonlyMap<string, StreamsRuntime>) {
  const config = loadConfig({ DATA_DIR: f.dir, ...env });
  const app = await buildApp({
    log: f.log,
    ch: f.ch,
    clock: systemClock,
    api: config.api,
    loopback: false,
    ...(runtimes === undefined ? {} : { runtimes }),
  });
  await app.ready();
  return app;
}

const json = (app: ZodApp, method: 'GET' | 'POST', url: string, payload?: unknown, headers = {}) =>
  app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }), headers });

async function stored(id: string): Promise<Record<string, unknown>> {
  return eventually<Record<string, unknown>>(
    async () => {
      const r = await json(f.app, 'GET', `/api/v1/messages/${id}`);
      return r.statusCode === 200 ? r.json() : undefined;
    },
    10_000,
    `message ${id}`,
  );
}

test('ingest, then status, history (cursor pages), volume, read rates, user stats, activity, conversations', async () => {
  const batch = [0, 1, 2, 3, 4, 5].map((i) =>
    message(100 + i, { conversation_id: 'conv-h', receiver_id: 'reader' }),
  );
  const r1 = await json(f.app, 'POST', '/api/v1/messages', batch);
  const r2 = await json(f.app, 'POST', '/api/v1/messages/send', {
    ...message(200, { conversation_id: 'conv-h', receiver_id: 'reader' }),
    message_id: undefined,
    timestamp: undefined,
  });
  assert.deepStrictEqual(
    [r1.statusCode, r1.json(), r2.statusCode, r2.json().accepted],
    [202, { accepted: 6, message_ids: batch.map((m) => m.message_id), duplicates: 0 }, 202, 1],
  );
  const filledId: string = r2.json().message_ids[0];
  assert.match(filledId, /^msg-[0-9a-f]{8}-/);
  const views = await json(f.app, 'POST', '/api/v1/views', [
    { message_id: 'm-100', user_id: 'reader', viewed_at: '2026-01-01T12:10:00Z' },
    { message_id: 'm-101', user_id: 'someone-else', viewed_at: '2026-01-01T12:10:00Z' },
  ]);
  assert.deepStrictEqual([views.statusCode, views.json()], [202, { accepted: 2 }]);
  await stored(filledId);
  const m100 = await eventually(async () => {
    const m = await stored('m-100');
    return m?.read_status === 'read' ? m : undefined;
  });
  assert.deepStrictEqual(m100, {
    message_id: 'm-100',
    conversation_id: 'conv-h',
    sender_id: 'u0',
    receiver_id: 'reader',
    user_id: 'u0',
    content: 'hello number 100',
    message_type: 'text',
    event_type: 'message_sent',
    timestamp: '2026-01-01T12:01:40.000Z',
    read_status: 'read',
    read_at: '2026-01-01T12:10:00.000Z',
    viewers: [{ reader_id: 'reader', first_viewed_at: '2026-01-01T12:10:00.000Z', view_count: 1 }],
  });

  // History newest first, 3 pages of 2 over the six messages of 2026-01-01 (the filled one is "now").
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const q = `limit=2&before=2026-01-02T00:00:00Z${cursor === null ? '' : `&cursor=${cursor}`}`;
    const r = await json(f.app, 'GET', `/api/v1/conversations/conv-h/messages?${q}`);
    assert.equal(r.statusCode, 200, r.body);
    pages.push(r.json().items.map((m: { message_id: string }) => m.message_id));
    cursor = r.json().next_cursor;
  } while (cursor !== null && pages.length < 10);
  assert.deepStrictEqual(pages, [['m-105', 'm-104'], ['m-103', 'm-102'], ['m-101', 'm-100'], []]);
  const alias = await json(f.app, 'GET', '/api/v1/messages/conversation/conv-h?limit=1');
  assert.deepStrictEqual(alias.json().items[0].message_id, filledId);

  const day = 'from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z';
  const volume = await json(f.app, 'GET', `/api/v1/stats/volume?interval=minute&${day}`);
  assert.deepStrictEqual(volume.json().buckets, [{ start: '2026-01-01T12:01:00.000Z', messages: 6 }]);
  const rates = await eventually(async () => {
    const r = (await json(f.app, 'GET', '/api/v1/stats/read-rates?limit=1000')).json();
    const u0 = r.items.find((x: { sender_id: string }) => x.sender_id === 'u0');
    return u0?.read_count === 1 ? u0 : undefined;
  });
  assert.deepStrictEqual(rates, { sender_id: 'u0', sent: 3, read_count: 1, read_rate: 33.33 });
  const user = await json(f.app, 'GET', '/api/v1/users/u0/stats');
  assert.deepStrictEqual([user.statusCode, user.json().read_rate], [200, 33.33]);
  const activity = await json(f.app, 'GET', `/api/v1/users/activity?${day}`);
  assert.deepStrictEqual(activity.json().cells, [
    { day: '2026-01-01', hour: 12, messages: 6, active_users: 5 },
  ]);

  // Ranked conversations, one per page.
  await json(f.app, 'POST', '/api/v1/messages', [message(300, { conversation_id: 'conv-small' })]);
  await stored('m-300');
  const first = (await json(f.app, 'GET', `/api/v1/conversations?sort=volume&limit=1&${day}`)).json();
  const second = (
    await json(f.app, 'GET', `/api/v1/conversations?sort=volume&limit=1&${day}&cursor=${first.next_cursor}`)
  ).json();
  assert.deepStrictEqual(
    [first.items[0].conversation_id, first.items[0].messages, second.items[0].conversation_id],
    ['conv-h', 6, 'conv-small'],
  );
});

test('re-posting a message_id stores one message (within a batch, after storage, without a timestamp)', async () => {
  const m = message(400, { conversation_id: 'conv-dup' });
  const first = await json(f.app, 'POST', '/api/v1/messages', [m, m]);
  await stored('m-400');
  const again = await json(f.app, 'POST', '/api/v1/messages', { ...m, timestamp: undefined });
  // A fresh app (as after a restart: nothing in memory) finds it in ClickHouse.
  const fresh = await appWith({});
  const third = await json(fresh, 'POST', '/api/v1/messages', { ...m, timestamp: undefined });
  await fresh.close();
  await new Promise((r) => setTimeout(r, 500));
  const [row] = await f.ch.query<{ n: number }>(
    "SELECT toUInt32(count()) AS n FROM message_db.messages WHERE message_id = 'm-400'",
  );
  assert.deepStrictEqual(
    [first.json().duplicates, again.json().duplicates, third.json().duplicates, row?.n],
    [1, 1, 1, 1],
  );
});

test('every route answers bad input with the one error shape and a 4xx', async () => {
  const cases: [string, string, unknown, Record<string, string>?][] = [
    ['POST', '/api/v1/messages', { ...message(1), sender_id: 5 }],
    ['POST', '/api/v1/messages', []],
    ['POST', '/api/v1/messages', Array.from({ length: 1001 }, (_, i) => message(i))],
    ['POST', '/api/v1/messages', { ...message(1), timestamp: 'yesterday' }],
    ['POST', '/api/v1/messages', '{"a":', { 'content-type': 'application/json' }],
    ['POST', '/api/v1/messages', 'hello', { 'content-type': 'text/plain' }],
    ['POST', '/api/v1/messages', '{"__proto__":{"x":1}}', { 'content-type': 'application/json' }],
    ['POST', '/api/v1/views', { message_id: 'x' }],
    ['GET', '/api/v1/messages/no-such-id', undefined],
    ['GET', '/api/v1/conversations/c/messages?limit=0', undefined],
    ['GET', '/api/v1/conversations/c/messages?limit=501', undefined],
    ['GET', '/api/v1/conversations/c/messages?cursor=bm90LWEtY3Vyc29y', undefined],
    ['GET', '/api/v1/conversations/c/metrics?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', undefined],
    ['GET', '/api/v1/conversations?sort=loudness', undefined],
    ['GET', '/api/v1/stats/volume?interval=week', undefined],
    [
      'GET',
      '/api/v1/stats/volume?interval=minute&from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      undefined,
    ],
    ['GET', '/api/v1/stats/read-rates?limit=abc', undefined],
    ['GET', '/api/v1/users/nobody-at-all/stats', undefined],
    ['GET', '/api/v1/users/activity?from=not-a-date', undefined],
    ['GET', '/api/v1/trends?window=soon', undefined],
    ['GET', '/api/v1/alerts?since=1e400', undefined],
    ['GET', '/api/v1/stream?types=gossip', undefined],
    ['POST', '/api/v1/query', { sql: 'DROP TABLE message_db.messages_base' }],
    ['POST', '/api/v1/query', { sql: 'SELEC 1' }],
    ['DELETE', '/api/v1/messages', undefined],
    ['GET', '/api/v2/nothing', undefined],
  ];
  const got = [];
  for (const [method, url, payload, headers] of cases) {
    const r = await f.app.inject({
      method: method as 'GET',
      url,
      ...(payload === undefined ? {} : { payload: payload as string }),
      ...(headers === undefined ? {} : { headers }),
    });
    const body = r.json();
    assert.deepStrictEqual(Object.keys(body.error).sort(), ['code', 'details', 'message'], r.body);
    got.push([r.statusCode, body.error.code]);
  }
  assert.deepStrictEqual(got, [
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [415, 'API_UNSUPPORTED_MEDIA_TYPE'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [404, 'API_NOT_FOUND'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [404, 'API_NOT_FOUND'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [400, 'API_BAD_REQUEST'],
    [403, 'QUERY_REFUSED'],
    [400, 'QUERY_INVALID'],
    [405, 'API_METHOD_NOT_ALLOWED'],
    [404, 'API_NOT_FOUND'],
  ]);
  const invalid = await json(f.app, 'POST', '/api/v1/messages', [
    message(1),
    { ...message(2), sender_id: 5 },
  ]);
  assert.deepStrictEqual(invalid.json().error, {
    code: 'API_BAD_REQUEST',
    message: 'body/1/sender_id: Invalid input: expected string, received number',
    details: { field: 'body/1/sender_id', issues: 1, expected: 'string' },
  });
});

test('API_TOKEN guards /api/* with a bearer token; /health, /ready, /metrics stay open', async () => {
  const token = 'a-token-of-twenty-chars';
  const app = await appWith({ API_TOKEN: token });
  try {
    const statuses = [];
    for (const [url, auth] of [
      ['/api/v1/alerts', undefined],
      ['/api/v1/alerts', 'Bearer wrong-token-of-some-length'],
      ['/api/v1/alerts', `Basic ${token}`],
      ['/api/v1/alerts', `Bearer ${token}`],
      ['/api/v1/health', undefined],
      ['/health', undefined],
      ['/metrics', undefined],
    ] as const) {
      const r = await app.inject({
        method: 'GET',
        url,
        headers: auth === undefined ? {} : { authorization: auth },
      });
      statuses.push([url, r.statusCode, r.statusCode === 401 ? r.headers['www-authenticate'] : null]);
    }
    assert.deepStrictEqual(statuses, [
      ['/api/v1/alerts', 401, 'Bearer'],
      ['/api/v1/alerts', 401, 'Bearer'],
      ['/api/v1/alerts', 401, 'Bearer'],
      ['/api/v1/alerts', 200, null],
      ['/api/v1/health', 401, 'Bearer'],
      ['/health', 200, null],
      ['/metrics', 200, null],
    ]);
    // The SQL console is on with a token even off loopback; without one and off loopback it is off.
    const q = await json(
      app,
      'POST',
      '/api/v1/query',
      { sql: 'SELECT 1 AS one' },
      { authorization: `Bearer ${token}` },
    );
    const off = await appWith({});
    const refused = await json(off, 'POST', '/api/v1/query', { sql: 'SELECT 1 AS one' });
    await off.close();
    assert.deepStrictEqual(
      [q.statusCode, q.json().rows, refused.statusCode, refused.json().error.code],
      [200, [[1]], 403, 'API_FORBIDDEN'],
    );
  } finally {
    await app.close();
  }
});

test('limits: body size (413), ingest rate (429 + Retry-After), processors far behind (503 + Retry-After)', async () => {
  const small = await appWith({ API_BODY_LIMIT_BYTES: '2048', INGEST_RATE_LIMIT: '3' });
  const lagging = new Map([
    [
      'slow',
      { metrics: () => ({ lag: { 'chat.messages:0': 50 } }), state: 'running' } as unknown as StreamsRuntime,
    ],
  ]);
  const behind = await appWith({ INGEST_MAX_LAG: '10' }, () => lagging);
  try {
    const big = await json(small, 'POST', '/api/v1/messages', { ...message(1), content: 'x'.repeat(4096) });
    const ok = await json(small, 'POST', '/api/v1/messages', [message(500), message(501), message(502)]);
    const limited = await json(small, 'POST', '/api/v1/messages', [message(503)]);
    const busy = await json(behind, 'POST', '/api/v1/messages', [message(504)]);
    assert.deepStrictEqual(
      [
        [big.statusCode, big.json().error.code],
        [ok.statusCode],
        [limited.statusCode, limited.json().error.code, limited.headers['retry-after']],
        [busy.statusCode, busy.json().error.code, busy.headers['retry-after']],
      ],
      [[413, 'API_PAYLOAD_TOO_LARGE'], [202], [429, 'API_RATE_LIMITED', '1'], [503, 'API_OVERLOADED', '1']],
    );
  } finally {
    await small.close();
    await behind.close();
  }
});

test('topics, processors, SQL console with parameters, health, ready, metrics, openapi.json', async () => {
  await json(f.app, 'POST', '/api/v1/messages', [message(600)]);
  await stored('m-600');
  const topics = (await json(f.app, 'GET', '/api/v1/topics')).json();
  const chat = topics.topics.find((t: { name: string }) => t.name === 'chat.messages');
  const sinkGroup = topics.groups.find((g: { group_id: string }) => g.group_id === 'clickhouse-sink');
  assert.deepStrictEqual(
    [chat.partitions, chat.offsets.length, sinkGroup.members > 0, typeof sinkGroup.lag],
    [6, 6, true, 'number'],
  );
  const processors = (await json(f.app, 'GET', '/api/v1/processors')).json();
  const dlqs: string[] = processors.dead_letters.map((d: { topic: string }) => d.topic);
  assert.deepStrictEqual(
    [
      processors.processors.map((p: { name: string; state: string }) => [p.name, p.state]),
      ['chat.messages.dlq', 'message-views.dlq'].every((t) => dlqs.includes(t)),
    ],
    [[['clickhouse-sink', 'running']], true],
  );
  const q = await json(f.app, 'POST', '/api/v1/query', {
    sql: 'SELECT message_id FROM messages WHERE message_id = {id:String}',
    params: { id: 'm-600' },
  });
  assert.deepStrictEqual([q.statusCode, q.json().rows, q.json().truncated], [200, [['m-600']], false]);
  const health = await json(f.app, 'GET', '/health');
  const ready = await json(f.app, 'GET', '/ready');
  assert.deepStrictEqual(
    [health.json(), ready.statusCode, ready.json().status],
    [{ status: 'ok' }, 200, 'ready'],
  );
  const metrics = (await json(f.app, 'GET', '/metrics')).body;
  for (const name of [
    'msgtrack_ingest_events_total{topic="chat.messages"}',
    'msgtrack_processor_records_processed_total{processor="clickhouse-sink"}',
    'msgtrack_processor_lag_records{processor="clickhouse-sink",topic="chat.messages",partition="0"}',
    'msgtrack_http_request_duration_seconds_bucket',
    'msgtrack_process_cpu_user_seconds_total',
  ]) {
    assert.ok(metrics.includes(name), name);
  }
  const doc = (await json(f.app, 'GET', '/openapi.json')).json();
  assert.deepStrictEqual(
    [doc.openapi, Object.keys(doc.paths).length, Object.keys(doc.paths['/api/v1/messages'])],
    ['3.1.0', 26, ['post']],
  );
});

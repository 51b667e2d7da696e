import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { systemClock } from '../../src/clock/index.ts';
import { isAppError } from '../../src/errors/index.ts';
import { retryAfter } from '../../src/generator/http-target.ts';
import { httpTarget, publishTo, takeTraffic } from '../../src/generator/index.ts';

const START = Date.UTC(2025, 10, 8, 14, 0, 0);
const TOKEN = 'test-token-0123456789';

interface Received {
  readonly path: string;
  readonly auth: string | undefined;
  readonly body: { message_id: string }[];
  readonly atMs: number;
}

/** A real HTTP server on a free port that records each request and answers with `answer`. */
async function server(
  t: TestContext,
  answer: (req: Received, n: number, res: ServerResponse) => void,
): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const srv = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = {
        path: req.url ?? '',
        auth: req.headers.authorization,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
        atMs: performance.now(),
      };
      received.push(r);
      answer(r, received.length, res);
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => srv.close(() => resolve())));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, received };
}

const accept = (r: Received, res: ServerResponse) => {
  res.writeHead(202, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ accepted: r.body.length, message_ids: r.body.map((m) => m.message_id) }));
};

test('--target posts batches of ≤ 1,000 with the token, messages before views; 503 + Retry-After is honoured', async (t) => {
  const { url, received } = await server(t, (r, n, res) => {
    if (n === 1) {
      res.writeHead(503, { 'retry-after': '1', 'content-type': 'application/json' });
      res.end('{"error":{"code":"API_OVERLOADED","message":"behind"}}');
    } else accept(r, res);
  });
  const result = await publishTo(httpTarget({ url, token: TOKEN }), {
    clock: systemClock,
    seed: 3,
    paced: false,
    count: 7_000,
    startMs: START,
  });
  const expected = takeTraffic(7_000, { seed: 3, startMs: START });
  const ok = received.slice(1);
  const posted = (path: string) => ok.filter((r) => r.path === path).flatMap((r) => r.body);
  const wire = (kind: string) => expected.filter((e) => e.kind === kind).map((e) => e.value);
  assert.deepStrictEqual(
    {
      retriedSameBatch: JSON.stringify(received[0]!.body) === JSON.stringify(received[1]!.body),
      waitedForRetryAfter: received[1]!.atMs - received[0]!.atMs >= 990,
      auth: [...new Set(received.map((r) => r.auth))],
      largest: Math.max(...received.map((r) => r.body.length)),
      messages: posted('/api/v1/messages'),
      views: posted('/api/v1/views'),
      totals: [result.messages, result.views],
    },
    {
      retriedSameBatch: true,
      waitedForRetryAfter: true,
      auth: [`Bearer ${TOKEN}`],
      largest: 1000,
      messages: wire('message'),
      views: wire('view'),
      totals: [wire('message').length, wire('view').length],
    },
  );
});

test('--target: a refusal stops with the API’s message; an unreachable target is retried, then named', async (t) => {
  const { url } = await server(t, (_r, _n, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end('{"error":{"code":"API_UNAUTHORIZED","message":"missing bearer token"}}');
  });
  const run = (target: string) =>
    publishTo(httpTarget({ url: target, retryDeadlineMs: 300 }), {
      clock: systemClock,
      paced: false,
      count: 10,
      startMs: START,
    }).then(
      () => 'delivered',
      (err: unknown) => (isAppError(err) ? `${err.code}: ${err.message}` : String(err)),
    );
  // A port nobody listens on: one a server just gave back.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closed = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  assert.deepStrictEqual(
    [await run(url), await run(closed)],
    [
      `GENERATOR_TARGET_REJECTED: POST ${url}/api/v1/messages answered 401: API_UNAUTHORIZED: missing bearer token`,
      `GENERATOR_TARGET_UNAVAILABLE: cannot reach ${closed}/api/v1/messages: ECONNREFUSED`,
    ],
  );
});

test('Retry-After: delta-seconds or an HTTP-date, capped at a minute; anything else 0', () => {
  const now = Date.UTC(2025, 10, 8, 14, 0, 0);
  assert.deepStrictEqual(
    ['2', ' 0 ', 'Sat, 08 Nov 2025 14:00:05 GMT', 'Sat, 08 Nov 2025 13:00:00 GMT', '3600', 'soon', null].map(
      (h) => retryAfter(h, now),
    ),
    [2000, 0, 5000, 0, 60_000, 0, 0],
  );
});

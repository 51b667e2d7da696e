import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Random } from '../../src/generator/index.ts';
import { bestOf } from '../helpers/latency.ts';
import { apiUrlOf, spawnMsgtrack, whenRunning } from '../helpers/msgtrack.ts';
import { waitUntil } from '../helpers/wait.ts';

/**
 * End to end on the real binary: `msgtrack start --no-generator` as a child on a temp DATA_DIR
 * (PORT=0), driven only through its HTTP API.
 */

interface Instance {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

/** Every child started, so that cleanup kills them all (a live child keeps the test file running). */
const children = new Set<ChildProcess>();

async function startInstance(dir: string): Promise<Instance> {
  const p = spawnMsgtrack(['start', '--no-generator'], {
    ...process.env,
    DATA_DIR: dir,
    PORT: '0',
    KAFKA_BROKERS: '',
    CLICKHOUSE_URL: '',
    API_TOKEN: '',
    SINK_FLUSH_MS: '200',
    LOG_LEVEL: 'info',
  });
  children.add(p.child);
  return { ...p, url: apiUrlOf(await whenRunning(p)) };
}

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** A GET's status and JSON body; `T` names the fields the caller reads (optional: an error body has none). */
async function get<T>(url: string): Promise<{ status: number; body: T }> {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as T };
}

/** One server-sent event: its type, id and JSON data (of it, the field the test reads). */
interface SseEvent {
  readonly event: string;
  readonly id?: string | undefined;
  readonly data: { readonly user_id?: string } | null;
}

/** Reads SSE events of a stream into `events` until aborted. */
function sse(url: string, events: SseEvent[]): AbortController {
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(url, { signal: abort.signal });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(
          frame
            .split('\n')
            .filter((l) => !l.startsWith(':') && l.includes(': '))
            .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
        );
        if (fields.event !== undefined)
          events.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data ?? 'null') });
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch(() => {});
  return abort;
}

const iso = (ms: number) => new Date(ms).toISOString();

test('start --no-generator: ingest, receipts and a spam burst show within 2 s (REST and SSE); SIGTERM and restart keep everything once; SIGKILL during ingest never loses or doubles an acknowledged message', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-e2e-'));
  t.after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
    await rm(dir, { recursive: true, force: true });
  });
  let a = await startInstance(dir);
  const events: SseEvent[] = [];
  const feed = sse(`${a.url}/api/v1/stream?types=alert,tick`, events);
  t.after(() => feed.abort());

  // One delivery: 40 ordinary messages, 10 spam, 2 views, each attempt with its own ids and users.
  // All checks poll at once, each from the post (one check's polling never delays another's
  // measurement); a check's time is when a response first showed the data. Returns the slowest. A
  // shared machine may stall past the bound once: a second (and third) attempt measures again, a
  // pipeline that is slow every time fails all of them.
  const now = Date.now();
  const deliver = async (k: number): Promise<number> => {
    // Event times near the wall clock of this attempt (idle advance follows the clock: older ones
    // could be late by the next attempt).
    const at = Date.now();
    const normal = Array.from({ length: 40 }, (_, i) => ({
      message_id: `e2e${k}-${i}`,
      content: `ordinary message ${i}`,
      timestamp: iso(at - 40_000 + i * 1000),
      conversation_id: `conv${k}-${i % 4}`,
      sender_id: `user${k}-${i % 8}`,
      receiver_id: `user${k}-${(i + 1) % 8}`,
    }));
    const spam = Array.from({ length: 10 }, (_, i) => ({
      message_id: `spam${k}-${i}`,
      content: `win a prize ${i}`,
      timestamp: iso(at - 2_000 + i * 100),
      conversation_id: `conv${k}-spam`,
      sender_id: `spammer${k}`,
      receiver_id: `victim-${i}`,
    }));
    const posted = Date.now();
    const r1 = await post(`${a.url}/api/v1/messages`, normal);
    const r2 = await post(`${a.url}/api/v1/messages`, spam);
    const r3 = await post(`${a.url}/api/v1/views`, [
      { message_id: `e2e${k}-0`, user_id: `user${k}-1`, viewed_at: iso(at) },
      { message_id: `e2e${k}-1`, user_id: `user${k}-2`, viewed_at: iso(at) },
    ]);
    assert.deepStrictEqual([r1.status, r2.status, r3.status], [202, 202, 202]);
    const checks = {
      status: () =>
        get<{ read_status?: string }>(`${a.url}/api/v1/messages/e2e${k}-0`).then(
          (r) => r.body.read_status === 'read',
        ),
      history: () =>
        get<{ items?: unknown[] }>(`${a.url}/api/v1/conversations/conv${k}-0/messages?limit=100`).then(
          (r) => r.body.items?.length === 10,
        ),
      // Every delivery so far falls in this range.
      volume: () =>
        get<{ buckets?: { messages: number }[] }>(
          `${a.url}/api/v1/stats/volume?interval=minute&from=${iso(now - 3_600_000)}&to=${iso(at + 60_000)}`,
        ).then((r) => r.body.buckets?.reduce((s, b) => s + b.messages, 0) === 50 * (k + 1)),
      readRates: () =>
        get<{ items?: { sender_id: string; read_count: number }[] }>(
          `${a.url}/api/v1/stats/read-rates?limit=1000`,
        ).then((r) => r.body.items?.find((x) => x.sender_id === `user${k}-0`)?.read_count === 1),
      alertsRest: () =>
        get<{ items?: { kind: string }[] }>(`${a.url}/api/v1/alerts?user=spammer${k}`).then(
          (r) => r.body.items?.some((x) => x.kind === 'rate') === true,
        ),
      alertSse: async () => events.some((e) => e.event === 'alert' && e.data?.user_id === `spammer${k}`),
    };
    // Visible at all within 15 s (else a defect, not a slow machine); the 2 s bound is checked on the times.
    const took = Object.fromEntries(
      await Promise.all(
        Object.entries(checks).map(async ([name, check]) => {
          await waitUntil(name, 15_000 - (Date.now() - posted), check);
          return [name, Date.now() - posted] as const;
        }),
      ),
    );
    t.diagnostic(`delivery ${k}: visible after ${JSON.stringify(took)} ms`);
    return Math.max(...Object.values(took));
  };
  const deliveries = (await bestOf('ingest, receipts and a spam burst visible', 2_000, 3, deliver)).length;
  // The tick comes every second; on a loaded machine everything above may be visible before the first.
  await waitUntil('a platform tick', 5_000, () => events.some((e) => e.event === 'tick'));

  // SIGTERM: drains and exits 0; restarted, the data is there once.
  feed.abort();
  a.child.kill('SIGTERM');
  assert.equal(await a.exited, 0, a.stderr());
  a = await startInstance(dir);
  const counted = async () => {
    const r = await post(`${a.url}/api/v1/query`, {
      sql: "SELECT toUInt64(count()) AS n, toUInt64(uniqExact(message_id)) AS u FROM messages WHERE startsWith(message_id, 'e2e') OR startsWith(message_id, 'spam')",
    });
    return ((await r.json()) as { rows: string[][] }).rows[0];
  };
  assert.deepStrictEqual(await counted(), [String(50 * deliveries), String(50 * deliveries)]);

  // SIGKILL at random moments while a client posts batches (ids and timestamps its own, re-posting
  // a batch that got no answer): every acknowledged message is stored exactly once.
  const rnd = new Random(7);
  const acked = new Set<string>();
  let next = 0;
  let pending: { message_id: string }[] | undefined;
  const batchOf25 = () =>
    Array.from({ length: 25 }, () => {
      const i = next++;
      return {
        message_id: `k-${i}`,
        content: `kill test ${i}`,
        timestamp: iso(now + i),
        conversation_id: `kc-${i % 5}`,
        sender_id: `ks-${i % 50}`,
        receiver_id: `kr-${i % 7}`,
      };
    });
  /** Posts one batch (the unanswered one again first); true when acknowledged. */
  const postOne = async (): Promise<boolean> => {
    const batch = pending ?? batchOf25();
    pending = batch;
    try {
      const r = await post(`${a.url}/api/v1/messages`, batch);
      if (r.status !== 202) return false;
      for (const m of batch) acked.add(m.message_id);
      pending = undefined;
      return true;
    } catch {
      return false;
    }
  };
  for (let kill = 0; kill < 5; kill++) {
    const killer = setTimeout(() => a.child.kill('SIGKILL'), rnd.int(200, 1_200));
    while (a.child.exitCode === null && a.child.signalCode === null) await postOne();
    clearTimeout(killer);
    await a.exited;
    a = await startInstance(dir);
  }
  while (pending !== undefined) await postOne();
  const ids = [...acked];
  const rows = async (sql: string, params: Record<string, unknown> = {}) => {
    const r = await post(`${a.url}/api/v1/query`, { sql, params });
    return ((await r.json()) as { rows: string[][] }).rows[0]!.map(Number);
  };
  await waitUntil('acknowledged messages stored', 15_000, async () => {
    const [, u] = await rows(
      'SELECT toUInt64(count()), toUInt64(uniqExact(message_id)) FROM messages WHERE message_id IN {ids:Array(String)}',
      { ids },
    );
    return u === ids.length;
  });
  // Every acknowledged id once, and nothing else (every batch was re-posted until acknowledged).
  const [n, u] = await rows(
    "SELECT toUInt64(count()), toUInt64(uniqExact(message_id)) FROM messages WHERE startsWith(message_id, 'k-')",
  );
  t.diagnostic(`acknowledged across 5 SIGKILLs: ${ids.length}`);
  assert.ok(ids.length > 100, `acknowledged ${ids.length}`);
  assert.deepStrictEqual([n, u], [ids.length, ids.length]);
  a.child.kill('SIGTERM');
  assert.equal(await a.exited, 0, a.stderr());
});

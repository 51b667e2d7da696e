import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { main } from '../../src/cli/main.ts';
import { decodeChatMessage, decodeMessageView } from '../../src/events/index.ts';
import { type TrafficTruth, takeTrafficWithTruth } from '../../src/generator/index.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import { bestOf } from '../helpers/latency.ts';
import { BIN } from '../helpers/msgtrack.ts';
import { waitUntil } from '../helpers/wait.ts';
import { readTopic } from '../processors/helpers.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-generate-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const generate = (dir: string, args: string[]) =>
  spawnSync(process.execPath, [BIN, 'generate', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATA_DIR: dir, KAFKA_BROKERS: '' },
  });

async function logContent(dir: string) {
  const log = await openEmbeddedLog({ dataDir: dir });
  try {
    const raw = async (topic: string) =>
      (await readTopic(log, topic)).map(
        (r) => `${r.key?.toString()}\u0000${Buffer.from(r.value ?? '').toString()}`,
      );
    return { messages: await raw('chat.messages'), views: await raw('message-views') };
  } finally {
    await log.close();
  }
}

test('msgtrack generate: valid seed-format traffic, counted exactly, the same bytes and truth as the library gives for the seed', async (t) => {
  const dir = await tempDir(t);
  const start = '2025-11-08T14:00:00Z';
  const r = generate(dir, [
    '--count',
    '3000',
    '--fast',
    '--seed',
    '4',
    '--start',
    start,
    '--quiet',
    '--truth',
    join(dir, 'truth.json'),
  ]);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  const truth = JSON.parse(await readFile(join(dir, 'truth.json'), 'utf8')) as TrafficTruth;
  const log = await logContent(dir);
  for (const m of log.messages) {
    const [key, value] = m.split('\u0000');
    assert.equal(decodeChatMessage(value!).conversation_id, key, 'keyed by conversation');
  }
  for (const v of log.views) decodeMessageView(v.split('\u0000')[1]!);
  // Another process, the same seed and start: the same events, byte for byte (per partition the log
  // keeps their order; across partitions compare as sets).
  const expected = takeTrafficWithTruth(3000, { seed: 4, startMs: Date.parse(start) });
  const raw = (kind: string) =>
    expected.events.filter((e) => e.kind === kind).map((e) => `${e.key}\u0000${JSON.stringify(e.value)}`);
  assert.deepStrictEqual(
    {
      counts: [summary.messages + summary.views, log.messages.length, log.views.length],
      messages: [...log.messages].sort(),
      views: [...log.views].sort(),
      truth,
      firstBurst: truth.spammers.length > 0,
    },
    {
      counts: [3000, summary.messages, summary.views],
      messages: raw('message').sort(),
      views: raw('view').sort(),
      truth: expected.truth,
      firstBurst: true,
    },
  );
});

test('msgtrack generate --fast stops within moments of SIGINT, even with the largest --count', async (t) => {
  // One run usually; a stall of the shared machine (not of the generator) gets another attempt.
  await bestOf('exit after SIGINT', 1000, 3, async () => {
    const dir = await tempDir(t);
    const child = spawn(
      process.execPath,
      [BIN, 'generate', '--fast', '--count', String(Number.MAX_SAFE_INTEGER)],
      {
        env: { ...process.env, DATA_DIR: dir, KAFKA_BROKERS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    t.after(() => child.kill('SIGKILL'));
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitUntil('the generator to create its topics', 30_000, () =>
      existsSync(join(dir, 'log', 'topics', 'chat.messages')),
    );
    await sleep(500);
    const signalledAt = performance.now();
    child.kill('SIGINT');
    const code = await exited;
    const exitMs = performance.now() - signalledAt;
    const summary = JSON.parse(stdout);
    const log = await logContent(dir);
    assert.deepStrictEqual(
      { code, messages: log.messages.length, views: log.views.length },
      { code: 0, messages: summary.messages, views: summary.views },
    );
    // The loop stops within one batch (≲ 50 ms); the rest is closing the log (a final fsync) and exit.
    t.diagnostic(`exited ${exitMs.toFixed(0)} ms after SIGINT`);
    return exitMs;
  });
});

test('msgtrack generate --target posts to a running instance’s API with API_TOKEN', async (t) => {
  const received: { path: string; auth: string | undefined; n: number }[] = [];
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { message_id: string }[];
      received.push({ path: req.url ?? '', auth: req.headers.authorization, n: body.length });
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ accepted: body.length, message_ids: body.map((m) => m.message_id) }));
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => srv.close(() => resolve())));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  const dir = await tempDir(t);
  const token = 'cli-test-token-0123456789';
  // Not spawnSync: this process serves the requests meanwhile.
  const child = spawn(
    process.execPath,
    [BIN, 'generate', '--target', url, '--fast', '--count', '2500', '--quiet'],
    {
      env: { ...process.env, DATA_DIR: dir, KAFKA_BROKERS: '', API_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0, stderr);
  const summary = JSON.parse(stdout);
  const sum = (path: string) => received.filter((x) => x.path === path).reduce((n, x) => n + x.n, 0);
  assert.deepStrictEqual(
    {
      messages: sum('/api/v1/messages'),
      views: sum('/api/v1/views'),
      auth: [...new Set(received.map((x) => x.auth))],
      noLog: existsSync(join(dir, 'log')),
    },
    { messages: summary.messages, views: summary.views, auth: [`Bearer ${token}`], noLog: false },
  );
});

test('msgtrack generate rejects bad flags with a usage error', async () => {
  // In process (each case fails before opening anything): main() and what it writes to stderr.
  const run = async (...args: string[]) => {
    const write = process.stderr.write;
    let stderr = '';
    process.stderr.write = ((chunk: string) => {
      stderr += chunk;
      return true;
    }) as typeof process.stderr.write;
    try {
      return { status: await main(['generate', ...args]), stderr };
    } finally {
      process.stderr.write = write;
    }
  };
  const cases = [
    await run('--count', 'many'),
    await run('--count', '99999999999999999999'),
    await run('--fast'),
    await run('--rate', '0'),
    await run('--users', '100'),
    await run('--rate', '200', '--conversations', '400'),
    await run('--profile', 'seed', '--rate', '5'),
    await run('--profile', 'chaos'),
    await run('--start', '2025-11-08T14:00:00Z'),
    await run('--fast', '--count', '5', '--start', 'yesterday'),
    await run('--target', 'ftp://host', '--count', '5'),
  ];
  assert.deepStrictEqual(
    cases.map((c) => [c.status, c.stderr.trim()]),
    [
      [2, 'msgtrack generate: --count=many is invalid: expected an integer from 1 to 9007199254740991'],
      [
        2,
        'msgtrack generate: --count=99999999999999999999 is invalid: expected an integer from 1 to 9007199254740991',
      ],
      [2, 'msgtrack generate: --fast needs --count or --duration'],
      [2, 'msgtrack generate: --rate=0 is invalid: expected an integer from 1 to 9007199254740991'],
      [
        2,
        'msgtrack generate: --rate, --users, --conversations: 20 messages/s needs at least 349 users, not 100: every ordinary user stays below the spam rule',
      ],
      [
        2,
        'msgtrack generate: --rate, --users, --conversations: 200 messages/s needs at least 3486 users in conversations, but the 400 conversations seat only 1360: more conversations',
      ],
      [
        2,
        'msgtrack generate: --rate does not apply to --profile seed (8 users, 5 conversations, one message every 2 s)',
      ],
      [2, 'msgtrack generate: --profile=chaos is invalid: expected default or seed'],
      [2, 'msgtrack generate: --start needs --fast'],
      [
        2,
        'msgtrack generate: --start=yesterday is invalid: expected an RFC 3339 time such as 2025-11-08T14:00:00Z',
      ],
      [2, 'msgtrack generate: --target=ftp://host is invalid: expected an http(s) URL'],
    ],
  );
});

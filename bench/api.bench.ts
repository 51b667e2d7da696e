/**
 * API benchmark (a script, not a test): the real `msgtrack start --no-generator` as a child (embedded
 * log, chDB, every processor, the API) driven over HTTP by a small keep-alive client of ours.
 *
 * 1. Sustained ingest: POST /api/v1/messages, batches of 100, `--connections` requests in flight,
 *    for `--seconds` (`ingest_rps`: messages acknowledged per second by `msgtrack start`, every
 *    processor in the same process; `ingest_rps_api_only`: `msgtrack api`, no processors). Ids are left to the API (a
 *    client-supplied id costs one primary-key lookup per batch, measured too: `ingest_rps_own_ids`).
 * 2. Latency at 1k and 10k msgs/s (paced batches of 100): accepted (202) → visible in
 *    GET /api/v1/messages/{id} (one id a second, polled every 50 ms), and accepted → alert on the SSE
 *    stream (a burst of 8 messages by a fresh sender every 250 ms: the 8th raises the alert).
 *
 *   npm run bench:api                       # defaults
 *   npm run bench:api -- --seconds 5 --quick
 *
 * Last line: one JSON object (also bench/results/api.json) with ingest_rps, alert_p99_ms,
 * queryable_p99_ms and the per-rate percentiles.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from './args.ts';

const { values: flags } = benchArgs({
  command: 'npm run bench:api --',
  about:
    'The real `msgtrack start --no-generator` (and `msgtrack api`) as a child, driven over HTTP: sustained ingest, then accepted → queryable and accepted → SSE alert latency at 1k and 10k msgs/s.',
  flags: {
    seconds: { type: 'string', default: '10', help: 'seconds of sustained ingest per measurement' },
    connections: { type: 'string', default: '8', help: 'requests in flight (keep-alive connections)' },
    quick: { type: 'boolean', default: false, help: 'shorter latency runs (4 s instead of 8 s)' },
  },
});
const SECONDS = Number(flags.seconds);
const CONNECTIONS = Number(flags.connections);
const LATENCY_SECONDS = flags.quick ? 4 : 8;
const BIN = new URL('../bin/msgtrack.js', import.meta.url).pathname;
const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS + 4 });

function httpCall(url: string, method: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, agent, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function startInstance(
  dir: string,
  command: 'start' | 'api' = 'start',
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, command, ...(command === 'start' ? ['--no-generator'] : [])], {
    env: {
      ...process.env,
      DATA_DIR: dir,
      PORT: '0',
      INGEST_RATE_LIMIT: '0',
      SINK_FLUSH_MS: '250',
      KAFKA_BROKERS: '',
      CLICKHOUSE_URL: '',
      API_TOKEN: '',
      LOG_LEVEL: 'warn',
      STATUS_INTERVAL_MS: '600000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const info = JSON.parse(await readFile(join(dir, 'instance.json'), 'utf8'));
      return { child, url: info.url };
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`start failed: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

let seq = 0;
const base = Date.now();
function batch(n: number, ownIds: boolean, sender?: string): { body: string; ids: string[] } {
  const ids: string[] = [];
  const msgs = [];
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const k = seq++;
    const m: Record<string, unknown> = {
      content: `benchmark message number ${k} about the weekend`,
      timestamp: new Date(now + i).toISOString(),
      conversation_id: `bc-${k % 500}`,
      sender_id: sender ?? `bs-${k % 5000}`,
      receiver_id: `br-${(k + 1) % 5000}`,
    };
    if (ownIds) {
      m.message_id = `b-${base}-${k}`;
      ids.push(m.message_id as string);
    }
    msgs.push(m);
  }
  return { body: JSON.stringify(msgs), ids };
}

async function sustained(url: string, seconds: number, ownIds: boolean): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let accepted = 0;
  let refused = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const r = await httpCall(`${url}/api/v1/messages`, 'POST', batch(100, ownIds).body);
      if (r.status === 202) accepted += 100;
      else refused++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const rps = Math.round(accepted / ((performance.now() - started) / 1000));
  console.log(
    `sustained ingest${ownIds ? ' (client ids)' : ''}: ${rps} msgs/s (${refused} batches refused: 503/429)`,
  );
  return rps;
}

async function drained(url: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const p = JSON.parse((await httpCall(`${url}/api/v1/processors`, 'GET')).body);
    const lag = p.processors.reduce((a: number, x: { lag: number }) => a + x.lag, 0);
    if (lag === 0) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};

/** Paced load at `rate` msgs/s with latency probes; returns the percentiles. */
async function latency(url: string, rate: number) {
  const alertSeen = new Map<string, number>();
  const sse = new AbortController();
  void (async () => {
    const res = await fetch(`${url}/api/v1/stream?types=alert`, { signal: sse.signal });
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body!) {
      buf += dec.decode(chunk as Uint8Array, { stream: true });
      let i = buf.indexOf('\n\n');
      while (i >= 0) {
        const data = /^data: (.*)$/m.exec(buf.slice(0, i))?.[1];
        buf = buf.slice(i + 2);
        if (data) {
          const user = JSON.parse(data).user_id as string;
          if (!alertSeen.has(user)) alertSeen.set(user, performance.now());
        }
        i = buf.indexOf('\n\n');
      }
    }
  })().catch(() => {});
  await new Promise((r) => setTimeout(r, 300));
  const queryable: number[] = [];
  const bursts = new Map<string, number>();
  const probes: Promise<void>[] = [];
  const end = performance.now() + LATENCY_SECONDS * 1000;
  const perTick = rate / 100 / 10; // batches per 100 ms
  let owed = 0;
  let tick = 0;
  while (performance.now() < end) {
    const t0 = performance.now();
    owed += perTick;
    const sends: Promise<void>[] = [];
    while (owed >= 1) {
      owed -= 1;
      // One probe a second: each polls GET /api/v1/messages/{id}, which shares chDB with the sink.
      const probe = tick % 10 === 0 && sends.length === 0;
      const b = batch(100, probe);
      sends.push(
        httpCall(`${url}/api/v1/messages`, 'POST', b.body).then((r) => {
          if (r.status !== 202 || !probe) return;
          const accepted = performance.now();
          const id = JSON.parse(r.body).message_ids[50] as string;
          probes.push(
            (async () => {
              for (let i = 0; i < 1000; i++) {
                if ((await httpCall(`${url}/api/v1/messages/${id}`, 'GET')).status === 200) {
                  queryable.push(performance.now() - accepted);
                  return;
                }
                await new Promise((r2) => setTimeout(r2, 50));
              }
            })(),
          );
        }),
      );
    }
    if (tick % 3 === 0) {
      const spammer = `spam-${rate}-${tick}`;
      const b = batch(8, false, spammer);
      sends.push(
        httpCall(`${url}/api/v1/messages`, 'POST', b.body).then((r) => {
          if (r.status === 202) bursts.set(spammer, performance.now());
        }),
      );
    }
    await Promise.all(sends);
    tick++;
    const wait = 100 - (performance.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(probes);
  await new Promise((r) => setTimeout(r, 2000));
  sse.abort();
  const alerts = [...bursts].flatMap(([user, at]) => {
    const seen = alertSeen.get(user);
    return seen === undefined ? [] : [Math.max(0, seen - at)];
  });
  const out = {
    rate,
    queryable_p50_ms: pct(queryable, 50),
    queryable_p99_ms: pct(queryable, 99),
    queryable_samples: queryable.length,
    alert_p50_ms: pct(alerts, 50),
    alert_p99_ms: pct(alerts, 99),
    alerts_seen: `${alerts.length}/${bursts.size}`,
  };
  console.log(`at ${rate} msgs/s: ${JSON.stringify(out)}`);
  return out;
}

// The API alone (msgtrack api: log + chDB, no processors): what ingest costs by itself.
const apiDir = await mkdtemp(join(tmpdir(), 'msgtrack-bench-api-only-'));
const apiOnly = await startInstance(apiDir, 'api');
console.log(`msgtrack api at ${apiOnly.url} (${CONNECTIONS} connections, batches of 100)`);
const ingestApiOnly = await sustained(apiOnly.url, SECONDS, false);
apiOnly.child.kill('SIGTERM');
await new Promise((r) => apiOnly.child.once('exit', r));
await rm(apiDir, { recursive: true, force: true });

const dir = await mkdtemp(join(tmpdir(), 'msgtrack-bench-api-'));
const { child, url } = await startInstance(dir);
try {
  console.log(`msgtrack start at ${url}: every processor in the same process`);
  const ingestRps = await sustained(url, SECONDS, false);
  await drained(url);
  const ownIds = await sustained(url, Math.max(3, Math.round(SECONDS / 2)), true);
  await drained(url);
  const at1k = await latency(url, 1_000);
  await drained(url);
  const at10k = await latency(url, 10_000);
  const result = {
    bench: 'api',
    ingest_rps: ingestRps,
    ingest_rps_own_ids: ownIds,
    ingest_rps_api_only: ingestApiOnly,
    alert_p99_ms: Math.max(at1k.alert_p99_ms ?? Number.NaN, at10k.alert_p99_ms ?? Number.NaN),
    queryable_p99_ms: Math.max(at1k.queryable_p99_ms ?? Number.NaN, at10k.queryable_p99_ms ?? Number.NaN),
    at_1k: at1k,
    at_10k: at10k,
    connections: CONNECTIONS,
  };
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(new URL('./results/api.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result));
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  agent.destroy();
  await rm(dir, { recursive: true, force: true });
}

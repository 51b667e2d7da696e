/**
 * Storage at scale (a script, not a test): loads messages with ~0.7 views each through the sink's
 * insert path (`insertMessages` / `insertReceipts` with dedup tokens, 50k-message batches, the full
 * schema with every materialized view), and at each size — 1M, 10M, 100M by default — times, on the
 * live parts (no OPTIMIZE): the seed's two queries verbatim on `message_db.messages` and the four API
 * reads (a message by id, a conversation's latest 50 with read status, a sender's latest 50, the
 * message counts of the last hour per minute), and up to 10M the seed queries on the view of
 * migrations 1–6 in the same runs (`v5_view_*`). Prints a progress line per 1M rows loaded and a result
 * line per size; the last line is one JSON object (also bench/results/storage.json, rewritten after
 * each size so that an interrupted run keeps what it measured). The insert rate is given per second
 * of wall time in the inserts (`insert_rows_per_s`) and per second of the process's CPU while loading
 * (`insert_rows_per_cpu_s`: chDB's insert threads and the merges that ran meanwhile, less generating
 * the traffic), which the load of a shared machine disturbs less.
 *
 *   npm run bench:storage                       # 1M, 10M, 100M (hours on 2 shared cores)
 *   npm run bench:storage -- --sizes 1e6,4e6    # other sizes
 *   npm run bench:storage -- --dir /some/dir    # keep the data (default: a temp dir, removed)
 *   npm run bench:storage -- --dir /some/dir --measure-only
 *                                               # no loading: the reads at the size a kept (or
 *                                               # stopped) run reached, on its live parts as left
 *
 * Traffic: 100k users, 500k two-person conversations, one message every 10 ms of event time; views
 * come from the last ~30 min of messages, 70 % by the receiver (some twice), 30 % by someone else,
 * and 1 % name a message of the next batch (a view before its message).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/clock/index.ts';
import {
  conversationHistory,
  insertMessages,
  insertReceipts,
  type MessageRow,
  messageById,
  messageVolume,
  migrate,
  openChdb,
  type ReceiptRow,
  senderMessages,
} from '../src/storage/index.ts';
import { benchArgs } from './args.ts';

const { values: flags } = benchArgs({
  command: 'npm run bench:storage --',
  about:
    "Loads messages with ~0.7 views each through the sink's insert path and, at each size, times the seed's queries and the API's reads on the live parts (hours at 100M on 2 shared cores).",
  flags: {
    sizes: {
      type: 'string',
      default: '1e6,1e7,1e8',
      help: 'comma-separated message counts to load and measure',
    },
    dir: { type: 'string', help: 'keep the data in this dir (default: a temp dir, removed)' },
    'measure-only': {
      type: 'boolean',
      default: false,
      help: 'no loading: the reads at the size a kept (or stopped) run in --dir reached',
    },
  },
});
const SIZES = flags.sizes.split(',').map(Number);
const keepDir = flags.dir;
const measureOnly = flags['measure-only'];
const BATCH = 50_000;
const USERS = 100_000;
const CONVERSATIONS = 500_000;
const STEP_MS = 10;
const T0 = Date.UTC(2026, 0, 1);
const WINDOW = 180_000; // views name one of the last ~30 min of messages
const WORDS =
  'hello world meeting tomorrow lunch project deadline coffee weekend football music travel release deploy review budget launch design photo birthday concert'.split(
    ' ',
  );

/** A 32-bit integer hash (deterministic traffic: message i is always the same message). */
function mix(x: number): number {
  let h = Math.imul(x ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function message(i: number): MessageRow {
  const h = mix(i);
  const conv = h % CONVERSATIONS;
  const a = `user_${conv % USERS}`;
  const b = `user_${(conv * 7 + 1) % USERS}`;
  const [sender, receiver] = (h >>> 20) & 1 ? [a, b] : [b, a];
  const words: string[] = [];
  for (let w = 5 + ((h >>> 8) % 10), k = h; w > 0; w--, k = mix(k)) words.push(WORDS[k % WORDS.length]!);
  return {
    message_id: `msg_${i.toString(36)}`,
    conversation_id: `conv_${conv}`,
    sender_id: sender,
    receiver_id: receiver,
    content: words.join(' '),
    created_at: T0 + i * STEP_MS,
    user_id: sender,
  };
}

/** ~0.7 views per message of batch [from, to): of recent messages, 1 % of the next batch's. */
function views(from: number, to: number): ReceiptRow[] {
  const out: ReceiptRow[] = [];
  const n = Math.round((to - from) * 0.7);
  for (let j = 0; j < n; j++) {
    const h = mix(from * 7 + j);
    const early = h % 100 === 0;
    const i = early ? to + (h % BATCH) : Math.max(0, to - 1 - (h % WINDOW));
    const m = message(i);
    const byReceiver = (h >>> 8) % 10 < 7;
    out.push({
      message_id: m.message_id,
      reader_id: byReceiver ? m.receiver_id : `user_${(h >>> 4) % USERS}`,
      viewed_at: m.created_at + 1000 + ((h >>> 12) % 600_000),
      device: (h >>> 3) & 1 ? 'mobile' : 'web',
    });
  }
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.floor(s.length / 2)]!.toFixed(1));
};

/** CPU time of this process (every thread, chDB's included), in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const SEED_HOURLY = `SELECT toStartOfHour(created_at) AS hour, count(*) AS messages
FROM message_db.messages GROUP BY hour ORDER BY hour DESC;`;
const SEED_READ_RATE = `SELECT sender_id, count(*) AS sent, countIf(read_status = 'read') AS read_count,
       round(read_count * 100.0 / sent, 2) AS read_rate
FROM message_db.messages GROUP BY sender_id;`;

const dataDir = keepDir ?? (await mkdtemp(join(tmpdir(), 'storage-bench-')));
await mkdir(dataDir, { recursive: true });
const ch = await openChdb({ dataDir });
// A kept store is measured as its run left it (its schema too).
if (!measureOnly) await migrate(ch, { clock: systemClock });
// The `messages` view of migrations 1–6, for comparison (the tables it joins are still filled).
await ch.command(`CREATE VIEW IF NOT EXISTS message_db.messages_v5 AS
  SELECT m.message_id AS message_id, m.sender_id AS sender_id, m.created_at AS created_at,
         if(r.first_read IS NULL, 'sent', 'read') AS read_status, r.first_read AS read_at
  FROM message_db.messages_base AS m FINAL
  LEFT JOIN (SELECT read_key, toNullable(min(first_viewed_at)) AS first_read
             FROM message_db.message_receipts GROUP BY read_key) AS r ON m.read_key = r.read_key`);
const result: Record<string, unknown> = { bench: 'storage', engine: 'chdb', sizes: {} };
const sizes = result.sizes as Record<string, unknown>;
const label = (n: number): string => (n >= 1e6 ? `${n / 1e6}m` : `${n / 1e3}k`);
let loaded = 0;
if (measureOnly) {
  // Message i is created at T0 + i × STEP_MS and batches are inserted in order, whole (the views of the
  // last one may be missing if the run was stopped between its two inserts).
  const [last] = await ch.query<{ ms: string }>(
    'SELECT toString(toUnixTimestamp64Milli(max(created_at))) AS ms FROM message_db.message_rows',
  );
  loaded = (Number(last?.ms) - T0) / STEP_MS + 1;
  SIZES.splice(0, SIZES.length, loaded);
}
let loadRows = 0;
let loadMs = 0;
let loadCpuS = 0;
const started = performance.now();
try {
  for (const size of SIZES) {
    // Load up to `size`: each message batch, then its views (the insert of one overlaps generating
    // the next).
    const segmentStart = performance.now();
    const segmentCpu = cpuMs();
    let generateCpu = 0;
    let segmentRows = 0;
    while (loaded < size) {
      const to = Math.min(size, loaded + BATCH);
      const g0 = cpuMs();
      const batch = Array.from({ length: to - loaded }, (_, k) => message(loaded + k));
      const seen = views(loaded, to);
      generateCpu += cpuMs() - g0;
      const t0 = performance.now();
      await insertMessages(ch, batch, `chat.messages/0/${loaded}-${to - 1}`);
      await insertReceipts(ch, seen, `message-views/0/${loaded}-${to - 1}`);
      loadMs += performance.now() - t0;
      segmentRows += batch.length + seen.length;
      loadRows += batch.length + seen.length;
      if (Math.floor(to / 1e6) > Math.floor(loaded / 1e6)) {
        const rate = Math.round(loadRows / (loadMs / 1000));
        console.log(
          `loaded ${to.toLocaleString('en')} messages (${loadRows.toLocaleString('en')} rows, ${rate} rows/s inserting, ${Math.round((performance.now() - started) / 1000)} s)`,
        );
      }
      loaded = to;
    }
    const segmentS = (performance.now() - segmentStart) / 1000;
    // CPU of the whole process while loading (chDB runs in-process: its insert threads and the merges
    // that ran meanwhile), less generating the traffic: a rate the machine's load disturbs less than
    // wall time. Merges still pending when the segment ends are not in it.
    const segmentCpuS = (cpuMs() - segmentCpu - generateCpu) / 1000;
    loadCpuS += segmentCpuS;
    // Reads on the live parts, as a running sink leaves them.
    const parts = await ch.query<{ table: string; parts: string }>(
      `SELECT table, toString(count()) AS parts FROM system.parts
       WHERE database = 'message_db' AND active AND table IN ('message_rows', 'messages_base', 'message_index')
       GROUP BY table ORDER BY table`,
    );
    const hourly: number[] = [];
    const rate: number[] = [];
    for (let r = 0; r < 3; r++) {
      hourly.push(await timed(() => ch.query(SEED_HOURLY)));
      rate.push(await timed(() => ch.query(SEED_READ_RATE)));
    }
    // The same queries on the view of migrations 1–6 (a join over all receipts), in the same
    // interleaved runs, up to 10M (it grows linearly: ~70 s at 100M).
    const oldHourly: number[] = [];
    const oldRate: number[] = [];
    if (size <= 10_000_000) {
      for (let r = 0; r < 3; r++) {
        oldHourly.push(
          await timed(() => ch.query(SEED_HOURLY.replace('message_db.messages ', 'message_db.messages_v5 '))),
        );
        oldRate.push(
          await timed(() =>
            ch.query(SEED_READ_RATE.replace('message_db.messages ', 'message_db.messages_v5 ')),
          ),
        );
      }
    }
    const [check] = await ch.query<{ n: string; read: string }>(
      `SELECT toString(count()) AS n, toString(countIf(read_status = 'read')) AS read FROM message_db.messages`,
    );
    const point: number[] = [];
    const history: number[] = [];
    const sender: number[] = [];
    const range: number[] = [];
    let found = 0;
    for (let r = 0; r < 7; r++) {
      const m = message(mix(r + size) % size);
      point.push(
        await timed(async () => {
          if ((await messageById(ch, m.message_id)) !== undefined) found++;
        }),
      );
      history.push(await timed(() => conversationHistory(ch, m.conversation_id, { limit: 50 })));
      sender.push(await timed(() => senderMessages(ch, m.sender_id, { limit: 50 })));
      const end = T0 + size * STEP_MS;
      range.push(await timed(() => messageVolume(ch, { from: end - 3_600_000, to: end, stepMs: 60_000 })));
    }
    const out = {
      messages: Number(check?.n),
      read: Number(check?.read),
      ...(segmentRows === 0
        ? {}
        : {
            load_s: Number(segmentS.toFixed(1)),
            load_rows_per_s: Math.round(segmentRows / segmentS),
            load_cpu_s: Number(segmentCpuS.toFixed(1)),
            load_rows_per_cpu_s: Math.round(segmentRows / segmentCpuS),
          }),
      parts: Object.fromEntries(parts.map((p) => [p.table, Number(p.parts)])),
      seed_hourly_ms: median(hourly),
      seed_read_rate_ms: median(rate),
      ...(oldHourly.length === 0
        ? {}
        : { v5_view_seed_hourly_ms: median(oldHourly), v5_view_seed_read_rate_ms: median(oldRate) }),
      point_read_ms: median(point),
      point_reads_found: `${found}/${point.length}`,
      conversation_latest_50_ms: median(history),
      sender_latest_50_ms: median(sender),
      last_hour_counts_ms: median(range),
      // The machine's 1/5/15-minute load average when this size's reads ended (2 shared cores).
      load_avg: loadavg().map((l) => Number(l.toFixed(1))),
    };
    sizes[label(size)] = out;
    result[`seed_hourly_ms_${label(size)}`] = out.seed_hourly_ms;
    result[`seed_read_rate_ms_${label(size)}`] = out.seed_read_rate_ms;
    result[`point_read_ms_${label(size)}`] = out.point_read_ms;
    if (loadRows > 0) {
      result.insert_rows_per_s = Math.round(loadRows / (loadMs / 1000));
      result.insert_rows_per_cpu_s = Math.round(loadRows / loadCpuS);
    }
    console.log(`${label(size)}: ${JSON.stringify(out)}`);
    await mkdir('bench/results', { recursive: true });
    await writeFile(
      `bench/results/${measureOnly ? 'storage-measure' : 'storage'}.json`,
      `${JSON.stringify(result, null, 2)}\n`,
    );
  }
} finally {
  await ch.close();
  if (keepDir === undefined) await rm(dataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));

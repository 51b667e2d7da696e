/**
 * Sink benchmark (a script, not a test): rows/s of message and receipt batches into chDB through the
 * storage insert path (`rows_per_s`: 50k-row message batches, each awaited before the next is
 * encoded; `rows_per_s_pipelined`: two in flight; `messages_50k_without_read_rollup`: the same with
 * the materialized view of the sender_read_rate rollup dropped, to show what the rollup costs), the event-loop lag while the engine works, raw insert formats compared, and the
 * seed's two queries on the resulting data, and log → queryable: the clickhouse-sink processor
 * draining generated traffic from the embedded log into chDB (`log_to_queryable_rows_per_s`). Last line: one JSON object (also bench/results/sink.json).
 *
 *   npm run bench:sink                 # 10 × 10k and 10 × 50k message batches, same for receipts
 *   npm run bench:sink -- --quick      # fewer batches
 *   npm run bench:sink -- --designs    # also time the read-receipt designs at 1M messages + 1M receipts
 *                                      # (the numbers above the DDL in src/storage/schema.ts)
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';
import { platformTopics } from '../src/app/index.ts';
import { systemClock } from '../src/clock/index.ts';
import { generateTraffic, seededFloats as rng } from '../src/generator/index.ts';
import { openEmbeddedLog, type ProducerRecord } from '../src/log/index.ts';
import {
  CLICKHOUSE_SINK_APPLICATION_ID,
  clickhouseSinkTopology,
} from '../src/processors/clickhouse-sink/index.ts';
import {
  type ClickHouse,
  insertMessages,
  insertReceipts,
  type MessageRow,
  migrate,
  openChdb,
  type ReceiptRow,
  toDateTime64,
} from '../src/storage/index.ts';
import { StreamsRuntime } from '../src/streams/index.ts';
import { benchArgs } from './args.ts';

const { values: flags } = benchArgs({
  command: 'npm run bench:sink --',
  about:
    'Rows/s of message and receipt batches into chDB through the storage insert path, the seed queries on the result, and log → queryable through the clickhouse-sink.',
  flags: {
    quick: { type: 'boolean', default: false, help: 'fewer batches (3 instead of 10 per size)' },
    designs: {
      type: 'boolean',
      default: false,
      help: 'also time the read-receipt designs at 1M messages + 1M receipts (slow)',
    },
  },
});
const { quick, designs } = flags;
const BATCHES = quick ? 3 : 10;
const USERS = 5_000;
const CONVERSATIONS = 20_000;
const WORDS =
  'hello world meeting tomorrow lunch project deadline coffee weekend football music travel release deploy review budget launch design photo birthday concert'.split(
    ' ',
  );
const T0 = Date.UTC(2026, 0, 1);

const rand = rng(42);
const pick = (n: number): number => Math.floor(rand() * n);

let nextId = 0;
const sent: MessageRow[] = [];
function makeMessages(n: number): MessageRow[] {
  const rows = new Array<MessageRow>(n);
  for (let i = 0; i < n; i++) {
    const conv = pick(CONVERSATIONS);
    // Stable participants per conversation: users conv % USERS and (conv * 7 + 1) % USERS.
    const a = `user_${conv % USERS}`;
    const b = `user_${(conv * 7 + 1) % USERS}`;
    const [sender, receiver] = rand() < 0.5 ? [a, b] : [b, a];
    const words: string[] = [];
    for (let w = 5 + pick(15); w > 0; w--) words.push(WORDS[pick(WORDS.length)]!);
    const id = nextId++;
    rows[i] = {
      message_id: `msg_${id.toString(36)}_${Math.floor(rand() * 1e9).toString(36)}`,
      conversation_id: `conv_${conv}`,
      sender_id: sender,
      receiver_id: receiver,
      content: words.join(' '),
      created_at: T0 + id * 20,
      message_type: 'text',
      user_id: sender,
      event_type: 'message_sent',
    };
    sent.push(rows[i]!);
  }
  return rows;
}
function makeReceipts(n: number): ReceiptRow[] {
  const rows = new Array<ReceiptRow>(n);
  for (let i = 0; i < n; i++) {
    const m = sent[pick(sent.length)]!;
    rows[i] = {
      message_id: m.message_id,
      reader_id: rand() < 0.7 ? m.receiver_id : `user_${pick(USERS)}`,
      viewed_at: m.created_at + 1000 + pick(60_000),
      device: rand() < 0.6 ? 'mobile' : 'web',
    };
  }
  return rows;
}

/** Max event-loop delay (ms) while `fn` runs, sampled every 5 ms. */
async function withLag<T>(fn: () => Promise<T>): Promise<{ value: T; maxLagMs: number }> {
  let maxLagMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxLagMs = Math.max(maxLagMs, now - last - 5);
    last = now;
  }, 5);
  try {
    const value = await fn();
    return { value, maxLagMs };
  } finally {
    clearInterval(timer);
  }
}

interface PathResult {
  batch_rows: number;
  batches: number;
  /** One insert at a time, each awaited: encode + engine, nothing overlapped. */
  sequential_rows_per_s: number;
  /** Two inserts in flight: the next batch is encoded while the engine writes the previous one. */
  pipelined_rows_per_s: number;
  max_event_loop_lag_ms: number;
}

function insertBatch(
  ch: ClickHouse,
  kind: 'messages' | 'receipts',
  batch: object[],
  token: string,
): Promise<unknown> {
  return kind === 'messages'
    ? insertMessages(ch, batch as MessageRow[], token)
    : insertReceipts(ch, batch as ReceiptRow[], token);
}

async function runPath(
  ch: ClickHouse,
  kind: 'messages' | 'receipts',
  batchRows: number,
  batches: number,
): Promise<PathResult> {
  const make = (): object[] => (kind === 'messages' ? makeMessages(batchRows) : makeReceipts(batchRows));
  let seqMs = 0;
  let lag = 0;
  for (let b = 0; b < batches; b++) {
    const batch = make();
    const t0 = performance.now();
    const { maxLagMs } = await withLag(() =>
      insertBatch(ch, kind, batch, `${kind}/seq/${batchRows}/${b}/${nextId}`),
    );
    seqMs += performance.now() - t0;
    lag = Math.max(lag, maxLagMs);
  }
  const prepared = Array.from({ length: batches }, make);
  const t0 = performance.now();
  const { maxLagMs } = await withLag(async () => {
    let previous: Promise<unknown> = Promise.resolve();
    for (const [b, batch] of prepared.entries()) {
      const current = insertBatch(ch, kind, batch, `${kind}/pipe/${batchRows}/${b}/${nextId}`);
      await previous;
      previous = current;
    }
    await previous;
  });
  const pipeMs = performance.now() - t0;
  lag = Math.max(lag, maxLagMs);
  const rows = batchRows * batches;
  return {
    batch_rows: batchRows,
    batches,
    sequential_rows_per_s: Math.round(rows / (seqMs / 1000)),
    pipelined_rows_per_s: Math.round(rows / (pipeMs / 1000)),
    max_event_loop_lag_ms: Number(lag.toFixed(1)),
  };
}

/** Raw chDB insert formats side by side, on a scratch table without views (engine cost only). */
async function compareFormats(session: Session): Promise<Record<string, number>> {
  session.query(`CREATE TABLE IF NOT EXISTS message_db.bench_formats AS message_db.messages_base
    ENGINE = MergeTree PARTITION BY toYYYYMM(created_at) ORDER BY (conversation_id, created_at, message_id)`);
  const rows = makeMessages(50_000).map((r) => ({ ...r, created_at: toDateTime64(r.created_at) }));
  const cols = Object.keys(rows[0]!);
  const tsvEscape = (v: string): string =>
    v.replaceAll('\\', '\\\\').replaceAll('\t', '\\t').replaceAll('\n', '\\n');
  const encoders: Record<string, () => Buffer> = {
    JSONEachRow: () => Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n')),
    JSONCompactEachRow: () =>
      Buffer.from(
        rows.map((r) => JSON.stringify(cols.map((c) => (r as Record<string, unknown>)[c]))).join('\n'),
      ),
    TSV: () =>
      Buffer.from(
        rows
          .map((r) => cols.map((c) => tsvEscape(String((r as Record<string, unknown>)[c]))).join('\t'))
          .join('\n'),
      ),
  };
  const out: Record<string, number> = {};
  for (const [format, encode] of Object.entries(encoders)) {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const payload = encode();
      await session.insert({
        table: 'message_db.bench_formats',
        values: payload,
        format: format as 'JSONEachRow',
        columns: cols,
      });
      best = Math.min(best, performance.now() - t0);
    }
    out[format] = Math.round(rows.length / (best / 1000));
  }
  session.query('DROP TABLE message_db.bench_formats');
  return out;
}

/**
 * The candidate designs for read receipts, side by side on one engine: 1M messages and 1M receipts
 * (70 % by the receiver), 10 inserts each, built in SQL. For each: the seed's two queries (best of 2,
 * ms) and, for the UPDATE design, the time of one batched lightweight UPDATE of 10k receipts.
 */
async function compareDesigns(session: Session): Promise<Record<string, unknown>> {
  const N = 1_000_000;
  const q = async (sql: string, params?: Record<string, unknown>): Promise<number> => {
    const t0 = performance.now();
    if (params === undefined) await session.queryAsync(sql, { format: 'Null' });
    else await session.queryBindAsync(sql, params, { format: 'Null' });
    return performance.now() - t0;
  };
  const cols = `message_id String, conversation_id String, sender_id String, receiver_id String, content String,
    created_at DateTime64(3, 'UTC'), message_type LowCardinality(String) DEFAULT 'text', user_id String DEFAULT '',
    event_type LowCardinality(String) DEFAULT 'message_sent'`;
  const key = 'PARTITION BY toYYYYMM(created_at) ORDER BY (conversation_id, created_at, message_id)';
  const fill = (table: string, from: number, n: number): string =>
    `INSERT INTO design.${table} (message_id, conversation_id, sender_id, receiver_id, content, created_at)
     SELECT 'm' || toString(number), 'c' || toString(number % 20000), 'u' || toString(number % 5000),
            'u' || toString((number * 7 + 1) % 5000), 'hello world content ' || toString(number),
            toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(number * 2500)
     FROM numbers(${from}, ${n})`;
  await q('DROP DATABASE IF EXISTS design');
  await q('CREATE DATABASE design');
  await q(`CREATE TABLE design.base_mt (${cols}) ENGINE = MergeTree ${key}`);
  await q(`CREATE TABLE design.base_rmt (${cols}) ENGINE = ReplacingMergeTree ${key}`);
  await q(`CREATE TABLE design.lw (${cols}, read_status LowCardinality(String) DEFAULT 'sent',
    read_at Nullable(DateTime64(3, 'UTC'))) ENGINE = MergeTree ${key}
    SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1`);
  await q(`CREATE TABLE design.receipts (message_id String, reader_id String,
    first_viewed_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')))
    ENGINE = AggregatingMergeTree ORDER BY (message_id, reader_id)`);
  for (let i = 0; i < 10; i++) {
    for (const t of ['base_mt', 'base_rmt', 'lw']) await q(fill(t, (i * N) / 10, N / 10));
    await q(`INSERT INTO design.receipts
      SELECT 'm' || toString(number % ${N}),
             if(number % 10 < 7, 'u' || toString(((number % ${N}) * 7 + 1) % 5000), 'u' || toString(number % 4999)),
             toDateTime64('2026-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond((number % ${N}) * 2500 + 1000)
      FROM numbers(${(i * N) / 10}, ${N / 10})`);
  }
  const select = `m.message_id AS message_id, m.conversation_id AS conversation_id, m.sender_id AS sender_id,
    m.receiver_id AS receiver_id, m.content AS content, m.created_at AS created_at, m.message_type AS message_type,
    m.user_id AS user_id, m.event_type AS event_type`;
  const views: Record<string, string> = {
    join_string_keys: `SELECT ${select}, if(r.first_read IS NULL, 'sent', 'read') AS read_status, r.first_read AS read_at
      FROM design.base_mt AS m LEFT JOIN (SELECT message_id, reader_id, toNullable(min(first_viewed_at)) AS first_read
      FROM design.receipts GROUP BY message_id, reader_id) AS r
      ON m.message_id = r.message_id AND m.receiver_id = r.reader_id`,
    join_hash_key: `SELECT ${select}, if(r.first_read IS NULL, 'sent', 'read') AS read_status, r.first_read AS read_at
      FROM design.base_mt AS m LEFT JOIN (SELECT sipHash128(message_id, reader_id) AS k,
      toNullable(min(first_viewed_at)) AS first_read FROM design.receipts GROUP BY k) AS r
      ON sipHash128(m.message_id, m.receiver_id) = r.k`,
    join_hash_key_final: `SELECT ${select}, if(r.first_read IS NULL, 'sent', 'read') AS read_status, r.first_read AS read_at
      FROM design.base_rmt AS m FINAL LEFT JOIN (SELECT sipHash128(message_id, reader_id) AS k,
      toNullable(min(first_viewed_at)) AS first_read FROM design.receipts GROUP BY k) AS r
      ON sipHash128(m.message_id, m.receiver_id) = r.k`,
    correlated_subquery: `SELECT ${select}, (SELECT min(r.first_viewed_at) FROM design.receipts AS r
      WHERE r.message_id = m.message_id AND r.reader_id = m.receiver_id) AS read_at,
      if(read_at IS NULL, 'sent', 'read') AS read_status FROM design.base_mt AS m
      SETTINGS allow_experimental_correlated_subqueries = 1`,
  };
  const hourly = (t: string): string =>
    `SELECT toStartOfHour(created_at) AS hour, count(*) AS messages FROM design.${t} GROUP BY hour ORDER BY hour DESC`;
  const rate = (t: string): string =>
    `SELECT sender_id, count(*) AS sent, countIf(read_status = 'read') AS read_count,
     round(read_count * 100.0 / sent, 2) AS read_rate FROM design.${t} GROUP BY sender_id`;
  const best = async (sql: string): Promise<number> =>
    Number(Math.min(await q(sql), await q(sql)).toFixed(1));
  const out: Record<string, unknown> = { messages: N, receipts: N };
  out['plain_mergetree_no_read_state'] = { hourly_ms: await best(hourly('base_mt')) };
  for (const [name, sql] of Object.entries(views)) {
    await q(`CREATE VIEW design.${name} AS ${sql}`);
    out[`view_${name}`] = { hourly_ms: await best(hourly(name)), read_rate_ms: await best(rate(name)) };
  }
  const updates: number[] = [];
  for (let b = 0; b < 5; b++) {
    const m: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) m[`m${pick(N)}`] = '2026-02-01 00:00:00.000';
    updates.push(
      await q(
        `UPDATE design.lw SET read_status = 'read',
           read_at = if(read_at IS NULL, {m:Map(String, DateTime64(3, 'UTC'))}[message_id],
                        least(read_at, {m:Map(String, DateTime64(3, 'UTC'))}[message_id]))
         WHERE message_id IN mapKeys({m:Map(String, DateTime64(3, 'UTC'))})`,
        { m },
      ),
    );
  }
  out['lightweight_update_per_10k_batch'] = {
    update_ms: updates.map((ms) => Math.round(ms)),
    hourly_ms: await best(hourly('lw')),
    read_rate_ms: await best(rate('lw')),
  };
  await q('DROP DATABASE design');
  return out;
}

async function timeQuery(ch: ClickHouse, sql: string): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await ch.query(sql);
    best = Math.min(best, performance.now() - t0);
  }
  return Number(best.toFixed(1));
}

/**
 * Log → queryable: generated traffic already on the embedded log, the clickhouse-sink processor run
 * from the first offset until every row is committed and counted in ClickHouse. Rows are messages
 * plus views (both tables), per second of wall time.
 */
async function logToQueryable(ch: ClickHouse, events: number): Promise<Record<string, number>> {
  const database = 'bench_e2e';
  await migrate(ch, { clock: systemClock, database });
  const logDir = await mkdtemp(join(tmpdir(), 'sink-bench-log-'));
  const log = await openEmbeddedLog({ dataDir: logDir });
  try {
    await log.createTopics(platformTopics());
    const producer = log.producer();
    let batch = new Map<string, ProducerRecord[]>();
    let n = 0;
    let messages = 0;
    for (const e of generateTraffic({ seed: 9, messagesPerSecond: 200 })) {
      if (n++ >= events) break;
      if (e.kind === 'message') messages++;
      const list = batch.get(e.topic) ?? [];
      list.push({ key: e.key, value: JSON.stringify(e.value), timestamp: e.timeMs });
      batch.set(e.topic, list);
      if (n % 10_000 === 0) {
        for (const [topic, records] of batch) await producer.send(topic, records);
        batch = new Map();
      }
    }
    for (const [topic, records] of batch) await producer.send(topic, records);
    const started = performance.now();
    const runtime = new StreamsRuntime({
      log,
      applicationId: CLICKHOUSE_SINK_APPLICATION_ID,
      commitIntervalMs: 1000,
      topology: clickhouseSinkTopology({ ch, log }, { database, batchRows: 50_000 }),
    });
    await runtime.start();
    const count = async () =>
      Number((await ch.query<{ n: string }>(`SELECT count() AS n FROM ${database}.messages_base`))[0]?.n);
    while ((await count()) < messages) await new Promise((r) => setTimeout(r, 50));
    const seconds = (performance.now() - started) / 1000;
    await runtime.stop();
    return {
      events,
      messages,
      seconds: Number(seconds.toFixed(2)),
      rows_per_s: Math.round(events / seconds),
    };
  } finally {
    await log.close();
    await rm(logDir, { recursive: true, force: true });
  }
}

const dataDir = await mkdtemp(join(tmpdir(), 'sink-bench-'));
try {
  const ch = await openChdb({ dataDir });
  await migrate(ch, { clock: systemClock });
  const m10 = await runPath(ch, 'messages', 10_000, BATCHES);
  const m50 = await runPath(ch, 'messages', 50_000, BATCHES);
  const r10 = await runPath(ch, 'receipts', 10_000, BATCHES);
  const r50 = await runPath(ch, 'receipts', 50_000, BATCHES);
  const e2e = await logToQueryable(ch, quick ? 100_000 : 400_000);
  console.log(
    `log → queryable (clickhouse-sink on the embedded log): ${e2e.rows_per_s} rows/s (${e2e.events} events in ${e2e.seconds} s)`,
  );
  // A retried batch (same rows, same token) is dropped: messages_base keeps its row count.
  const replayRows = makeMessages(10_000);
  await insertMessages(ch, replayRows, 'messages/replay/0-9999');
  const countBase = async (): Promise<number> =>
    Number((await ch.query<{ n: string }>('SELECT count() AS n FROM message_db.messages_base'))[0]?.n);
  const before = await countBase();
  await insertMessages(ch, replayRows, 'messages/replay/0-9999');
  const replaySameTokenDropped = (await countBase()) === before;
  const session = new Session(join(dataDir, 'clickhouse'));
  const formats = await compareFormats(session);
  const designCandidates = designs ? await compareDesigns(session) : undefined;
  session.close();
  const hourlyMs = await timeQuery(
    ch,
    `SELECT toStartOfHour(created_at) AS hour, count(*) AS messages
FROM message_db.messages GROUP BY hour ORDER BY hour DESC`,
  );
  const readRateMs = await timeQuery(
    ch,
    `SELECT sender_id, count(*) AS sent, countIf(read_status = 'read') AS read_count,
       round(read_count * 100.0 / sent, 2) AS read_rate
FROM message_db.messages GROUP BY sender_id`,
  );
  const [counts] = await ch.query<{ messages: string; views: string }>(
    `SELECT (SELECT count() FROM message_db.messages_base) AS messages,
            (SELECT count() FROM message_db.message_views) AS views`,
  );
  // Last, since it changes the schema: the message path without the read-rate rollup's view.
  await ch.command('DROP VIEW message_db.sender_read_rate_mv');
  const withoutRollup = (await runPath(ch, 'messages', 50_000, BATCHES)).sequential_rows_per_s;
  await ch.close();
  const result = {
    bench: 'sink',
    engine: 'chdb',
    rows_per_s: m50.sequential_rows_per_s,
    rows_per_s_pipelined: m50.pipelined_rows_per_s,
    messages_50k_without_read_rollup: withoutRollup,
    messages_10k: m10,
    messages_50k: m50,
    receipts_10k: r10,
    receipts_50k: r50,
    log_to_queryable_rows_per_s: e2e.rows_per_s,
    log_to_queryable: e2e,
    replay_same_token_dropped: replaySameTokenDropped,
    raw_format_rows_per_s_50k: formats,
    seed_query_ms: { hourly_volume: hourlyMs, read_rate_per_sender: readRateMs },
    table_rows: { messages: Number(counts?.messages), message_views: Number(counts?.views) },
    ...(designCandidates === undefined ? {} : { design_candidates: designCandidates }),
  };
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/sink.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result));
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

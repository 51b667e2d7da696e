import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock/index.ts';
import { takeTraffic } from '../../src/generator/index.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import {
  CLICKHOUSE_SINK_APPLICATION_ID,
  createClickHouseSink,
} from '../../src/processors/clickhouse-sink/index.ts';
import { type ClickHouse, migrate, openChdb } from '../../src/storage/index.ts';
import { BIN } from '../helpers/msgtrack.ts';
import { caughtUp, produce, rawOf, tempDir, waitFor } from '../processors/helpers.ts';
import { damageAPart } from '../storage/helpers.ts';

const INPUTS = ['chat.messages', 'message-views'];

async function tableCounts(ch: ClickHouse): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['messages_base', 'message_views']) {
    const [row] = await ch.query<{ n: string }>(`SELECT count() AS n FROM message_db.${t}`);
    out[t] = Number(row!.n);
  }
  return out;
}

/**
 * Generated traffic into the embedded log of `dir`, ingested by the sink into chDB there; `then`
 * runs on the store before both are closed. Returns the tables' row counts.
 */
async function ingested(
  dir: string,
  seed: number,
  then: (ch: ClickHouse) => Promise<void>,
): Promise<Record<string, number>> {
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  await produce(log, takeTraffic(1500, { seed, messagesPerSecond: 5 }).map(rawOf));
  const ch = await openChdb({ dataDir: dir });
  await migrate(ch, { clock: new ManualClock(Date.UTC(2026, 0, 1)) });
  const sink = createClickHouseSink({ ch, log }, { flushMs: 100 });
  await sink.start();
  await waitFor(() => caughtUp(log, CLICKHOUSE_SINK_APPLICATION_ID, INPUTS), 60_000, 'the sink to catch up');
  await sink.stop();
  const counts = await tableCounts(ch);
  await then(ch);
  await ch.close();
  await log.close();
  return counts;
}

test('msgtrack replay re-ingests a lost store from the log, exactly once; bad topics are usage errors', async (t) => {
  const dir = await tempDir(t, 'msgtrack-replay-');
  const expected = await ingested(dir, 5, async () => undefined);
  await rm(join(dir, 'clickhouse'), { recursive: true, force: true });

  const run = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'replay', ...args], {
      encoding: 'utf8',
      // No TTL: the generated traffic is dated months back, and retention would drop it.
      env: {
        ...process.env,
        DATA_DIR: dir,
        CLICKHOUSE_URL: '',
        KAFKA_BROKERS: '',
        RETENTION_MESSAGES_DAYS: '0',
        RETENTION_VIEWS_DAYS: '0',
      },
    });
  const replay = run();
  const again = run(); // a second replay skips everything: the sink's progress says it is in
  const bogus = run('no-such-topic');
  const ch = await openChdb({ dataDir: dir });
  t.after(() => ch.close());
  assert.deepStrictEqual(
    {
      replay: [replay.status, JSON.parse(replay.stdout || 'null')],
      again: [again.status, JSON.parse(again.stdout || 'null')],
      bogus: [bogus.status, bogus.stderr.trim()],
      tables: await tableCounts(ch),
    },
    {
      replay: [0, { topics: INPUTS, emptied: [], rows: expected }],
      again: [0, { topics: INPUTS, emptied: [], rows: expected }],
      bogus: [
        2,
        'msgtrack replay: not a topic the clickhouse-sink ingests: no-such-topic (expected chat.messages, message-views, conversation-metrics, trending-words, user-activity-metrics, anomaly-alerts)',
      ],
      tables: expected,
    },
    replay.stderr,
  );
});

test('msgtrack start on a damaged store: the detached part is logged, start refused naming replay --rebuild, which repairs', async (t) => {
  const dir = await tempDir(t, 'msgtrack-damaged-');
  let part = '';
  const expected = await ingested(dir, 6, async (ch) => {
    part = await damageAPart(ch);
  });

  const env = {
    ...process.env,
    DATA_DIR: dir,
    CLICKHOUSE_URL: '',
    KAFKA_BROKERS: '',
    RETENTION_MESSAGES_DAYS: '0',
    RETENTION_VIEWS_DAYS: '0',
  };
  const msgtrack = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });
  const start = msgtrack('start', '--no-generator');
  const rebuild = msgtrack('replay', '--rebuild', 'chat.messages');
  const ch = await openChdb({ dataDir: dir });
  t.after(() => ch.close());
  assert.deepStrictEqual(
    {
      start: start.status,
      rebuild: [rebuild.status, JSON.parse(rebuild.stdout || 'null')?.topics],
      tables: await tableCounts(ch),
      detachedLeft: await ch.query("SELECT name FROM system.detached_parts WHERE database = 'message_db'"),
    },
    { start: 1, rebuild: [0, INPUTS], tables: expected, detachedLeft: [] },
    `${start.stderr}\n${rebuild.stderr}`,
  );
  assert.match(
    start.stderr,
    new RegExp(
      `warn\\W.*storage: part broken-on-start_${part} of message_db\\.messages_base is detached \\(broken-on-start\\)`,
    ),
  );
  assert.match(
    start.stderr,
    /msgtrack start: ClickHouse does not hold what the log says.*`msgtrack replay --rebuild chat\.messages`/,
  );
});

import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../../src/clock/index.ts';
import { isAppError } from '../../../src/errors/index.ts';
import { takeTraffic } from '../../../src/generator/index.ts';
import { type Log, openEmbeddedLog } from '../../../src/log/index.ts';
import {
  CLICKHOUSE_SINK_APPLICATION_ID,
  checkStore,
  createClickHouseSink,
  prepareReplay,
} from '../../../src/processors/clickhouse-sink/index.ts';
import { type ClickHouse, detachedParts, migrate, openChdb } from '../../../src/storage/index.ts';
import { damageAPart } from '../../storage/helpers.ts';
import { caughtUp, produce, rawOf, tempDir, waitFor } from '../helpers.ts';

const INPUTS = ['chat.messages', 'message-views'];
const clock = new ManualClock(Date.UTC(2026, 0, 1));

async function openStore(dataDir: string): Promise<ClickHouse> {
  const ch = await openChdb({ dataDir });
  await migrate(ch, { clock });
  return ch;
}

async function runSink(log: Log, ch: ClickHouse): Promise<void> {
  const runtime = createClickHouseSink({ ch, log }, { batchRows: 2000, flushMs: 100, outputs: [] });
  await runtime.start();
  try {
    await waitFor(
      () => caughtUp(log, CLICKHOUSE_SINK_APPLICATION_ID, INPUTS),
      60_000,
      'the sink to catch up',
    );
  } finally {
    await runtime.stop();
  }
  assert.equal(runtime.failure, undefined);
}

/** What the sink's tables hold (and what the materialized views made of it), order-free. */
async function contents(ch: ClickHouse): Promise<unknown> {
  const q = (sql: string) => ch.query(sql);
  return {
    messages: await q(
      'SELECT message_id, sender_id, content, toString(created_at) AS t FROM message_db.messages_base FINAL ORDER BY message_id',
    ),
    messageRows: await q('SELECT count() AS n FROM message_db.messages_base'),
    views: await q(
      'SELECT message_id, reader_id, toString(viewed_at) AS t FROM message_db.message_views ORDER BY message_id, reader_id, t',
    ),
    readRate: await q(
      'SELECT sender_id, sent, read_count FROM message_db.sender_read_rate_total ORDER BY sender_id',
    ),
    index: await q('SELECT count() AS n FROM message_db.message_index FINAL'),
    // The read rollups (migration 9) count each message and each read once.
    readRollups: await q(
      `SELECT toString(sum(messages)) AS n, toString(sum(reads)) AS read_count,
              sum(reads) = (SELECT countIf(read_status = 'read') FROM message_db.messages) AS exact
       FROM message_db.hourly_totals`,
    ),
    // The hourly rollup counts each message once (migration 8): its total is the messages' count.
    hourly: await q(
      `SELECT toString(sum(messages)) AS n,
              sum(messages) = (SELECT count() FROM message_db.messages_base FINAL) AS exact
       FROM message_db.conversation_hourly`,
    ),
  };
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await p };
  } catch (err) {
    return isAppError(err) ? { code: err.code, message: err.message } : { foreign: String(err) };
  }
}

test('storage follows the log: a lost store is re-ingested; a damaged one is refused, then rebuilt by replay', async (t) => {
  const log = await openEmbeddedLog({ dataDir: await tempDir(t, 'store-log-'), fsync: 'never' });
  t.after(() => log.close());
  const dataDir = await tempDir(t, 'store-chdb-');
  const traffic = takeTraffic(4500, { seed: 7, messagesPerSecond: 5 }).map(rawOf);
  await produce(log, traffic.slice(0, 3000));

  let ch = await openStore(dataDir);
  await runSink(log, ch);
  const expected = await contents(ch);

  // 1. Replay on an intact store: the sink's progress skips everything, no row is added.
  await prepareReplay(ch, log, INPUTS);
  await runSink(log, ch);
  const afterReplay = await contents(ch);

  // 2. A store restored from a backup while the log and the group went on: behind the offsets.
  await ch.close();
  const backup = await tempDir(t, 'store-backup-');
  await cp(join(dataDir, 'clickhouse'), join(backup, 'clickhouse'), { recursive: true });
  ch = await openStore(dataDir);
  await produce(log, traffic.slice(3000));
  await runSink(log, ch);
  const full = await contents(ch);
  assert.notDeepStrictEqual(full, expected, 'the second traffic added rows');
  assert.equal((full as { hourly: { exact: number }[] }).hourly[0]?.exact, 1);
  assert.equal((full as { readRollups: { exact: number }[] }).readRollups[0]?.exact, 1);
  await ch.close();
  await rm(join(dataDir, 'clickhouse'), { recursive: true, force: true });
  await cp(join(backup, 'clickhouse'), join(dataDir, 'clickhouse'), { recursive: true });
  ch = await openStore(dataDir);
  const behindBefore = await contents(ch);
  const behind = await checkStore(ch, log);
  await runSink(log, ch);
  const afterBehind = await contents(ch);

  // 3. DATA_DIR/clickhouse removed: the tables come back empty, the log still holds everything.
  await ch.close();
  await rm(join(dataDir, 'clickhouse'), { recursive: true, force: true });
  ch = await openStore(dataDir);
  const lost = await checkStore(ch, log);
  await runSink(log, ch);
  const afterLost = await contents(ch);

  // 4. One part of messages_base damaged: the engine detaches it at start; the check refuses.
  const damaged = await damageAPart(ch);
  await ch.close();
  ch = await openStore(dataDir);
  t.after(() => ch.close());
  const detached = await detachedParts(ch);
  const refused = await outcome(checkStore(ch, log));
  const plan = await prepareReplay(ch, log, ['chat.messages'], { rebuild: true });
  await runSink(log, ch);
  const afterRebuild = await contents(ch);
  const cleanAfterRebuild = await outcome(checkStore(ch, log));

  assert.deepStrictEqual(
    {
      afterReplay,
      behind: {
        wasBehind: JSON.stringify(behindBefore) === JSON.stringify(expected),
        warnings: behind.warnings.map((w) => w.replace(/ \(.*\)/, '')),
      },
      afterBehind,
      lost: { warnings: lost.warnings.length, reset: lost.reset.every((r) => r.offset === 0) },
      afterLost,
      detached: detached.map((d) => ({
        table: d.table,
        reason: d.reason,
        damaged: d.name.endsWith(damaged),
      })),
      refusedCode: (refused as { code?: string }).code,
      plan: { topics: plan.topics, emptied: plan.emptied },
      afterRebuild,
      cleanAfterRebuild,
    },
    {
      afterReplay: expected,
      behind: {
        wasBehind: true,
        warnings: [
          'storage: message_db.messages_base is behind the offsets clickhouse-sink committed for chat.messages: re-ingesting from there',
          'storage: message_db.message_views is behind the offsets clickhouse-sink committed for message-views: re-ingesting from there',
        ],
      },
      afterBehind: full,
      lost: { warnings: 2, reset: true },
      afterLost: full,
      detached: [{ table: 'messages_base', reason: 'broken-on-start', damaged: true }],
      refusedCode: 'STORAGE_DAMAGED',
      // message_rows and the read rollups are filled from messages and views: both
      // topics are rebuilt (conversation_hourly, from messages only, with them).
      plan: {
        topics: ['chat.messages', 'message-views'],
        emptied: [
          'conversation_hourly',
          'conversation_senders',
          'early_views',
          'hourly_totals',
          'message_first_reads',
          'message_index',
          'message_receipts',
          'message_rows',
          'message_views',
          'messages_base',
          'minute_totals',
          'sender_hourly',
          'sender_read_delays',
          'sender_totals',
        ],
      },
      afterRebuild: full,
      cleanAfterRebuild: { ok: { warnings: [], reset: [] } },
    },
  );
  assert.match(
    (refused as { message: string }).message,
    /part \S+ of message_db\.messages_base is detached.*run `msgtrack replay --rebuild chat\.messages`/,
  );
  assert.match(
    lost.warnings[0]!,
    /message_db\.messages_base is empty while clickhouse-sink had committed chat\.messages/,
  );
});

test("storage follows the log: rows deleted behind the sink's progress are refused; duplicates that collapse are not", async (t) => {
  const log = await openEmbeddedLog({ dataDir: await tempDir(t, 'store-rows-log-'), fsync: 'never' });
  t.after(() => log.close());
  const ch = await openStore(await tempDir(t, 'store-rows-chdb-'));
  t.after(() => ch.close());
  const traffic = takeTraffic(1500, { seed: 11, messagesPerSecond: 5 }).map(rawOf);
  await produce(log, traffic);
  // The same events again, inserted under other dedup tokens: messages_base collapses them.
  await produce(log, traffic.slice(0, 300));
  await runSink(log, ch);
  await ch.command('OPTIMIZE TABLE message_db.messages_base FINAL');
  const n = async (sql: string) => Number((await ch.query<{ n: string }>(sql))[0]!.n);
  const inserted = (topic: string) =>
    n(
      `SELECT sum(r) AS n FROM (SELECT argMax(rows, seq) AS r FROM message_db.sink_progress WHERE topic = '${topic}' GROUP BY partition)`,
    );
  const collapsed = {
    messageRows: await n('SELECT count() AS n FROM message_db.messages_base'),
    messagesInserted: await inserted('chat.messages'),
    viewRows: await n('SELECT count() AS n FROM message_db.message_views'),
    viewsInserted: await inserted('message-views'),
  };
  const clean = [await outcome(checkStore(ch, log)), await outcome(checkStore(ch, log))];
  const contentsBefore = await contents(ch);

  const deleteSome = (table: string) =>
    ch.command(
      `ALTER TABLE message_db.${table} DELETE WHERE cityHash64(message_id) % 10 = 0 SETTINGS mutations_sync = 2`,
    );
  await deleteSome('message_views');
  const views = await outcome(checkStore(ch, log));
  await prepareReplay(ch, log, ['message-views'], { rebuild: true });
  await runSink(log, ch);
  const rebuiltViews = await outcome(checkStore(ch, log));

  await deleteSome('messages_base');
  const messages = await outcome(checkStore(ch, log));
  await prepareReplay(ch, log, ['chat.messages'], { rebuild: true });
  await runSink(log, ch);
  const rebuiltMessages = await outcome(checkStore(ch, log));
  await ch.command('OPTIMIZE TABLE message_db.messages_base FINAL');

  const message = (o: unknown) => (o as { message?: string }).message ?? '';
  assert.deepStrictEqual(
    {
      // a row count could not tell these duplicates from deleted rows: the messages table holds fewer
      // rows than were inserted, the views table (never collapses) exactly as many
      collapsed: {
        messagesFewer: collapsed.messageRows < collapsed.messagesInserted,
        viewsEqual: collapsed.viewRows === collapsed.viewsInserted && collapsed.viewRows > 0,
      },
      clean,
      views: (views as { code?: string }).code,
      viewsSays: [
        /message_db\.message_views holds \d+ rows, fewer than the \d+ the sink's progress says it inserted/.test(
          message(views),
        ),
        message(views).includes('msgtrack replay --rebuild message-views`'),
      ],
      rebuiltViews,
      messages: (messages as { code?: string }).code,
      messagesSays: [
        /message_db\.messages_base holds \d+ distinct rows, fewer than the \d+ it held at an earlier start/.test(
          message(messages),
        ),
        message(messages).includes('msgtrack replay --rebuild chat.messages`'),
      ],
      rebuiltMessages,
      contents: await contents(ch),
    },
    {
      collapsed: { messagesFewer: true, viewsEqual: true },
      clean: [{ ok: { warnings: [], reset: [] } }, { ok: { warnings: [], reset: [] } }],
      views: 'STORAGE_DAMAGED',
      viewsSays: [true, true],
      rebuiltViews: { ok: { warnings: [], reset: [] } },
      messages: 'STORAGE_DAMAGED',
      messagesSays: [true, true],
      rebuiltMessages: { ok: { warnings: [], reset: [] } },
      contents: contentsBefore,
    },
  );
});

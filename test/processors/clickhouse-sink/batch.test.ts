import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../src/clock/index.ts';
import { takeTraffic } from '../../../src/generator/index.ts';
import { openEmbeddedLog } from '../../../src/log/index.ts';
import {
  CLICKHOUSE_SINK_APPLICATION_ID,
  createClickHouseSink,
} from '../../../src/processors/clickhouse-sink/index.ts';
import { type ClickHouse, migrate } from '../../../src/storage/index.ts';
import { caughtUp, fileChdb, produce, rawOf, tempDir, waitFor } from '../helpers.ts';

let ch: ClickHouse;
fileChdb('sink-batch-', (c) => {
  ch = c;
});

test('one insert per table and commit for all source partitions, progress in one statement before and after', async (t) => {
  const log = await openEmbeddedLog({ dataDir: await tempDir(t, 'sink-batch-log-'), fsync: 'never' });
  t.after(() => log.close());
  const db = 'sink_batch';
  await migrate(ch, { database: db, clock: new ManualClock(Date.UTC(2026, 0, 1)) });
  const events = takeTraffic(6000, { seed: 3, messagesPerSecond: 20 });
  await produce(log, events.map(rawOf));

  // Every statement the sink sends, in order: [table, rows].
  const statements: [string, readonly object[]][] = [];
  const counting: ClickHouse = {
    kind: ch.kind,
    query: (sql, params) => ch.query(sql, params),
    queryCompact: (sql, options) => ch.queryCompact(sql, options),
    command: (sql, params) => ch.command(sql, params),
    ping: () => ch.ping(),
    close: async () => {},
    insert(table, rows, options) {
      statements.push([table.replace(`${db}.`, ''), rows]);
      return ch.insert(table, rows, options);
    },
  };
  const runtime = createClickHouseSink(
    { ch: counting, log },
    { database: db, batchRows: 4000, flushMs: 150, outputs: [] },
  );
  await runtime.start();
  try {
    await waitFor(
      () => caughtUp(log, CLICKHOUSE_SINK_APPLICATION_ID, ['chat.messages', 'message-views']),
      60_000,
      'the sink to catch up',
    );
  } finally {
    await runtime.stop();
  }
  assert.equal(runtime.failure, undefined);

  // Each data insert sits between two progress statements naming the same batch of partitions:
  // `inserting` before, `inserted` after; a batch of chat.messages covers all its partitions.
  const partitions = (await log.describeTopic('chat.messages')).partitions;
  const shape = statements.map(([table]) => (table === 'sink_progress' ? 'p' : 'i')).join('');
  assert.match(shape, /^(pip)+$/, `statement order ${shape}`);
  type Progress = { topic: string; partition: number; status: string; batch: string };
  const batches: { table: string; before: Progress[]; after: Progress[] }[] = [];
  for (let i = 0; i < statements.length; i += 3) {
    batches.push({
      table: statements[i + 1]![0],
      before: statements[i]![1] as Progress[],
      after: statements[i + 2]![1] as Progress[],
    });
  }
  for (const b of batches) {
    const parts = (list: Progress[], status: string) =>
      list.map((p) => `${p.topic}/${p.partition}/${p.status === status}/${p.batch}`);
    assert.deepStrictEqual(parts(b.after, 'inserted'), parts(b.before, 'inserting'));
    assert.equal(new Set(b.before.map((p) => p.batch)).size, 1, 'one batch per insert');
  }
  const widest = Math.max(...batches.filter((b) => b.table === 'messages_base').map((b) => b.before.length));
  assert.equal(widest, partitions, 'a batch holds every partition of chat.messages that had rows');
  const inserts = statements
    .filter(([table]) => table !== 'sink_progress')
    .map(([table, rows]) => [table, rows.length] as const);
  // Rows: every message and view once.
  const rows = (table: string) => inserts.filter(([t]) => t === table).reduce((s, [, n]) => s + n, 0);
  assert.deepStrictEqual(
    { messages: rows('messages_base'), views: rows('message_views') },
    {
      messages: events.filter((e) => e.kind === 'message').length,
      views: events.filter((e) => e.kind === 'view').length,
    },
  );
});

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import { type ClickHouse, insertMessages, operatorQuery } from '../../src/storage/index.ts';
import { openMigrated, SEED_HOURLY } from './helpers.ts';

const T0 = Date.UTC(2026, 2, 1, 9);

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return 'ran';
  } catch (err) {
    return isAppError(err) ? err.code : `foreign: ${String(err)}`;
  }
}

/** Everything an operator could damage: every table's rows, and the list of tables. */
async function snapshot(ch: ClickHouse): Promise<unknown> {
  const tables = await ch.query<{ name: string }>(
    "SELECT name FROM system.tables WHERE database = 'message_db' ORDER BY name",
  );
  const contents: Record<string, unknown> = {};
  for (const { name } of tables) {
    if (name === 'messages') continue; // a view over messages_base and message_views
    // Row count and an order-free hash of every row's text (aggregate states have no order).
    contents[name] = await ch.query(
      `SELECT count() AS n, sum(cityHash64(formatRow('TSV', *))) AS h FROM message_db.${name}`,
    );
  }
  return { tables: tables.map((t) => t.name), contents };
}

/** Statements an earlier version of the console let run, and the other kinds a read-only console must refuse. */
function hostile(dir: string): Record<string, string> {
  return {
    alterDelete: 'ALTER TABLE message_db.messages_base DELETE WHERE 1',
    truncate: 'TRUNCATE TABLE message_db.messages_base',
    drop: 'DROP TABLE message_db.sink_progress',
    multiStatement: 'SELECT 1; DROP TABLE message_db.sink_progress',
    multiStatementParens: 'SELECT 1); DROP TABLE message_db.sink_progress; SELECT (1',
    fileTable: "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    fileFunction: "SELECT file('/etc/passwd')",
    insertIntoFunction: `INSERT INTO FUNCTION file('${dir}/out.tsv', 'TSV', 's String') SELECT 'x'`,
    create: 'CREATE TABLE message_db.evil (x UInt8) ENGINE = Memory',
    insert: "INSERT INTO message_db.sink_progress (application_id) VALUES ('evil')",
    insertFormat: 'INSERT INTO message_db.messages_base FORMAT TSV',
    system: 'SYSTEM DROP MARK CACHE',
    set: 'SET readonly = 0',
    optimize: 'OPTIMIZE TABLE message_db.messages_base FINAL',
    kill: 'KILL QUERY WHERE 1',
    nestedSettings:
      "SELECT * FROM (SELECT * FROM file('/etc/hostname', 'LineAsString') SETTINGS readonly = 0)",
    settingsLimits: 'SELECT number FROM numbers(100) SETTINGS max_result_rows = 0',
    url: "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
    s3: "SELECT * FROM s3('http://127.0.0.1:1/bucket/key', 'LineAsString')",
    remote: "SELECT * FROM remote('127.0.0.1:1', system.one)",
    mysql: "SELECT * FROM mysql('127.0.0.1:1', 'd', 't', 'u', 'p')",
    hdfs: "SELECT * FROM hdfs('hdfs://127.0.0.1:1/x', 'TSV', 'x String')",
    executable: "SELECT * FROM executable('x.sh', 'TSV', 'x String')",
    intoOutfile: `SELECT 1 INTO OUTFILE '${dir}/outfile.tsv'`,
    introspection: 'SELECT addressToLine(toUInt64(0))',
  };
}

test('operator SQL is read-only: every destructive statement is refused and changes nothing', async (t) => {
  const { ch, dataDir } = await openMigrated(t);
  await insertMessages(
    ch,
    [1, 2, 3].map((i) => ({
      message_id: `m${i}`,
      conversation_id: 'c',
      sender_id: 'alice',
      receiver_id: 'bob',
      content: `hello ${i}`,
      created_at: T0 + i,
    })),
    'operator-query/1',
  );
  await ch.insert('message_db.sink_progress', [
    {
      application_id: 'clickhouse-sink',
      topic: 'chat.messages',
      partition: 0,
      first_offset: 0,
      last_offset: 2,
    },
  ]);
  const before = await snapshot(ch);
  const filesBefore = await readdir(dataDir);

  const statements = hostile(dataDir);
  const results: Record<string, unknown> = {};
  const messages: string[] = [];
  for (const [name, sql] of Object.entries(statements)) {
    try {
      await operatorQuery(ch, sql);
      results[name] = 'ran';
    } catch (err) {
      results[name] = isAppError(err) ? err.code : `foreign: ${String(err)}`;
      messages.push(`${name}: ${(err as Error).message}`);
    }
  }
  assert.deepStrictEqual(
    results,
    Object.fromEntries(
      // Unbalanced parentheses do not parse: the operator's mistake, refused as such.
      Object.keys(statements).map((k) => [
        k,
        k === 'multiStatementParens' ? 'QUERY_INVALID' : 'QUERY_REFUSED',
      ]),
    ),
    messages.join('\n'),
  );
  // Each message says why, in one line, without ClickHouse's stack of prefixes.
  for (const m of messages) assert.match(m, /^\w+: (refused|only a SELECT|Syntax error)[^\n]*$/);
  assert.deepStrictEqual(await snapshot(ch), before);
  assert.deepStrictEqual(await readdir(dataDir), filesBefore);
  // The hostname was never read into a result (the nested SETTINGS would have switched readonly off).
  assert.doesNotMatch(messages.join('\n'), new RegExp((await readFile('/etc/hostname', 'utf8')).trim()));
});

test('operator SQL: columns and types, parameters, the row limit, the time limit, mistakes', async (t) => {
  const { ch } = await openMigrated(t);
  await insertMessages(
    ch,
    [
      {
        message_id: 'm1',
        conversation_id: 'c',
        sender_id: 'a',
        receiver_id: 'b',
        content: 'x',
        created_at: T0,
      },
    ],
    'operator-query/2',
  );
  const typed = await operatorQuery(
    ch,
    "SELECT {n:UInt32} AS n, toUInt64(18446744073709551615) AS big, 'x' AS s, [1, 2] AS a -- comment",
    { params: { n: 7 } },
  );
  const seed = await operatorQuery(ch, SEED_HOURLY);
  const limited = await operatorQuery(ch, 'SELECT number FROM system.numbers', { maxRows: 5 });
  const exact = await operatorQuery(ch, 'SELECT number FROM numbers(5)', { maxRows: 5 });
  const unqualified = await operatorQuery(ch, 'SELECT count() AS n FROM messages_base', {
    database: 'message_db',
  });
  const unqualifiedAfter = await outcome(operatorQuery(ch, 'SELECT count() AS n FROM messages_base'));
  const slow = await outcome(operatorQuery(ch, 'SELECT count() FROM numbers(1e12)', { maxExecutionMs: 300 }));
  const mistakes = {
    syntax: await outcome(operatorQuery(ch, 'SELEC 1')),
    unknownTable: await outcome(operatorQuery(ch, 'SELECT * FROM message_db.nope')),
    missingParam: await outcome(operatorQuery(ch, 'SELECT {n:UInt32}')),
    empty: await outcome(operatorQuery(ch, '  ')),
  };
  assert.deepStrictEqual(
    {
      typed: {
        columns: typed.columns,
        rows: typed.rows,
        rowCount: typed.rowCount,
        truncated: typed.truncated,
      },
      seed: { columns: seed.columns, rows: seed.rows },
      limited: { rows: limited.rows, rowCount: limited.rowCount, truncated: limited.truncated },
      exact: { rowCount: exact.rowCount, truncated: exact.truncated },
      unqualified: unqualified.rows,
      unqualifiedAfter,
      slow,
      mistakes,
      elapsedIsNumber: typeof typed.elapsedMs === 'number' && typed.elapsedMs >= 0,
    },
    {
      typed: {
        columns: [
          { name: 'n', type: 'UInt32' },
          { name: 'big', type: 'UInt64' },
          { name: 's', type: 'String' },
          { name: 'a', type: 'Array(UInt8)' },
        ],
        rows: [[7, '18446744073709551615', 'x', [1, 2]]],
        rowCount: 1,
        truncated: false,
      },
      seed: {
        columns: [
          { name: 'hour', type: "DateTime('UTC')" },
          { name: 'messages', type: 'UInt64' },
        ],
        rows: [['2026-03-01 09:00:00', '1']],
      },
      limited: { rows: [['0'], ['1'], ['2'], ['3'], ['4']], rowCount: 5, truncated: true },
      exact: { rowCount: 5, truncated: false },
      unqualified: [['1']],
      unqualifiedAfter: 'QUERY_INVALID',
      slow: 'QUERY_TIMEOUT',
      mistakes: {
        syntax: 'QUERY_INVALID',
        unknownTable: 'QUERY_INVALID',
        missingParam: 'QUERY_INVALID',
        empty: 'QUERY_INVALID',
      },
      elapsedIsNumber: true,
    },
  );
});

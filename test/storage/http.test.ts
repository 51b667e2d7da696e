import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import { type ClickHouse, openHttp, operatorQuery } from '../../src/storage/index.ts';
import { startClickHouseServer } from './clickhouse-server.ts';

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await p };
  } catch (err) {
    return isAppError(err) ? { code: err.code, retriable: err.retriable } : { foreign: String(err) };
  }
}

/*
 * Transport only: Debian's clickhouse-server is 18.16 (no DateTime64, no `{name:Type}` parameters),
 * so the schema is tested on chDB; here we check the HTTP adapter's connection, auth, insert/select
 * round trip and error mapping against a real server process.
 */
test('HTTP adapter against a real clickhouse-server: auth, insert, select, error mapping', async (t) => {
  const server = await startClickHouseServer(t);
  const ch = openHttp({ url: server.url, user: server.user, password: server.password });
  t.after(() => ch.close());
  const wrongPassword = openHttp({ url: server.url, user: server.user, password: 'wrong' });
  t.after(() => wrongPassword.close());
  const unknownUser = openHttp({ url: server.url, user: 'nobody', password: 'x' });
  t.after(() => unknownUser.close());

  const value = `it's "quoted" \\ back\\slash\nnew line`;
  await ch.ping();
  await ch.command('CREATE DATABASE IF NOT EXISTS transport_test');
  await ch.command(
    'CREATE TABLE transport_test.t (k String, v String, n UInt32) ENGINE = MergeTree ORDER BY k',
  );
  const inserted = await ch.insert('transport_test.t', [
    { k: 'a', v: value, n: 1 },
    { k: 'b', v: 'plain', n: 2 },
  ]);
  const rows = await ch.query('SELECT k, v, n FROM transport_test.t ORDER BY k');
  const errors = {
    wrongPassword: await outcome(wrongPassword.ping()),
    unknownUser: await outcome(unknownUser.ping()),
    syntax: await outcome(ch.query('SELEC 1')),
    unknownTable: await outcome(ch.query('SELECT * FROM transport_test.nope')),
  };
  const operator = await operatorChecks(ch);
  await server.stop();
  const down = await outcome(ch.ping());

  assert.deepStrictEqual(operator.actual, operator.expected);
  assert.deepStrictEqual(
    { inserted, rows, errors, down },
    {
      inserted: { rows: 2 },
      rows: [
        { k: 'a', v: value, n: 1 },
        { k: 'b', v: 'plain', n: 2 },
      ],
      errors: {
        wrongPassword: { code: 'STORAGE_AUTH', retriable: false },
        unknownUser: { code: 'STORAGE_AUTH', retriable: false },
        syntax: { code: 'STORAGE_QUERY', retriable: false },
        unknownTable: { code: 'STORAGE_QUERY', retriable: false },
      },
      down: { code: 'STORAGE_UNAVAILABLE', retriable: true },
    },
  );
});

/**
 * `operatorQuery` on this old server (no formatQuerySingleLine, no `{name:Type}`): the request-level
 * readonly, the server's one-statement rule and the wrapping SELECT refuse; nothing changes.
 */
async function operatorChecks(ch: ClickHouse): Promise<{ actual: unknown; expected: unknown }> {
  await ch.command('CREATE DATABASE operator_test');
  await ch.command('CREATE TABLE operator_test.t (k String, n UInt32) ENGINE = MergeTree ORDER BY k');
  await ch.insert('operator_test.t', [
    { k: 'a', n: 1 },
    { k: 'b', n: 2 },
  ]);
  const contents = () => ch.query('SELECT k, n FROM operator_test.t ORDER BY k');
  const before = await contents();
  const statements = {
    alterDelete: 'ALTER TABLE operator_test.t DELETE WHERE 1',
    truncate: 'TRUNCATE TABLE operator_test.t',
    drop: 'DROP TABLE operator_test.t',
    multiStatement: 'SELECT 1; DROP TABLE operator_test.t',
    fileTable: "SELECT * FROM file('/etc/passwd', 'TSV', 's String')",
    insertIntoFunction: "INSERT INTO FUNCTION file('out.tsv', 'TSV', 's String') SELECT 'x'",
    create: 'CREATE TABLE operator_test.evil (x UInt8) ENGINE = Memory',
    insert: "INSERT INTO operator_test.t VALUES ('z', 3)",
    system: 'SYSTEM DROP MARK CACHE',
    set: 'SET readonly = 0',
    optimize: 'OPTIMIZE TABLE operator_test.t FINAL',
    kill: 'KILL QUERY WHERE 1',
    nestedSettings: 'SELECT * FROM (SELECT k FROM operator_test.t SETTINGS readonly = 0)',
    url: "SELECT * FROM url('http://127.0.0.1:1/', 'TSV', 's String')",
    remote: "SELECT * FROM remote('127.0.0.1:1', system.one)",
  };
  const results: Record<string, unknown> = {};
  for (const [name, sql] of Object.entries(statements)) results[name] = await outcome(operatorQuery(ch, sql));
  const ok = await operatorQuery(ch, 'SELECT k, n FROM operator_test.t ORDER BY k;', { maxRows: 1 });
  return {
    actual: { results, after: await contents(), ok: { ...ok, elapsedMs: typeof ok.elapsedMs } },
    expected: {
      results: Object.fromEntries(
        Object.keys(statements).map((k) => [k, { code: 'QUERY_REFUSED', retriable: false }]),
      ),
      after: before,
      ok: {
        columns: [
          { name: 'k', type: 'String' },
          { name: 'n', type: 'UInt32' },
        ],
        rows: [['a', 1]],
        rowCount: 1,
        truncated: true,
        elapsedMs: 'number',
      },
    },
  };
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import { openHttp } from '../../src/storage/index.ts';
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
  await server.stop();
  const down = await outcome(ch.ping());

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

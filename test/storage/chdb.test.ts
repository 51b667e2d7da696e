import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import { openFresh } from './helpers.ts';

/** What an awaited call produced, reduced to the parts a test compares. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await p };
  } catch (err) {
    return isAppError(err) ? { code: err.code, retriable: err.retriable } : { foreign: String(err) };
  }
}

test('chDB adapter: parameters bind values verbatim, errors map to STORAGE_*, calls serialise', async (t) => {
  const ch = await openFresh(t);
  const nasty = `it's a "quote" \\ back\\slash'); DROP DATABASE x; -- {name:String} \n\t end`;
  await ch.command('CREATE DATABASE bind_test');
  await ch.command('CREATE TABLE bind_test.t (k String, v String) ENGINE = MergeTree ORDER BY k');
  await ch.insert('bind_test.t', [{ k: 'a', v: nasty }]);
  await ch.command('INSERT INTO bind_test.t SELECT {k:String}, {v:String}', { k: 'b', v: nasty });
  const byParam = await ch.query('SELECT k, v FROM bind_test.t WHERE v = {v:String} ORDER BY k', {
    v: nasty,
  });
  // Concurrent calls on one session are queued, not interleaved.
  const parallel = await Promise.all(
    Array.from({ length: 8 }, (_, i) => ch.query<{ n: number }>('SELECT {i:UInt8} AS n', { i })),
  );
  const errors = {
    syntax: await outcome(ch.query('SELEC 1')),
    unknownTable: await outcome(ch.query('SELECT * FROM bind_test.nope')),
    badParam: await outcome(ch.query('SELECT {n:UInt8} AS n', { n: 'not a number' })),
    insertWrongColumn: await outcome(ch.insert('bind_test.t', [{ k: 'c', nope: 1 }])),
  };
  await ch.ping();
  await ch.close();
  await ch.close();
  const afterClose = await outcome(ch.query('SELECT 1'));
  assert.deepStrictEqual(
    { byParam, parallel: parallel.map((r) => r[0]?.n), errors, afterClose },
    {
      byParam: [
        { k: 'a', v: nasty },
        { k: 'b', v: nasty },
      ],
      parallel: [0, 1, 2, 3, 4, 5, 6, 7],
      errors: {
        syntax: { code: 'STORAGE_QUERY', retriable: false },
        unknownTable: { code: 'STORAGE_QUERY', retriable: false },
        badParam: { code: 'STORAGE_QUERY', retriable: false },
        insertWrongColumn: { code: 'STORAGE_QUERY', retriable: false },
      },
      afterClose: { code: 'STORAGE_UNAVAILABLE', retriable: false },
    },
  );
});

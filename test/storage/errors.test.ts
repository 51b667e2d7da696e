import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toStorageError } from '../../src/storage/index.ts';

/** Error shapes as chDB, clickhouse-js and Node sockets produce them (see the adapters). */
function foreign(message: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), fields);
}

test('foreign errors are classified once: code, retriable', () => {
  const cases = {
    chdbSyntax: foreign('Code: 62. DB::Exception: Syntax error (SYNTAX_ERROR)', {
      code: 'CHDB_QUERY',
      clickhouseCode: 62,
    }),
    chdbTooManyParts: foreign('Code: 252. DB::Exception: Too many parts (TOO_MANY_PARTS)', {
      clickhouseCode: 252,
    }),
    httpUnknownTable: foreign('Table db.x does not exist', { code: '60', type: 'UNKNOWN_TABLE' }),
    httpAuth: foreign('default: Authentication failed', { code: '516', type: 'AUTHENTICATION_FAILED' }),
    oldServerWrongPassword: foreign('Code: 193, e.displayText() = DB::Exception: Wrong password for user x'),
    httpTimeout: foreign('Timeout error.'),
    refused: foreign('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' }),
    refusedInCause: foreign('fetch failed', {
      cause: foreign('connect ECONNREFUSED', { code: 'ECONNREFUSED' }),
    }),
    memory: foreign('Code: 241. DB::Exception: Memory limit exceeded'),
    plain: 'something else',
  };
  const got = Object.fromEntries(
    Object.entries(cases).map(([k, e]) => {
      const err = toStorageError(e, { op: 'test' });
      return [k, `${err.code}/${err.retriable ? 'retriable' : 'final'}`];
    }),
  );
  assert.deepStrictEqual(got, {
    chdbSyntax: 'STORAGE_QUERY/final',
    chdbTooManyParts: 'STORAGE_UNAVAILABLE/retriable',
    httpUnknownTable: 'STORAGE_QUERY/final',
    httpAuth: 'STORAGE_AUTH/final',
    oldServerWrongPassword: 'STORAGE_AUTH/final',
    httpTimeout: 'STORAGE_UNAVAILABLE/retriable',
    refused: 'STORAGE_UNAVAILABLE/retriable',
    refusedInCause: 'STORAGE_UNAVAILABLE/retriable',
    memory: 'STORAGE_UNAVAILABLE/retriable',
    plain: 'STORAGE_QUERY/final',
  });
});

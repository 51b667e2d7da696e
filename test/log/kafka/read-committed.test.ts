import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogRecord } from '../../../src/log/index.ts';
import { decodeBatches } from '../../../src/log/kafka/record-batch.ts';
import { FILLER, recorded } from './recorded-fetch.ts';

// Fetch responses recorded from a 4.1 broker (test/log/kafka/fixtures/record-fetch.ts): offsets 0
// plain; 1, 3 producer A (committed); 2, 4 producer B (aborted); 5 B's abort marker; 6 A's commit
// marker; 7 plain; 8–19 kcat's records in every codec. Under read_committed the broker lists B's
// aborted transaction and relies on the client to drop it (as Java's client does).

const view = (records: LogRecord[]) =>
  records.map((r) => `${r.offset} ${r.key?.toString()}=${r.value?.toString().replace(FILLER, '…')}`);
const decode = (from: number, readCommitted: boolean, which = recorded.readCommitted) => {
  const out: LogRecord[] = [];
  const { next, error } = decodeBatches('t', which, from, readCommitted, out);
  return { records: view(out).slice(0, 5), next, error };
};

test('read_committed drops the aborted transaction and the markers; next moves past them', () => {
  assert.deepStrictEqual(recorded.readCommitted.abortedTransactions?.length, 1);
  assert.deepStrictEqual(decode(0, true), {
    records: ['0 k0=plain-0', '1 ka=committed-1', '3 ka=committed-2', '7 k3=plain-3', '8 gzip-1=gzip one …'],
    next: 20,
    error: undefined,
  });
});

test('read_uncommitted returns every data record, never a marker', () => {
  assert.deepStrictEqual(decode(0, false, recorded.readUncommitted), {
    records: ['0 k0=plain-0', '1 ka=committed-1', '2 kb=aborted-1', '3 ka=committed-2', '4 kb=aborted-2'],
    next: 20,
    error: undefined,
  });
});

test('decoding from inside the range skips what is before the position (a fetch returns whole batches)', () => {
  assert.deepStrictEqual(decode(3, true), {
    records: [
      '3 ka=committed-2',
      '7 k3=plain-3',
      '8 gzip-1=gzip one …',
      '9 gzip-2=gzip two …',
      '10 gzip-3=gzip three …',
    ],
    next: 20,
    error: undefined,
  });
});

test('from after the aborted data on, its abort marker closes the range: nothing later is dropped', () => {
  assert.deepStrictEqual(decode(5, true).records.slice(0, 2), ['7 k3=plain-3', '8 gzip-1=gzip one …']);
});

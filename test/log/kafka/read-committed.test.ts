import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { LogRecord } from '../../../src/log/index.ts';
import { decodeBatches, type FetchedPartition } from '../../../src/log/kafka/read-committed.ts';

// Fetch responses recorded from a 4.1 broker (test/log/kafka/fixtures/record-fetch.ts): offsets 0
// plain; 1, 3 producer A (committed, marker at 6); 2, 4 producer B (aborted, marker at 5); 7 plain.
// Under read_uncommitted the broker returns every batch; under read_committed a 4.1 broker leaves
// B's batches out itself and lists B's aborted transaction (older brokers, and Java's client, rely
// on the client to filter: our filter must agree with the broker).
const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/kafka-fetch-read-committed.json', import.meta.url), 'utf8'),
  (_k, v) =>
    v?.bigint !== undefined
      ? BigInt(v.bigint)
      : v?.base64 !== undefined
        ? Buffer.from(v.base64, 'base64')
        : v,
) as { readUncommitted: FetchedPartition; readCommitted: FetchedPartition };
/** Every batch (as read_uncommitted returns them) with the aborted-transaction list of read_committed. */
const recorded: FetchedPartition = {
  ...fixture.readUncommitted,
  abortedTransactions: fixture.readCommitted.abortedTransactions ?? null,
};

const view = (records: LogRecord[]) =>
  records.map(
    (r) =>
      `${r.offset} ${r.key?.toString()}=${r.value?.toString()}${r.headers.map(([k, v]) => ` ${k}:${v}`).join('')}`,
  );
const decode = (p: FetchedPartition, from: number, readCommitted: boolean) => {
  const out: LogRecord[] = [];
  const next = decodeBatches('t', p, from, readCommitted, out);
  return { records: view(out), next };
};

test('read_committed drops the aborted transaction and the markers, as the broker does; next moves past them', () => {
  const expected = {
    records: ['0 k0=plain-0 h:v', '1 ka=committed-1', '3 ka=committed-2', '7 k3=plain-3'],
    next: 8,
  };
  assert.deepStrictEqual(
    { ours: decode(recorded, 0, true), brokers: decode(fixture.readCommitted, 0, true) },
    { ours: expected, brokers: expected },
  );
});

test('read_uncommitted returns every data record, never a marker', () => {
  assert.deepStrictEqual(decode(recorded, 0, false), {
    records: [
      '0 k0=plain-0 h:v',
      '1 ka=committed-1',
      '2 kb=aborted-1',
      '3 ka=committed-2',
      '4 kb=aborted-2',
      '7 k3=plain-3',
    ],
    next: 8,
  });
});

test('decoding from inside the range skips what is before the position (a fetch returns whole batches)', () => {
  assert.deepStrictEqual(decode(recorded, 3, true), {
    records: ['3 ka=committed-2', '7 k3=plain-3'],
    next: 8,
  });
});

test('a batch of 200 000 records is appended without spreading (no RangeError) and in order', () => {
  const n = 200_000;
  const records = Array.from({ length: n }, (_, i) => ({
    length: 0,
    attributes: 0,
    timestampDelta: BigInt(i),
    offsetDelta: i,
    key: null,
    value: Buffer.from('x'),
    headers: [],
  }));
  const batch = {
    firstOffset: 10n,
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes: 0x03, // lz4: decompressed by the client before we see it
    lastOffsetDelta: n - 1,
    firstTimestamp: 1_000n,
    maxTimestamp: 1_000n + BigInt(n),
    producerId: -1n,
    producerEpoch: -1,
    firstSequence: -1,
    records,
  };
  const out: LogRecord[] = [];
  const next = decodeBatches(
    't',
    { partitionIndex: 0, records: [batch] } as unknown as FetchedPartition,
    10,
    true,
    out,
  );
  assert.deepStrictEqual(
    { n: out.length, first: out[0]?.offset, last: out.at(-1)?.offset, lastTs: out.at(-1)?.timestamp, next },
    { n, first: 10, last: 10 + n - 1, lastTs: 1_000 + n - 1, next: 10 + n },
  );
});

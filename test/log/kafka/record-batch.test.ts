import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c, createRecordsBatch } from '@platformatic/kafka';
import type { LogRecord } from '../../../src/log/index.ts';
import type { FetchedPartition } from '../../../src/log/kafka/fetch-response.ts';
import { decodeBatches } from '../../../src/log/kafka/record-batch.ts';
import { FILLER, recorded } from './recorded-fetch.ts';

// Offsets 8–19 of the recorded partition (test/log/kafka/fixtures/record-fetch.ts) were written by
// kcat (librdkafka), per codec a batch of one record with a header, then a batch of two.

const decode = (p: FetchedPartition, from = 0) => {
  const out: LogRecord[] = [];
  const result = decodeBatches('t', p, from, false, out);
  return { out, ...result };
};
const show = (r: LogRecord) =>
  `${r.offset} ${r.key?.toString()}=${r.value?.toString().replace(FILLER, '…')}${r.headers.map(([k, v]) => ` ${k}:${v}`).join('')}`;

/** Base offset and codec (attribute bits 0–2) of each batch from offset 8 on, read off the bytes. */
function codecs(bytes: Buffer): [number, number][] {
  const out: [number, number][] = [];
  for (let at = 0; at + 61 <= bytes.length; at += 12 + bytes.readInt32BE(at + 8)) {
    const base = Number(bytes.readBigInt64BE(at));
    if (base >= 8) out.push([base, bytes.readInt16BE(at + 21) & 0x07]);
  }
  return out;
}

test('every codec (gzip, snappy, lz4, zstd) from librdkafka decodes, with headers and timestamps', () => {
  assert.deepStrictEqual(codecs(recorded.readUncommitted.records ?? Buffer.alloc(0)), [
    [8, 1],
    [9, 1],
    [11, 2],
    [12, 2],
    [14, 3],
    [15, 3],
    [17, 4],
    [18, 4],
  ]);
  const { out, next, bytes, error } = decode(recorded.readUncommitted, 8);
  const t0 = out[0]?.timestamp ?? 0;
  assert.deepStrictEqual(
    {
      records: out.map(show),
      next,
      bytes,
      error,
      // CreateTime timestamps of one run of kcat, a few ms apart.
      timestamps: t0 > 1.7e12 && out.every((r) => r.timestamp >= t0 && r.timestamp - t0 < 60_000),
      topic: [...new Set(out.map((r) => `${r.topic}:${r.partition}`))],
    },
    {
      records: ['gzip', 'snappy', 'lz4', 'zstd'].flatMap((c, i) => [
        `${8 + 3 * i} ${c}-1=${c} one … codec:${c}`,
        `${9 + 3 * i} ${c}-2=${c} two …`,
        `${10 + 3 * i} ${c}-3=${c} three …`,
      ]),
      next: 20,
      bytes: out.reduce((n, r) => n + (r.key?.length ?? 0) + (r.value?.length ?? 0), 0),
      error: undefined,
      timestamps: true,
      topic: ['t:0'],
    },
  );
});

test('a flipped bit fails the CRC: the records before the batch are returned, next stops at it', () => {
  const bytes = Buffer.from(recorded.readUncommitted.records ?? Buffer.alloc(0));
  const last = bytes.length - 1;
  bytes[last] = (bytes[last] as number) ^ 0x01; // inside the last batch (offsets 18–19, zstd)
  const { out, next, error } = decode({ ...recorded.readUncommitted, records: bytes }, 8);
  assert.deepStrictEqual(
    {
      last: out.at(-1)?.offset,
      next,
      code: error?.code,
      context: error?.context,
      crc: /CRC mismatch/.test(error?.message ?? ''),
    },
    { last: 17, next: 18, code: 'LOG_CORRUPT', context: { topic: 't', partition: 0, offset: 18 }, crc: true },
  );
});

test('a batch cut short at the end of a response (the fetch size) is left for the next fetch', () => {
  const bytes = recorded.readUncommitted.records ?? Buffer.alloc(0);
  const { out, next, error } = decode({
    ...recorded.readUncommitted,
    records: bytes.subarray(0, bytes.length - 5),
  });
  assert.deepStrictEqual({ last: out.at(-1)?.offset, next, error }, { last: 17, next: 18, error: undefined });
});

test('a batch in an unknown codec, or in an old message format, is LOG_CORRUPT naming its offset', () => {
  const one = createRecordsBatch([
    { topic: 't', key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 5n },
  ]).buffer;
  const codec = Buffer.from(one);
  codec.writeInt16BE(0x07, 21); // attributes: codec 7, with a CRC that matches
  codec.writeUInt32BE(crc32c(codec.subarray(21)), 17);
  const magic = Buffer.from(one);
  magic[16] = 1;
  const p = (records: Buffer): FetchedPartition => ({
    partitionIndex: 0,
    errorCode: 0,
    highWatermark: 1,
    lastStableOffset: 1,
    abortedTransactions: null,
    records,
  });
  assert.deepStrictEqual(
    {
      plain: decode(p(one)).out.map(show),
      magic: decode(p(magic)).error?.message,
      codec: decode(p(codec)).error?.message,
    },
    {
      plain: ['0 k=v'],
      magic: 'record batch at offset 0 of t:0 is unreadable: message format v1 (only v2 is read)',
      codec: 'record batch at offset 0 of t:0 is unreadable: compression codec 7',
    },
  );
});

test('one lz4 batch of 200 000 records decodes whole, in order (appended, never spread)', () => {
  const n = 200_000;
  const value = Buffer.from('v');
  const batch = createRecordsBatch(
    Array.from({ length: n }, (_, i) => ({
      topic: 't',
      key: null as unknown as Buffer,
      value,
      timestamp: 1_000n + BigInt(i),
    })),
    { compression: 'lz4' },
  ).buffer;
  batch.writeBigInt64BE(10n, 0); // base offset 10 (outside the CRC)
  const { out, next, error } = decode(
    {
      partitionIndex: 0,
      errorCode: 0,
      highWatermark: 0,
      lastStableOffset: 0,
      abortedTransactions: null,
      records: batch,
    },
    10,
  );
  assert.deepStrictEqual(
    {
      n: out.length,
      first: out[0]?.offset,
      last: out.at(-1)?.offset,
      lastTs: out.at(-1)?.timestamp,
      key: out[0]?.key,
      next,
      error,
    },
    { n, first: 10, last: 10 + n - 1, lastTs: 1_000 + n - 1, key: null, next: 10 + n, error: undefined },
  );
});

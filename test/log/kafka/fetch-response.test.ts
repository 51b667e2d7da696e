import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFetchResponse } from '../../../src/log/kafka/fetch-response.ts';
import { fixture } from './recorded-fetch.ts';

test('a recorded Fetch v17 response parses into its topic, partition, offsets and records bytes', () => {
  const body = Buffer.from(fixture.readCommitted, 'base64');
  const res = parseFetchResponse(body, 17);
  const p = res.topics[0]?.partitions[0];
  assert.deepStrictEqual(
    {
      errorCode: res.errorCode,
      topics: res.topics.map((t) => t.topic),
      partition: { ...p, records: p?.records?.length },
      // The records are a view into the response, not a copy.
      view: p?.records?.buffer === body.buffer,
    },
    {
      errorCode: 0,
      topics: [fixture.topicId],
      partition: {
        partitionIndex: 0,
        errorCode: 0,
        highWatermark: 20,
        lastStableOffset: 20,
        abortedTransactions: [{ producerId: p?.abortedTransactions?.[0]?.producerId, firstOffset: 2 }],
        records: p?.records?.length,
      },
      view: true,
    },
  );
  assert.ok((p?.records?.length ?? 0) > 1000);
});

test('a response cut short is a LOG_CORRUPT error, an unknown version a plain error', () => {
  const body = Buffer.from(fixture.readCommitted, 'base64');
  assert.throws(() => parseFetchResponse(body.subarray(0, 40), 17), { code: 'LOG_CORRUPT' });
  assert.throws(() => parseFetchResponse(body, 11), /Fetch v11 responses are not supported/);
});

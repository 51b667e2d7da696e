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
        abortedTransactions: [{ producerId: 1349n, firstOffset: 2 }],
        records: 1636,
      },
      view: true,
    },
  );
});

test('a response cut short is a LOG_CORRUPT error, an unknown version a plain error', () => {
  const body = Buffer.from(fixture.readCommitted, 'base64');
  assert.throws(() => parseFetchResponse(body.subarray(0, 40), 17), { code: 'LOG_CORRUPT' });
  assert.throws(() => parseFetchResponse(body, 11), /Fetch v11 responses are not supported/);
});

test('Fetch v12 names its topics: the same response with the name in place of the id parses alike', () => {
  const v17 = Buffer.from(fixture.readCommitted, 'base64');
  // throttle_time_ms, error_code, session_id, one topic (compact length 2), then the 16-byte id.
  const name = Buffer.from('orders', 'utf8');
  const v12 = Buffer.concat([v17.subarray(0, 11), Buffer.from([name.length + 1]), name, v17.subarray(27)]);
  const a = parseFetchResponse(v17, 17);
  const b = parseFetchResponse(v12, 12);
  assert.deepStrictEqual(
    { topic: b.topics[0]?.topic, partitions: b.topics[0]?.partitions },
    { topic: 'orders', partitions: a.topics[0]?.partitions },
  );
});

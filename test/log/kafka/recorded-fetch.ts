/**
 * The Fetch responses recorded by ./fixtures/record-fetch.ts (test/fixtures/kafka-fetch-responses.json),
 * parsed: one partition each, under read_uncommitted and read_committed.
 */
import { readFileSync } from 'node:fs';
import { type FetchedPartition, parseFetchResponse } from '../../../src/log/kafka/fetch-response.ts';

/** The end of kcat's values (compressible, so that librdkafka compresses them). */
export const FILLER = 'abc'.repeat(100);

export const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/kafka-fetch-responses.json', import.meta.url), 'utf8'),
) as { version: number; topicId: string; readUncommitted: string; readCommitted: string };

const partitionOf = (body: string): FetchedPartition => {
  const p = parseFetchResponse(Buffer.from(body, 'base64'), fixture.version).topics[0]?.partitions[0];
  if (p === undefined) throw new Error('the recorded response has no partition');
  return p;
};

export const recorded = {
  readUncommitted: partitionOf(fixture.readUncommitted),
  readCommitted: partitionOf(fixture.readCommitted),
};

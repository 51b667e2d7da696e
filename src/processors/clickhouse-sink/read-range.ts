import { randomUUID } from 'node:crypto';
import type { Log, LogRecord } from '../../log/index.ts';
import type { Codec } from '../../streams/index.ts';

/**
 * The decoded values of offsets [first, last] of one partition, read committed, in offset order;
 * records that do not decode are left out (they went to the dead-letter topic the first time).
 * Uses a manually assigned consumer: no group membership, nothing committed.
 */
export function readRange<V>(
  log: Log,
  topic: string,
  partition: number,
  first: number,
  last: number,
  codec: Codec<V>,
): Promise<V[]> {
  return readRangeRecords(log, topic, partition, first, last, (r) => codec.deserialize(r.value));
}

/** As `readRange`, with the whole record at hand (offset, timestamp): `decode` throws for an invalid one. */
export async function readRangeRecords<V>(
  log: Log,
  topic: string,
  partition: number,
  first: number,
  last: number,
  decode: (record: LogRecord) => V,
): Promise<V[]> {
  const consumer = log.consumer({
    groupId: `clickhouse-sink-replay-${randomUUID()}`,
    maxPollRecords: 10_000,
  });
  const tp = { topic, partition };
  const out: V[] = [];
  try {
    consumer.assign([tp]);
    consumer.seek(tp, first);
    const { lastStable } = await log.partitionOffsets(topic, partition);
    const end = Math.min(last + 1, lastStable);
    while (consumer.position(tp) < end) {
      for (const r of await consumer.poll(500)) {
        if (r.offset > last) break;
        try {
          out.push(decode(r));
        } catch {
          // invalid: dead-lettered when it was first processed, not part of the range's rows
        }
      }
    }
  } finally {
    await consumer.close();
  }
  return out;
}

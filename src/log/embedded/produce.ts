/**
 * A send's records, grouped per partition as the log appends them: an explicit partition, murmur2 of
 * the key (Kafka's default partitioner), or round-robin for null keys; timestamps default to now,
 * headers and key/value strings become bytes. One batch per partition per send.
 */

import { AppError, ErrorCode } from '../../errors/index.ts';
import { partitionForKey } from '../partitioner.ts';
import type { ProducerRecord, RecordHeader } from '../types.ts';
import type { EncodableRecord } from './format.ts';
import type { TopicState } from './log-metadata.ts';
import { invalid } from './validation.ts';

const EMPTY_HEADERS: readonly RecordHeader[] = Object.freeze([]);

export interface PartitionedRecords {
  /** Partition → its records, and their indexes in the send. */
  readonly byPartition: Map<number, { recs: EncodableRecord[]; idx: number[] }>;
  /** Per record of the send: its partition and timestamp. */
  readonly partitions: number[];
  readonly timestamps: number[];
}

export function partitionRecords(
  t: TopicState,
  records: readonly ProducerRecord[],
  now: number,
): PartitionedRecords {
  const topic = t.desc.name;
  const n = t.desc.partitions;
  const byPartition = new Map<number, { recs: EncodableRecord[]; idx: number[] }>();
  const partitions = new Array<number>(records.length);
  const timestamps = new Array<number>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const key = toBytes(r.key);
    let p: number;
    if (r.partition !== undefined) {
      p = r.partition;
      if (!Number.isInteger(p) || p < 0 || p >= n) {
        throw new AppError(ErrorCode.LOG_UNKNOWN_PARTITION, `topic ${topic} has no partition ${p}`, {
          context: { topic, partition: p },
        });
      }
    } else if (key !== null) {
      p = partitionForKey(key, n);
    } else {
      p = t.rr;
      t.rr = (t.rr + 1) % n;
    }
    const timestamp = r.timestamp ?? now;
    if (!Number.isFinite(timestamp)) throw invalid(`record timestamp must be a finite number`, { topic });
    let headers = EMPTY_HEADERS;
    if (r.headers !== undefined && r.headers.length > 0) {
      headers = r.headers.map(([name, v]) => [name, typeof v === 'string' ? Buffer.from(v, 'utf8') : v]);
    }
    let group = byPartition.get(p);
    if (group === undefined) {
      group = { recs: [], idx: [] };
      byPartition.set(p, group);
    }
    group.recs.push({ key, value: toBytes(r.value), headers, timestamp });
    group.idx.push(i);
    partitions[i] = p;
    timestamps[i] = timestamp;
  }
  return { byPartition, partitions, timestamps };
}

function toBytes(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

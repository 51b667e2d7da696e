/**
 * A send's records, grouped per partition as the log appends them: an explicit partition, murmur2 of
 * the key (Kafka's default partitioner), or round-robin for null keys; timestamps default to now,
 * headers and key/value strings become bytes. One batch per partition per send, appended through the
 * group commit.
 */

import { AppError, ErrorCode } from '../../errors/index.ts';
import { partitionForKey } from '../partitioner.ts';
import type { ProducerRecord, RecordHeader, RecordMetadata } from '../types.ts';
import type { EncodableRecord } from './format.ts';
import type { GroupCommit } from './group-commit.ts';
import type { TopicState } from './log-metadata.ts';
import type { PartitionLog } from './partition-log.ts';
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
    let group = byPartition.get(p);
    if (group === undefined) {
      group = { recs: [], idx: [] };
      byPartition.set(p, group);
    }
    group.recs.push(isEncodable(r) ? r : encodable(r, key, timestamp));
    group.idx.push(i);
    partitions[i] = p;
    timestamps[i] = timestamp;
  }
  return { byPartition, partitions, timestamps };
}

/**
 * Appends a send's records to their partitions (offsets assigned at once) and resolves with their
 * metadata once the group commit has written them. A send lands whole or not at all: every partition
 * it writes is checked usable before any is written. `touched` collects the partitions written (a
 * transaction's).
 */
export function appendToTopic(
  t: TopicState,
  records: readonly ProducerRecord[],
  producerId: number,
  touched: Set<PartitionLog> | undefined,
  commits: GroupCommit,
  now: number,
): Promise<RecordMetadata[]> {
  const topic = t.desc.name;
  const { byPartition, partitions, timestamps } = partitionRecords(t, records, now);
  const offsets = new Array<number>(records.length);
  // A send lands whole or not at all: every partition it writes must be usable first.
  for (const p of byPartition.keys()) t.parts[p]!.assertWritable();
  for (const [p, g] of byPartition) {
    const log = t.parts[p]!;
    const base = log.appendRecords(g.recs, producerId, producerId > 0);
    for (let k = 0; k < g.idx.length; k++) offsets[g.idx[k]!] = base + k;
    commits.add(log);
    touched?.add(log);
  }
  return commits.schedule().then(() => {
    const out = new Array<RecordMetadata>(records.length);
    for (let i = 0; i < records.length; i++) {
      out[i] = { topic, partition: partitions[i]!, offset: offsets[i]!, timestamp: timestamps[i]! };
    }
    return out;
  });
}

/**
 * A record that is already in encodable form (bytes or null, a timestamp, byte headers, and no
 * `offset` field — a consumed record passed on would carry one) is encoded as it is: no copy per
 * record (the streams runtime's outputs and changelogs are all of this form).
 */
function isEncodable(r: ProducerRecord): r is ProducerRecord & EncodableRecord {
  if (r.timestamp === undefined || r.key === undefined || typeof r.key === 'string') return false;
  if (r.value === undefined || typeof r.value === 'string' || r.headers === undefined) return false;
  if ((r as { offset?: unknown }).offset !== undefined) return false;
  const hs = r.headers;
  for (let i = 0; i < hs.length; i++) if (typeof hs[i]![1] === 'string') return false;
  return true;
}

function encodable(r: ProducerRecord, key: Buffer | null, timestamp: number): EncodableRecord {
  let headers = EMPTY_HEADERS;
  if (r.headers !== undefined && r.headers.length > 0) {
    headers = r.headers.map(([name, v]) => [name, typeof v === 'string' ? Buffer.from(v, 'utf8') : v]);
  }
  return { key, value: toBytes(r.value), headers, timestamp };
}

function toBytes(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

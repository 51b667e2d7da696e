/**
 * A group's offsets on the wire, shared by the consumer (OffsetCommit, OffsetFetch) and the
 * transactional producer (TxnOffsetCommit, and OffsetFetch with requireStable to wait until a
 * committed transaction's offsets are readable).
 */
import { AppError, ErrorCode } from '../../errors/index.ts';
import { type TopicPartition, type TopicPartitionOffset, tpKey } from '../types.ts';

/** OffsetCommit / TxnOffsetCommit topics from port offsets. */
export function offsetTopics(offsets: readonly TopicPartitionOffset[]): {
  name: string;
  partitions: {
    partitionIndex: number;
    committedOffset: bigint;
    committedLeaderEpoch: number;
    committedMetadata: string | null;
  }[];
}[] {
  const topics = new Map<string, ReturnType<typeof offsetTopics>[number]>();
  for (const o of offsets) {
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw new AppError(
        ErrorCode.LOG_INVALID_ARGUMENT,
        'a committed offset must be a non-negative integer',
        {
          context: { topic: o.topic, partition: o.partition, offset: o.offset },
        },
      );
    }
    let t = topics.get(o.topic);
    if (t === undefined) topics.set(o.topic, (t = { name: o.topic, partitions: [] }));
    t.partitions.push({
      partitionIndex: o.partition,
      committedOffset: BigInt(o.offset),
      committedLeaderEpoch: -1,
      committedMetadata: o.metadata ?? null,
    });
  }
  return [...topics.values()];
}

/** OffsetFetch (v8+) `groups` argument: one group and its partitions. */
export function offsetFetchGroups(
  groupId: string,
  tps: readonly TopicPartition[],
): {
  groupId: string;
  memberId: null;
  memberEpoch: number;
  topics: { name: string; partitionIndexes: number[] }[];
}[] {
  const topics = new Map<string, number[]>();
  for (const tp of tps) {
    let partitions = topics.get(tp.topic);
    if (partitions === undefined) topics.set(tp.topic, (partitions = []));
    partitions.push(tp.partition);
  }
  return [
    {
      groupId,
      memberId: null,
      memberEpoch: -1,
      topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
    },
  ];
}

type OffsetFetchTopics = {
  name: string;
  partitions: { partitionIndex: number; committedOffset: bigint }[];
}[];

/** OffsetFetch's answer: per group from v8, top-level before. */
export interface OffsetFetchResponse {
  groups?: { topics: OffsetFetchTopics }[];
  topics?: OffsetFetchTopics;
}

/** The committed offsets of an OffsetFetch answer by `tpKey` (partitions without one are absent). */
export function committedOffsets(res: OffsetFetchResponse): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of res.groups?.[0]?.topics ?? res.topics ?? []) {
    for (const p of t.partitions) {
      if (p.committedOffset >= 0n)
        out.set(tpKey({ topic: t.name, partition: p.partitionIndex }), Number(p.committedOffset));
    }
  }
  return out;
}

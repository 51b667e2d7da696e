/**
 * What both `Log` adapters share about topics and groups (one source of truth): Kafka's range
 * assignor and the validation of topic specs.
 */
import { AppError, ErrorCode } from '../errors/index.ts';
import { CleanupPolicy, type TopicPartition, type TopicSpec } from './types.ts';

/**
 * Kafka's RangeAssignor: per topic, the members subscribed to it sorted by member id get contiguous
 * ranges of partitions, the first `n % members` one extra. Co-partitioned topics (same partition
 * count, same subscribers) thus give a member the same partition numbers of each.
 * `subscriptions`: member id → topics; `partitionCounts`: topic → count (undefined: no such topic).
 */
export function rangeAssign(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  partitionCounts: ReadonlyMap<string, number | undefined>,
): Map<string, TopicPartition[]> {
  const ids = [...subscriptions.keys()].sort();
  const result = new Map<string, TopicPartition[]>(ids.map((id) => [id, []]));
  const topics = [...new Set([...subscriptions.values()].flat())].sort();
  for (const topic of topics) {
    const n = partitionCounts.get(topic);
    if (n === undefined) continue;
    const members = ids.filter((id) => subscriptions.get(id)?.includes(topic));
    const per = Math.floor(n / members.length);
    const extra = n % members.length;
    let p = 0;
    members.forEach((id, i) => {
      const count = per + (i < extra ? 1 : 0);
      for (let k = 0; k < count; k++) result.get(id)?.push({ topic, partition: p++ });
    });
  }
  return result;
}

/** Kafka's legal topic names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Most partitions a topic may have. */
export const MAX_PARTITIONS = 10_000;

/** Throws LOG_INVALID_ARGUMENT for a spec that no adapter may create. */
export function validateTopicSpec(spec: TopicSpec): void {
  const invalid = (message: string, context: Record<string, string | number | null>) =>
    new AppError(ErrorCode.LOG_INVALID_ARGUMENT, message, { context });
  if (
    typeof spec.name !== 'string' ||
    !TOPIC_NAME.test(spec.name) ||
    spec.name === '.' ||
    spec.name === '..'
  ) {
    throw invalid(`invalid topic name ${JSON.stringify(spec.name)}: use 1-249 of [a-zA-Z0-9._-]`, {
      topic: String(spec.name),
    });
  }
  if (!Number.isInteger(spec.partitions) || spec.partitions < 1 || spec.partitions > MAX_PARTITIONS) {
    throw invalid(`topic ${spec.name}: partitions must be an integer in 1..${MAX_PARTITIONS}`, {
      topic: spec.name,
      partitions: spec.partitions,
    });
  }
  const r = spec.retentionMs;
  if (r !== undefined && r !== null && !(Number.isSafeInteger(r) && r >= 0)) {
    throw invalid(`topic ${spec.name}: retentionMs must be an integer >= 0 or null`, {
      topic: spec.name,
      retentionMs: r,
    });
  }
  const policies: readonly string[] = Object.values(CleanupPolicy);
  if (spec.cleanupPolicy !== undefined && !policies.includes(spec.cleanupPolicy)) {
    throw invalid(`topic ${spec.name}: unknown cleanupPolicy ${String(spec.cleanupPolicy)}`, {
      topic: spec.name,
    });
  }
}

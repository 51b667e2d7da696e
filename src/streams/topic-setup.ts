/**
 * The topics a topology needs before its runtime joins the group.
 *
 * - Partition counts: a user source topic has what the log says; a repartition topic has its explicit
 *   count, or the most partitions among the sources of the sub-topology that writes it.
 * - Co-partitioning: all source topics of a sub-topology must have equal partition counts (its
 *   tasks are per partition number).
 * - Created (if missing): repartition topics (no retention: purged explicitly, see ./purge.ts),
 *   one compacted changelog topic per store, one dead-letter topic per source topic.
 * - Output topics must already exist.
 */
import { AppError, ErrorCode, isAppError } from '../errors/index.ts';
import { CleanupPolicy, type Log, type TopicSpec } from '../log/index.ts';
import { dlqTopicOf } from './dead-letter.ts';
import type { SubTopology, Topology } from './node.ts';

/** Partitions per sub-topology id; creates repartition, changelog and dead-letter topics. */
export async function ensureTopics(log: Log, t: Topology): Promise<Map<number, number>> {
  const repartition = new Set(t.repartitionTopics.map((r) => r.topic));
  const partitionsOf = new Map<string, number>();
  for (const sub of t.subtopologies) {
    for (const topic of sub.sourceTopics) {
      if (repartition.has(topic)) continue;
      partitionsOf.set(topic, (await log.describeTopic(topic)).partitions);
    }
  }
  // Repartition topics: explicit count, or the most partitions among the writer's sources.
  let pending = [...t.repartitionTopics];
  while (pending.length > 0) {
    const next = pending.filter((r) => {
      if (r.partitions !== undefined) {
        partitionsOf.set(r.topic, r.partitions);
        return false;
      }
      const writer = t.subtopologies[r.writer] as SubTopology;
      const counts = writer.sourceTopics.map((s) => partitionsOf.get(s));
      if (counts.some((c) => c === undefined)) return true;
      partitionsOf.set(r.topic, Math.max(...(counts as number[])));
      return false;
    });
    if (next.length === pending.length) {
      throw new AppError(ErrorCode.STREAMS_TOPOLOGY, 'cannot size repartition topics (cycle)');
    }
    pending = next;
  }
  const subPartitions = new Map<number, number>();
  for (const sub of t.subtopologies) {
    const counts = new Set(sub.sourceTopics.map((s) => partitionsOf.get(s) as number));
    if (counts.size !== 1) {
      throw new AppError(
        ErrorCode.STREAMS_TOPOLOGY,
        `co-partitioned topics ${sub.sourceTopics.join(', ')} have different partition counts`,
      );
    }
    subPartitions.set(sub.id, [...counts][0] as number);
  }
  const specs: TopicSpec[] = [];
  for (const r of t.repartitionTopics) {
    // Kept until explicitly purged: event-time timestamps must not make retention drop unread data.
    specs.push({ name: r.topic, partitions: partitionsOf.get(r.topic) as number, retentionMs: null });
  }
  for (const sub of t.subtopologies) {
    const n = subPartitions.get(sub.id) as number;
    for (const store of sub.stores) {
      specs.push({
        name: t.changelogTopic(store),
        partitions: n,
        retentionMs: null,
        cleanupPolicy: CleanupPolicy.COMPACT,
      });
    }
    for (const topic of sub.sourceTopics) specs.push({ name: dlqTopicOf(topic), partitions: n });
  }
  await log.createTopics(specs);
  const missing: string[] = [];
  for (const topic of t.outputTopics) {
    try {
      await log.describeTopic(topic);
    } catch (err) {
      if (isAppError(err, ErrorCode.LOG_UNKNOWN_TOPIC)) missing.push(topic);
      else throw err;
    }
  }
  if (missing.length > 0) {
    throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `output topics do not exist: ${missing.join(', ')}`);
  }
  return subPartitions;
}

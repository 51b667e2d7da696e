/**
 * The log's topic and group administration that reads or writes its metadata: a new topic's
 * partitions opened and journaled, and the consumer groups described.
 */

import type { GroupDescription, TopicDescription } from '../types.ts';
import type { GroupCoordinator } from './consumer.ts';
import type { LogMetadata, TopicState } from './log-metadata.ts';
import { PartitionLog, type PartitionLogOptions } from './partition-log.ts';

/**
 * Opens (creating) every partition of the new topic `desc` under `partitionDir(p)`, registers the
 * topic and journals it (not yet fsynced: the caller syncs once for all topics it creates).
 */
export async function openTopic(
  meta: LogMetadata,
  desc: TopicDescription,
  partitionDir: (partition: number) => string,
  partitionOptions: PartitionLogOptions,
): Promise<TopicState> {
  const t: TopicState = { desc, parts: [], rr: 0 };
  for (let p = 0; p < desc.partitions; p++) {
    const opened = await PartitionLog.open(partitionDir(p), desc.name, p, partitionOptions);
    t.parts.push(opened.log);
  }
  meta.topics.set(desc.name, t);
  meta.append({
    t: 'topic',
    name: desc.name,
    partitions: desc.partitions,
    retentionMs: desc.retentionMs,
    cleanupPolicy: desc.cleanupPolicy,
  });
  return t;
}

/** Every group with committed offsets or live members, sorted by id. */
export function groupDescriptions(
  meta: LogMetadata,
  groups: ReadonlyMap<string, GroupCoordinator>,
): GroupDescription[] {
  const ids = new Set([
    ...meta.offsets.keys(),
    ...[...groups].filter(([, g]) => g.members.size > 0).map(([id]) => id),
  ]);
  return [...ids].sort().map((groupId) => ({
    groupId,
    members: groups.get(groupId)?.members.size ?? 0,
    offsets: meta.groupOffsets(groupId),
  }));
}

import { Topics } from '../events/index.ts';
import type { TopicSpec } from '../log/index.ts';
import { dlqTopicOf } from '../streams/index.ts';

const DLQ_RETENTION_MS = 30 * 86_400_000;

/**
 * Every topic the platform needs (docs/topics.md) and the dead-letter topics of its two input topics, with
 * the partitions and retention asked for (a dead-letter topic has its source’s partitions: the streams
 * layer writes a failed record to the partition it came from). Internal topics (repartition, changelog) are created by the
 * streams layer for each application.
 */
export function platformTopics(): TopicSpec[] {
  const specs: TopicSpec[] = Object.values(Topics).map((t) => ({
    name: t.name,
    partitions: t.partitions,
    retentionMs: t.retentionMs,
    cleanupPolicy: 'delete',
  }));
  for (const t of [Topics.chatMessages, Topics.messageViews]) {
    specs.push({
      name: dlqTopicOf(t.name),
      partitions: t.partitions,
      retentionMs: DLQ_RETENTION_MS,
      cleanupPolicy: 'delete',
    });
  }
  return specs;
}

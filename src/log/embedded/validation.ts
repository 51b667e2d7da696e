/** Checks of what callers hand the embedded log: its options, topic specs, offsets, deletions. */

import { AppError, ErrorCode } from '../../errors/index.ts';
import { validateTopicSpec } from '../assignor.ts';
import { CleanupPolicy, type TopicDescription, type TopicPartitionOffset, type TopicSpec } from '../types.ts';
import type { EmbeddedLogOptions } from './embedded-types.ts';
import type { OffsetsTuple } from './log-metadata.ts';

const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;

export function invalid(message: string, context?: Record<string, string | number | null>): AppError {
  return new AppError(ErrorCode.LOG_INVALID_ARGUMENT, message, context === undefined ? {} : { context });
}

/** LOG_INVALID_ARGUMENT naming the option, the value and what was expected. */
export function validateOptions(options: EmbeddedLogOptions): void {
  if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) {
    throw invalid('dataDir must be a non-empty path');
  }
  const fsync = options.fsync ?? 'interval';
  if (!['always', 'interval', 'never'].includes(fsync)) {
    throw invalid(`fsync must be 'always', 'interval' or 'never', got ${String(fsync)}`);
  }
  const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
  if (!Number.isInteger(segmentBytes) || segmentBytes < 1024) {
    throw invalid(`segmentBytes must be an integer >= 1024, got ${segmentBytes}`);
  }
  const onCorruption = options.onCorruption ?? 'refuse';
  if (onCorruption !== 'refuse' && onCorruption !== 'quarantine') {
    throw invalid(`onCorruption must be 'refuse' or 'quarantine', got ${String(onCorruption)}`);
  }
}

/** The description of a topic to create, defaults applied (retention 7 days, cleanup 'delete'). */
export function topicDescription(spec: TopicSpec): TopicDescription {
  validateTopicSpec(spec); // the rules both adapters share (../assignor.ts)
  const retentionMs = spec.retentionMs === undefined ? DEFAULT_RETENTION_MS : spec.retentionMs;
  const cleanupPolicy = spec.cleanupPolicy ?? CleanupPolicy.DELETE;
  return { name: spec.name, partitions: spec.partitions, retentionMs, cleanupPolicy };
}

/** Offsets to commit as journal tuples: `check` throws for a partition that is unknown or refused. */
export function offsetsTuples(
  offsets: readonly TopicPartitionOffset[],
  check: (o: TopicPartitionOffset) => unknown,
): OffsetsTuple[] {
  return offsets.map((o) => {
    check(o);
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw invalid(`committed offset must be a non-negative integer`, {
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
      });
    }
    return [o.topic, o.partition, o.offset, o.metadata ?? null];
  });
}

/** `deleteRecords(topic, partition, beforeOffset)` on a partition whose high watermark is `highWatermark`. */
export function checkDeleteRecords(
  desc: TopicDescription,
  highWatermark: number,
  partition: number,
  beforeOffset: number,
): void {
  const topic = desc.name;
  if (!Number.isSafeInteger(beforeOffset) || beforeOffset < 0) {
    throw invalid('deleteRecords: beforeOffset must be a non-negative integer', {
      topic,
      partition,
      offset: beforeOffset,
    });
  }
  if (desc.cleanupPolicy === CleanupPolicy.COMPACT) {
    throw invalid(`records of topic ${topic} cannot be deleted: its cleanup policy is compact`, {
      topic,
      partition,
    });
  }
  if (beforeOffset > highWatermark) {
    throw new AppError(
      ErrorCode.LOG_OFFSET_OUT_OF_RANGE,
      `deleteRecords: offset ${beforeOffset} is beyond the high watermark ${highWatermark} of ${topic}:${partition}`,
      { context: { topic, partition, offset: beforeOffset, highWatermark } },
    );
  }
}

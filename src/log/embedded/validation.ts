/** Checks of what callers hand the embedded log: its options and topic specs. */

import { AppError, ErrorCode } from '../../errors/index.ts';
import { validateTopicSpec } from '../assignor.ts';
import { CleanupPolicy, type TopicDescription, type TopicSpec } from '../types.ts';
import type { EmbeddedLogOptions } from './embedded-types.ts';

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

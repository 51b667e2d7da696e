/**
 * One maintenance pass (every `maintenanceIntervalMs`, or `runMaintenance()`): retention deletes whole
 * segments whose newest record is older than the topic's `retentionMs`; compaction rewrites closed
 * segments below the LSO keeping the latest record per key (tombstones kept for
 * `tombstoneRetentionMs`), offsets unchanged (./partition-cleanup.ts). Refused partitions and one the
 * scrub is repairing are left alone; producers and consumers run between partitions.
 */

import { CleanupPolicy } from '../types.ts';
import type { MaintenanceReport } from './embedded-types.ts';
import type { TopicState } from './log-metadata.ts';

export interface MaintenanceOptions {
  readonly nowMs: number;
  readonly tombstoneRetentionMs: number;
  /** Close the active segment of compacted topics first, so that all of their records can be cleaned. */
  readonly rollActiveSegments: boolean;
  /** Checked between partitions: true ends the pass (the log closes). */
  readonly stopped: () => boolean;
}

export async function maintenancePass(
  topics: Iterable<TopicState>,
  o: MaintenanceOptions,
): Promise<MaintenanceReport> {
  let deletedSegments = 0;
  let compactedRecords = 0;
  for (const t of topics) {
    const policy = t.desc.cleanupPolicy;
    for (const p of t.parts) {
      if (o.stopped()) break;
      if (p.failure !== undefined || p.repairing) continue;
      if (policy !== CleanupPolicy.COMPACT && t.desc.retentionMs !== null) {
        deletedSegments += p.deleteExpired(o.nowMs - t.desc.retentionMs);
      }
      if (policy !== CleanupPolicy.DELETE) {
        compactedRecords += p.compact(o.nowMs - o.tombstoneRetentionMs, o.rollActiveSegments);
      }
      // let producers and consumers run between partitions
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return { deletedSegments, compactedRecords };
}

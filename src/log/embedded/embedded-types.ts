/**
 * The embedded log's public types: its options, what recovery on open reports, and the `EmbeddedLog`
 * interface (a `Log` plus maintenance hooks). Implemented in ./embedded-log.ts.
 */

import type { Clock } from '../../clock/index.ts';
import type { Log } from '../types.ts';
import type { CorruptionPolicy, RecoveryEvent } from './partition-recovery.ts';
import type { ScrubReport } from './scrub.ts';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface EmbeddedLogOptions {
  /** The data dir; the log lives in `<dataDir>/log/`. */
  readonly dataDir: string;
  /** When a send/commit is durable: 'always' = fsynced before it resolves. Default 'interval'. */
  readonly fsync?: FsyncPolicy;
  /** Background fsync period under 'interval', ms. Default 1000. */
  readonly fsyncIntervalMs?: number;
  /** A segment is rolled when it would exceed this size, bytes. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Wall clock for default record timestamps, retention and tombstone expiry. Default system clock. */
  readonly clock?: Clock;
  /** Period of background retention and compaction, ms. Default 60 000. */
  readonly maintenanceIntervalMs?: number;
  /** How long a tombstone survives compaction, ms (Kafka's delete.retention.ms). Default 86 400 000. */
  readonly tombstoneRetentionMs?: number;
  /**
   * A corrupt frame (or journal entry) found on open: 'refuse' (default) leaves that partition
   * closed with LOG_CORRUPT (the journal: the whole log), 'quarantine' moves the bad bytes to a
   * quarantine file and serves around them. See ./partition-recovery.ts.
   */
  readonly onCorruption?: CorruptionPolicy;
  /** Receives every recovery action as it happens (the app logs them at warn). */
  readonly onRecoveryEvent?: (event: RecoveryEvent) => void;
  /**
   * Open for reading only (`topics list`, `log verify`): a shared lock, nothing written — no torn
   * tail cut, no marker, no journal snapshot; every write fails with LOG_READ_ONLY.
   */
  readonly readOnly?: boolean;
  /** Scan every segment on open instead of trusting intact indexes (`msgtrack log repair`). */
  readonly scanAll?: boolean;
  /**
   * After open, check in the background every segment byte no scan has checked yet (./scrub.ts).
   * Default true; never on a read-only open.
   */
  readonly scrub?: boolean;
}

export interface RecoveryReport {
  /** Bytes of torn writes cut from segment tails. */
  readonly truncatedBytes: number;
  /** Bytes of a torn journal tail ignored. */
  readonly journalTruncatedBytes: number;
  /** Transactions completed on open (decided before the crash, markers missing). */
  readonly committedTransactions: number;
  /** Transactions aborted on open (open, undecided at the crash). */
  readonly abortedTransactions: number;
  /** Bytes moved to quarantine files (segments and journal; policy 'quarantine'). */
  readonly quarantinedBytes: number;
  /** Partitions that refused to open (LOG_CORRUPT), with the reason. */
  readonly corruptPartitions: readonly { topic: string; partition: number; message: string }[];
  /** Everything recovery did, in order (each was also given to `onRecoveryEvent`). */
  readonly events: readonly RecoveryEvent[];
}

export interface MaintenanceReport {
  readonly deletedSegments: number;
  readonly compactedRecords: number;
}

/** The embedded log: a `Log` plus maintenance hooks. */
export interface EmbeddedLog extends Log {
  readonly kind: 'embedded';
  readonly dataDir: string;
  readonly recovery: RecoveryReport;
  /**
   * Run retention and compaction now. `rollActiveSegments` first closes the active segment of
   * compacted topics so that all of their records can be cleaned (tests; Kafka's segment.ms).
   */
  runMaintenance(options?: { rollActiveSegments?: boolean }): Promise<MaintenanceReport>;
  /** fsync everything written so far. */
  sync(): Promise<void>;
  /**
   * The scrub's result: the pass started at open (./scrub.ts), or, once that one finished, a new pass
   * over what no scan has checked since (segments written meanwhile).
   */
  scrub(): Promise<ScrubReport>;
}

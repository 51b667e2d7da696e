/**
 * One partition's in-memory state, shared by the modules that make up a partition: appends
 * (./partition-append.ts), reads (./partition-read.ts), retention and compaction
 * (./partition-cleanup.ts). `PartitionLog` (./partition-log.ts) owns it and is the only way in for
 * everything else.
 */

import * as fs from 'node:fs';
import type { CorruptionPolicy, RecoveryEvent } from './partition-recovery.ts';
import { type AbortedTxn, fsyncDir, openSegmentFile, type Segment, summaryOf } from './segment.ts';
import { writeIndex } from './segment-index.ts';

export interface PartitionLogOptions {
  readonly segmentBytes: number;
  /**
   * The fsync policy is not 'never': fsync the old segment on roll, directories on segment
   * creation/removal, and fdatasync what was written at open (markers) and at close.
   */
  readonly syncOnRoll: boolean;
  /** The log start offset recorded by an earlier `advanceLogStartOffset` (journal); default 0. */
  readonly logStartOffset?: number;
  /**
   * The next offset is at least this (default 0): offsets handed out before, as the journal knows
   * them (high watermarks, group commits), so that a cut or quarantined tail never reuses them.
   */
  readonly offsetFloor?: number;
  /** What to do with a corrupt frame (default 'refuse'), see ./partition-recovery.ts. */
  readonly onCorruption?: CorruptionPolicy;
  /** Open without writing anything (reads only). */
  readonly readOnly?: boolean;
  /** Scan every segment on open, not only those without an intact index (repair). */
  readonly scanAll?: boolean;
  /** Receives every recovery action. */
  readonly emit?: (event: RecoveryEvent) => void;
}

export interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly options: PartitionLogOptions;
  /** Segment files in offset order; the last one ("active") receives appends. */
  segments: Segment[];
  /** The offset the next appended record gets. */
  nextOffset: number;
  /** High watermark: everything below is written to the segment files. */
  hw: number;
  /** Log start offset: at least the first segment's base offset; nothing below it is served. */
  start: number;
  /** Producer id → first offset of its open transaction here (the LSO is the smallest). */
  readonly openTxns: Map<number, number>;
  /** Producer id → offset range of its last aborted transaction here. */
  readonly aborted: Map<number, AbortedTxn>;
  /** Segment fds written since the last fsync. */
  readonly dirtyFds: Set<number>;
  /** Run once when records are written. */
  readonly waiters: Set<() => void>;
}

export function activeSegment(s: PartitionState): Segment {
  return s.segments[s.segments.length - 1]!;
}

export function lastStableOffset(s: PartitionState): number {
  let lso = s.hw;
  for (const first of s.openTxns.values()) if (first < lso) lso = first;
  return lso;
}

/** Run (and forget) the callbacks waiting for records. */
export function wake(s: PartitionState): void {
  if (s.waiters.size === 0) return;
  const ws = [...s.waiters];
  s.waiters.clear();
  for (const w of ws) w();
}

/** Write `seg`'s index; a failure only costs a scan on the next open (reported as such). */
export function saveIndex(s: PartitionState, seg: Segment): void {
  const err = writeIndex(seg.file, summaryOf(seg));
  if (err !== undefined) {
    s.options.emit?.({
      action: 'rescanned',
      message: `${s.topic}:${s.partition}: could not write the index of ${seg.file} (${err.message}); the next open scans it`,
      topic: s.topic,
      partition: s.partition,
      file: seg.file,
    });
  }
}

/** Seal the active segment (fsynced, indexed) and start a new one at `baseOffset`. */
export function roll(s: PartitionState, baseOffset: number): Segment {
  const old = activeSegment(s);
  if (s.options.syncOnRoll) {
    fs.fsyncSync(old.fd);
    s.dirtyFds.delete(old.fd);
  }
  const seg = openSegmentFile(s.dir, baseOffset, 'create');
  if (s.options.syncOnRoll) fsyncDir(s.dir);
  s.segments.push(seg);
  saveIndex(s, old);
  return seg;
}

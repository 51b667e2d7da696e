/**
 * Retention and compaction of one partition: whole segments go when their newest record is older than
 * the retention (or below the log start offset after `deleteRecords`); compaction rewrites the closed
 * segments below the LSO keeping the latest record per key, offsets unchanged, through
 * `<segment>.cleaned` + fsync + rename (atomic).
 */

import * as fs from 'node:fs';
import type { LogRecord } from '../types.ts';
import { type EncodableRecord, encodeBatch } from './format.ts';
import { activeSegment, lastStableOffset, type PartitionState, saveIndex } from './partition-state.ts';
import { addBatch, emptySegment, fsyncDir, type Segment } from './segment.ts';
import { removeIndex } from './segment-index.ts';

/** What cleanup needs of the partition besides its state: writing what is queued, rolling, reading. */
export interface CleanupHost {
  flush(): void;
  rollIfNotEmpty(): void;
  read(from: number, to: number, max: number, readCommitted: boolean, out: LogRecord[]): number;
}

/**
 * Delete whole segments whose newest record is older than `cutoffMs`. If every record is expired,
 * the active segment is rolled first so that it can go too. Returns the number of segments deleted.
 */
export function deleteExpired(s: PartitionState, host: CleanupHost, cutoffMs: number): number {
  host.flush();
  const active = activeSegment(s);
  if (active.size > 0 && active.maxTimestamp < cutoffMs && s.openTxns.size === 0) host.rollIfNotEmpty();
  let deleted = 0;
  while (s.segments.length > 1) {
    const seg = s.segments[0]!;
    if (seg.maxTimestamp >= cutoffMs) break;
    // never delete records of a transaction that is still open
    if (lastStableOffset(s) <= seg.lastOffset) break;
    removeFirstSegment(s);
    deleted++;
  }
  if (deleted > 0) afterSegmentsDeleted(s);
  return deleted;
}

/**
 * Delete the segments wholly below the log start offset (Kafka's rule: a segment goes when the next
 * one starts at or below it; the active segment stays). Returns the number deleted.
 */
export function deleteSegmentsBelowStart(s: PartitionState): number {
  let deleted = 0;
  while (s.segments.length > 1 && s.segments[1]!.baseOffset <= s.start) {
    removeFirstSegment(s);
    deleted++;
  }
  if (deleted > 0) afterSegmentsDeleted(s);
  return deleted;
}

function removeFirstSegment(s: PartitionState): void {
  const seg = s.segments.shift()!;
  fs.closeSync(seg.fd);
  s.dirtyFds.delete(seg.fd);
  fs.rmSync(seg.file, { force: true });
  removeIndex(seg.file);
}

function afterSegmentsDeleted(s: PartitionState): void {
  s.start = Math.max(s.start, s.segments[0]!.baseOffset);
  const start = s.start;
  for (const [pid, a] of s.aborted) if (a.last < start) s.aborted.delete(pid);
  if (s.options.syncOnRoll) fsyncDir(s.dir);
}

/**
 * Compact the closed segments below the LSO: keep only the latest record per key (over the whole
 * partition), drop tombstones older than `tombstoneCutoffMs`, aborted records and markers. Kept
 * records keep their offsets. Each segment is rewritten to `<name>.cleaned`, fsynced, then renamed
 * over the original (atomic). Returns the number of records removed.
 */
export function compact(
  s: PartitionState,
  host: CleanupHost,
  tombstoneCutoffMs: number,
  rollActive: boolean,
): number {
  host.flush();
  if (rollActive && s.openTxns.size === 0) host.rollIfNotEmpty();
  const lso = lastStableOffset(s);
  const closed = s.segments.slice(0, -1).filter((seg) => seg.lastOffset < lso);
  if (closed.length === 0) return 0;
  // Pass 1: latest offset per key below the LSO (closed segments and the stable part of the active one).
  const latest = new Map<string, number>();
  for (let pos = s.start; pos < lso; ) {
    const chunk: LogRecord[] = [];
    const next = host.read(pos, lso, 10_000, true, chunk);
    for (const r of chunk) if (r.key !== null) latest.set(r.key.toString('latin1'), r.offset);
    if (next <= pos) break;
    pos = next;
  }
  let removed = 0;
  for (const seg of closed) {
    const records: LogRecord[] = [];
    const from = Math.max(seg.baseOffset, s.start);
    host.read(from, seg.lastOffset + 1, Number.MAX_SAFE_INTEGER, true, records);
    const kept = records.filter((r) => {
      if (r.key === null) return true;
      if (latest.get(r.key.toString('latin1')) !== r.offset) return false;
      return !(r.value === null && r.timestamp < tombstoneCutoffMs);
    });
    if (kept.length === seg.records) continue;
    removed += seg.records - kept.length;
    rewriteSegment(s, seg, kept);
  }
  return removed;
}

function rewriteSegment(s: PartitionState, seg: Segment, kept: readonly LogRecord[]): void {
  const tmp = `${seg.file}.cleaned`;
  const fd = fs.openSync(tmp, 'w+');
  const fresh = emptySegment(seg.file, fd, seg.baseOffset);
  // One batch per ~64 KiB of kept records; the last offset of the segment is kept by an empty
  // batch at the end only if needed (it is not: nextOffset comes from the active segment).
  let batch: EncodableRecord[] = [];
  let batchBytes = 0;
  const emit = (): void => {
    if (batch.length === 0) return;
    const base = batch[0]!.offset!;
    const buf = encodeBatch(base, 0, 0, batch);
    fs.writeSync(fd, buf, 0, buf.length, fresh.size);
    let maxTimestamp = -1;
    for (const r of batch) if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
    addBatch(
      fresh,
      base,
      batch[batch.length - 1]!.offset!,
      maxTimestamp,
      fresh.size,
      buf.length,
      batch.length,
    );
    fresh.size += buf.length;
    batch = [];
    batchBytes = 0;
  };
  for (const r of kept) {
    batch.push({
      key: r.key,
      value: r.value,
      headers: r.headers,
      timestamp: r.timestamp,
      offset: r.offset,
    });
    batchBytes += (r.value?.length ?? 0) + (r.key?.length ?? 0) + 32;
    if (batchBytes >= 65536) emit();
  }
  emit();
  if (fresh.maxTimestamp < 0) fresh.maxTimestamp = seg.maxTimestamp;
  // Keep the segment's offset range known even if the tail records were removed.
  fresh.lastOffset = seg.lastOffset;
  fs.fsyncSync(fd);
  fs.renameSync(tmp, seg.file);
  fsyncDir(s.dir);
  fs.closeSync(seg.fd);
  s.dirtyFds.delete(seg.fd);
  const i = s.segments.indexOf(seg);
  s.segments[i] = fresh;
  saveIndex(s, fresh);
}

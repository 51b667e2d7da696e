/**
 * A segment file's in-memory state (sparse index, offsets, transaction events) and the transaction
 * state a partition derives from its segments' events, shared by recovery and the partition log.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, type BatchHeader, MARKER_COMMIT } from './format.ts';
import { type SegmentSummary, type TxnEvent, TxnKind } from './segment-index.ts';

export const INDEX_INTERVAL_BYTES = 4096;
export const SEGMENT_SUFFIX = '.seg';

export interface Segment {
  baseOffset: number;
  readonly file: string;
  fd: number;
  /** Bytes written. */
  size: number;
  /**
   * Bytes from the start whose frames a scan has CRC-checked (recovery, the scrub after open); the
   * rest was written by this process or trusted from the index, and is checked by the next scrub.
   */
  verifiedBytes: number;
  /** Offset of the last record (or marker) in the segment; baseOffset - 1 when empty. */
  lastOffset: number;
  /** Largest record timestamp; -1 when empty. */
  maxTimestamp: number;
  idxOffsets: number[];
  idxPositions: number[];
  /** Largest timestamp before each index entry's position (-1: none). */
  idxTimes: number[];
  bytesSinceIndex: number;
  /** Records (including markers) stored in the segment. */
  records: number;
  /** Transactional batches that may change the transaction state, in order (see ./segment-index.ts). */
  txnEvents: TxnEvent[];
  /** Last event kind recorded per producer id here (consecutive data batches are recorded once). */
  txnLast: Map<number, number>;
}

export interface AbortedTxn {
  readonly first: number;
  readonly last: number;
}

export function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0') + SEGMENT_SUFFIX;
}

export function emptySegment(file: string, fd: number, baseOffset: number): Segment {
  return {
    baseOffset,
    file,
    fd,
    size: 0,
    verifiedBytes: 0,
    lastOffset: baseOffset - 1,
    maxTimestamp: -1,
    idxOffsets: [],
    idxPositions: [],
    idxTimes: [],
    bytesSinceIndex: 0,
    records: 0,
    txnEvents: [],
    txnLast: new Map(),
  };
}

export function openSegmentFile(dir: string, baseOffset: number, mode: 'create' | 'write' | 'read'): Segment {
  const file = path.join(dir, segmentName(baseOffset));
  const fd = fs.openSync(file, mode === 'create' ? 'wx+' : mode === 'write' ? 'r+' : 'r');
  return emptySegment(file, fd, baseOffset);
}

export function segmentFromSummary(file: string, fd: number, s: SegmentSummary): Segment {
  const seg: Segment = {
    baseOffset: s.baseOffset,
    file,
    fd,
    size: s.size,
    verifiedBytes: s.verifiedBytes,
    lastOffset: s.lastOffset,
    maxTimestamp: s.maxTimestamp,
    idxOffsets: [...s.offsets],
    idxPositions: [...s.positions],
    idxTimes: [...s.times],
    bytesSinceIndex: s.bytesSinceIndex,
    records: s.records,
    txnEvents: [...s.txnEvents],
    txnLast: new Map(),
  };
  for (const e of seg.txnEvents) seg.txnLast.set(e[0], e[1]);
  return seg;
}

export function summaryOf(seg: Segment): SegmentSummary {
  return {
    baseOffset: seg.baseOffset,
    size: seg.size,
    verifiedBytes: seg.verifiedBytes,
    lastOffset: seg.lastOffset,
    maxTimestamp: seg.maxTimestamp,
    records: seg.records,
    bytesSinceIndex: seg.bytesSinceIndex,
    offsets: seg.idxOffsets,
    positions: seg.idxPositions,
    times: seg.idxTimes,
    txnEvents: seg.txnEvents,
  };
}

/** Account for a batch written at `filePos` (sparse index entry every ~4 KiB, offsets, timestamps). */
export function addBatch(
  seg: Segment,
  baseOffset: number,
  lastOffset: number,
  maxTimestamp: number,
  filePos: number,
  frameBytes: number,
  count: number,
): void {
  seg.records += count;
  if (seg.idxOffsets.length === 0 || seg.bytesSinceIndex >= INDEX_INTERVAL_BYTES) {
    seg.idxOffsets.push(baseOffset);
    seg.idxPositions.push(filePos);
    seg.idxTimes.push(seg.maxTimestamp);
    seg.bytesSinceIndex = 0;
  }
  seg.bytesSinceIndex += frameBytes;
  seg.lastOffset = lastOffset;
  if (maxTimestamp > seg.maxTimestamp) seg.maxTimestamp = maxTimestamp;
}

/** The transaction event kind of a batch, undefined for a non-transactional one. */
export function txnKindOf(h: BatchHeader, marker: () => number): number | undefined {
  if ((h.attributes & ATTR_TRANSACTIONAL) === 0) return undefined;
  if ((h.attributes & ATTR_CONTROL) === 0) return TxnKind.DATA;
  return marker() === MARKER_COMMIT ? TxnKind.COMMIT : TxnKind.ABORT;
}

/** Record a transactional batch's event in `seg`; undefined when it changes nothing (a repeat). */
export function recordTxnEvent(
  seg: Segment,
  producerId: number,
  kind: number,
  baseOffset: number,
  lastOffset: number,
): TxnEvent | undefined {
  if (kind === TxnKind.DATA && seg.txnLast.get(producerId) === TxnKind.DATA) return undefined;
  const e: TxnEvent = [producerId, kind, baseOffset, lastOffset];
  seg.txnEvents.push(e);
  seg.txnLast.set(producerId, kind);
  return e;
}

/** Apply one event to a partition's transaction state. */
export function applyTxnEvent(
  openTxns: Map<number, number>,
  aborted: Map<number, AbortedTxn>,
  e: TxnEvent,
): void {
  const [pid, kind, base, last] = e;
  if (kind === TxnKind.DATA) {
    if (!openTxns.has(pid)) openTxns.set(pid, base);
    return;
  }
  const first = openTxns.get(pid);
  if (first === undefined) return; // a marker of a transaction with no records here (or compacted away)
  openTxns.delete(pid);
  if (kind === TxnKind.ABORT) aborted.set(pid, { first, last });
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

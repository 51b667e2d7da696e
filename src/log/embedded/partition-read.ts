/**
 * Reads of one partition: the segment holding an offset (binary search over base offsets), then the
 * sparse index entry at or below it, then chunks of up to a few MiB read with one `readSync` each;
 * every frame's CRC is checked before it is decoded. A bad frame is handed to `corrupt` (the partition
 * refuses further use, see ./partition-log.ts), never served.
 */

import * as fs from 'node:fs';
import type { AppError } from '../../errors/index.ts';
import type { LogRecord } from '../types.ts';
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  checkFrame,
  decodeRecords,
  FrameCheck,
  readBatchHeader,
} from './format.ts';
import type { PartitionState } from './partition-state.ts';
import type { Segment } from './segment.ts';

/** The index of the segment holding `offset` (the last one whose base offset is at or below it). */
export function segmentFor(segs: readonly Segment[], offset: number): number {
  let lo = 0;
  let hi = segs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segs[mid]!.baseOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function isAborted(s: PartitionState, producerId: number, offset: number): boolean {
  const a = s.aborted.get(producerId);
  return a !== undefined && a.first <= offset && offset <= a.last;
}

/**
 * Read records with offsets in `[from, to)` (at most `max`) into `out`, skipping markers and, if
 * `readCommitted`, records of aborted transactions. Returns the next offset to read. A bad frame at
 * byte `at` of `seg` throws `corrupt(seg, at)`.
 */
export function readRecords(
  s: PartitionState,
  from: number,
  to: number,
  max: number,
  readCommitted: boolean,
  out: LogRecord[],
  corrupt: (seg: Segment, at: number) => AppError,
): number {
  // Records below the log start offset may still be in its segment: never served.
  let pos = from < s.start ? Math.min(s.start, to) : from;
  const start = out.length;
  let si = segmentFor(s.segments, pos);
  /** Where the next chunk starts when the previous one ended inside a frame (same segment). */
  let resumeAt = -1;
  while (pos < to && out.length - start < max) {
    const seg = s.segments[si];
    if (seg === undefined) break;
    if (pos > seg.lastOffset || seg.size === 0) {
      si++;
      resumeAt = -1;
      const next = s.segments[si];
      if (next === undefined) {
        // Offsets after the last record and below the high watermark hold nothing (a next offset
        // raised on recovery): skip them.
        pos = Math.max(pos, Math.min(to, s.hw));
        break;
      }
      if (next.baseOffset > pos) pos = next.baseOffset;
      continue;
    }
    let filePos = resumeAt;
    if (filePos < 0) {
      // sparse index: last entry at or below pos
      const offs = seg.idxOffsets;
      let lo = 0;
      let hi = offs.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (offs[mid]! <= pos) lo = mid;
        else hi = mid - 1;
      }
      filePos = seg.idxPositions[lo] ?? 0;
    }
    resumeAt = -1;
    const wanted = Math.min(
      seg.size - filePos,
      Math.max(16384, Math.min(4 * 1024 * 1024, (max - (out.length - start)) * 400)),
    );
    let buf = Buffer.allocUnsafe(wanted);
    let got = fs.readSync(seg.fd, buf, 0, wanted, filePos);
    let p = 0;
    let progressed = false;
    while (p < got && pos < to && out.length - start < max) {
      const { check, frameBytes } = checkFrame(buf, p, got);
      if (check === FrameCheck.INCOMPLETE) {
        if (p === 0) {
          // a frame larger than the chunk: read it whole
          buf = Buffer.allocUnsafe(frameBytes);
          got = fs.readSync(seg.fd, buf, 0, frameBytes, filePos);
          if (got < frameBytes) throw corrupt(seg, filePos);
          continue;
        }
        // The chunk ends inside this frame: the next chunk starts at it (never the same chunk again).
        resumeAt = filePos + p;
        break;
      }
      if (check === FrameCheck.INVALID) throw corrupt(seg, filePos + p);
      progressed = true;
      const h = readBatchHeader(buf, p);
      if (h.lastOffset >= pos) {
        if (h.baseOffset >= to) {
          pos = to;
          break;
        }
        const tx = (h.attributes & ATTR_TRANSACTIONAL) !== 0;
        if ((h.attributes & ATTR_CONTROL) !== 0) {
          pos = h.lastOffset + 1;
        } else if (tx && readCommitted && isAborted(s, h.producerId, h.baseOffset)) {
          pos = h.lastOffset + 1;
        } else {
          pos = decodeRecords(buf, p, s.topic, s.partition, pos, to, max - (out.length - start), out);
        }
      }
      p += frameBytes;
    }
    if (!progressed) break;
    if (filePos + p >= seg.size && pos < to && out.length - start < max) {
      // Nothing more in this segment (compaction may have removed its last records).
      pos = Math.max(pos, Math.min(seg.lastOffset + 1, to));
    }
  }
  return pos;
}

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
  FRAME_HEADER_BYTES,
  FrameCheck,
  readBatchHeader,
} from './format.ts';
import type { PartitionState } from './partition-state.ts';
import type { Segment } from './segment.ts';

/**
 * Where a read that stopped inside a frame (at `max` records) left off: the chunk it read, and the
 * frame (already CRC-checked) holding offset `next`. A reader that continues at `next` (a consumer's
 * next poll) resumes there: the frame is neither read from the file nor checked again — without
 * it, a large batch handed out a few hundred records per poll was read and checked once per poll.
 */
export interface ReadResume {
  seg: Segment | undefined;
  next: number;
  buf: Buffer;
  got: number;
  /** File position of `buf[0]`. */
  filePos: number;
  /** Start of the checked frame in `buf`. */
  frameAt: number;
}

/** A resume point that holds nothing (for a reader's first read). */
export function emptyResume(): ReadResume {
  return { seg: undefined, next: -1, buf: Buffer.alloc(0), got: 0, filePos: 0, frameAt: 0 };
}

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

/** The frame at `pos` of `buf`, checked by an earlier read of the same chunk. */
function checkedFrame(buf: Buffer, pos: number): { check: FrameCheck; frameBytes: number } {
  return { check: FrameCheck.OK, frameBytes: FRAME_HEADER_BYTES + buf.readUInt32LE(pos) };
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
  resume?: ReadResume,
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
    // Resume inside the frame where the previous read of this reader stopped (see ReadResume).
    const resumed = resume !== undefined && resume.seg === seg && resume.next === pos;
    let filePos = resumed ? resume.filePos : resumeAt;
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
    let buf: Buffer;
    let got: number;
    let p = 0;
    if (resumed) {
      buf = resume.buf;
      got = resume.got;
      p = resume.frameAt;
    } else {
      buf = Buffer.allocUnsafe(wanted);
      got = fs.readSync(seg.fd, buf, 0, wanted, filePos);
    }
    if (resume !== undefined) resume.seg = undefined;
    let progressed = false;
    while (p < got && pos < to && out.length - start < max) {
      const { check, frameBytes } =
        resumed && p === resume.frameAt ? checkedFrame(buf, p) : checkFrame(buf, p, got);
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
          if (resume !== undefined && pos <= h.lastOffset && pos < to) {
            // Stopped inside this frame at `max`: the next read continues here.
            resume.seg = seg;
            resume.next = pos;
            resume.buf = buf;
            resume.got = got;
            resume.filePos = filePos;
            resume.frameAt = p;
            break;
          }
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

/**
 * Scanning a segment file frame by frame (recovery on open, `msgtrack log verify`), and telling a torn
 * tail from corruption:
 * - torn tail: from some position to the end of the file there is no complete frame — the last frame
 *   is incomplete (its length runs past the end of the file) or its length field is impossible — and
 *   no valid frame can be found after it. That is what a crash mid-write leaves; cutting it loses no
 *   intact record.
 * - corruption: a complete frame whose CRC does not match, offsets that go backwards, or a frame
 *   that cannot be parsed while a valid frame follows. The bad range ends where the next valid frame
 *   starts (found by a search for a frame with a plausible header and a matching CRC) or at the end of
 *   the file.
 * The scan reads in chunks, off the event loop, and yields between them, so that a process recovering
 * or scrubbing a large segment keeps answering.
 */

import * as fs from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  BATCH_HEADER_BYTES,
  type BatchHeader,
  checkFrame,
  FRAME_HEADER_BYTES,
  FrameCheck,
  MAX_BATCH_BYTES,
  readBatchHeader,
} from './format.ts';

const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;
/** A resynchronised frame must start within this many offsets of the last good one. */
const MAX_OFFSET_JUMP = 2 ** 40;

export type ScanProblem =
  | { readonly kind: 'torn-tail'; readonly position: number; readonly bytes: number }
  | {
      readonly kind: 'corrupt';
      /** First byte of the bad range. */
      readonly position: number;
      /** End of the bad range: the next valid frame, or the end of the file. */
      readonly end: number;
      readonly reason: string;
      /** Offsets the bad range may hold: from the one after the last good record ... */
      readonly firstOffset: number;
      /** ... to before the next valid frame's base offset (undefined: to the end of the segment). */
      readonly nextBaseOffset: number | undefined;
      /** The bad frame's last offset if its header looks intact (a guess, for the offset floor). */
      readonly guessedLastOffset: number | undefined;
    };

export interface ScanResult {
  /** Bytes before the first problem (the whole file when there is none). */
  readonly validEnd: number;
  readonly problem: ScanProblem | undefined;
  /** `stop` said so before the end: nothing after `validEnd` was checked. */
  readonly stopped?: boolean;
}

/** Called for every valid frame, in order; `buf` holds the frame at `pos`. */
export type OnFrame = (buf: Buffer, pos: number, filePos: number, frameBytes: number, h: BatchHeader) => void;

/**
 * Scan `fd` (of `fileSize` bytes) from byte `from`; the first batch must have a base offset of at least
 * `expectedNext`. Stops at the first problem, or between chunks when `stop()` says so.
 */
export async function scanSegment(
  fd: number,
  fileSize: number,
  from: number,
  expectedNext: number,
  onFrame: OnFrame,
  stop?: () => boolean,
): Promise<ScanResult> {
  let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, Math.max(fileSize - from, 1)));
  let filePos = from;
  let next = expectedNext;
  while (filePos < fileSize) {
    const want = Math.min(buf.length, fileSize - filePos);
    const got = await readChunk(fd, buf, want, filePos);
    let pos = 0;
    let problem: { reason: string; complete: boolean } | undefined;
    while (pos < got) {
      const { check, frameBytes } = checkFrame(buf, pos, got);
      if (check === FrameCheck.INCOMPLETE) {
        const needed = frameBytes || FRAME_HEADER_BYTES;
        if (filePos + pos + needed > fileSize || (pos === 0 && needed <= buf.length)) {
          // past the end of the file (or the file is shorter than its size said: it shrank meanwhile)
          problem = { reason: 'incomplete frame', complete: false };
        } else if (needed > buf.length) {
          buf = Buffer.allocUnsafe(needed);
        }
        break;
      }
      if (check === FrameCheck.INVALID) {
        problem =
          frameBytes === 0
            ? { reason: 'impossible frame length', complete: false }
            : { reason: 'CRC mismatch', complete: true };
        break;
      }
      const h = readBatchHeader(buf, pos);
      if (!Number.isSafeInteger(h.baseOffset) || h.baseOffset < next || h.lastOffset < h.baseOffset) {
        problem = {
          reason: `offsets out of order (batch ${h.baseOffset}, expected ≥ ${next})`,
          complete: true,
        };
        break;
      }
      onFrame(buf, pos, filePos + pos, frameBytes, h);
      next = h.lastOffset + 1;
      pos += frameBytes;
    }
    if (problem !== undefined) {
      const at = filePos + pos;
      return { validEnd: at, problem: await classify(fd, fileSize, at, next, problem, buf, pos, got) };
    }
    filePos += pos;
    await yieldToEventLoop();
    if (stop?.() === true && filePos < fileSize)
      return { validEnd: filePos, problem: undefined, stopped: true };
  }
  return { validEnd: filePos, problem: undefined };
}

async function classify(
  fd: number,
  fileSize: number,
  at: number,
  next: number,
  found: { reason: string; complete: boolean },
  buf: Buffer,
  pos: number,
  got: number,
): Promise<ScanProblem> {
  const resync = await findNextFrame(fd, fileSize, at + 1, next);
  if (resync === undefined && (!found.complete || isZero(fd, at, fileSize))) {
    return { kind: 'torn-tail', position: at, bytes: fileSize - at };
  }
  let guessedLastOffset: number | undefined;
  if (got - pos >= FRAME_HEADER_BYTES + BATCH_HEADER_BYTES) {
    const h = readBatchHeader(buf, pos);
    const plausible =
      h.baseOffset === next && h.lastOffset >= h.baseOffset && h.lastOffset - h.baseOffset < 10_000_000;
    if (plausible) guessedLastOffset = h.lastOffset;
  }
  return {
    kind: 'corrupt',
    position: at,
    end: resync?.position ?? fileSize,
    reason: found.reason,
    firstOffset: next,
    nextBaseOffset: resync?.baseOffset,
    guessedLastOffset,
  };
}

/**
 * The first position at or after `from` where a valid frame with a plausible header (base offset a
 * safe integer in `[minOffset, minOffset + 2^40)`) starts. Reads the rest of the segment (bounded by
 * the segment size) — a repair path, not a hot one.
 */
export async function findNextFrame(
  fd: number,
  fileSize: number,
  from: number,
  minOffset: number,
): Promise<{ position: number; baseOffset: number } | undefined> {
  if (from >= fileSize) return undefined;
  const buf = Buffer.allocUnsafe(fileSize - from);
  const got = readFully(fd, buf, buf.length, from);
  const headerEnd = FRAME_HEADER_BYTES + BATCH_HEADER_BYTES;
  for (let p = 0; p + headerEnd <= got; p++) {
    if ((p & 0xfffff) === 0xfffff) await yieldToEventLoop();
    const bodyLength = buf.readUInt32LE(p);
    if (bodyLength < BATCH_HEADER_BYTES || bodyLength > MAX_BATCH_BYTES || p + 8 + bodyLength > got) continue;
    const base = buf.readDoubleLE(p + FRAME_HEADER_BYTES);
    if (!Number.isSafeInteger(base) || base < minOffset || base >= minOffset + MAX_OFFSET_JUMP) continue;
    if (checkFrame(buf, p, got).check === FrameCheck.OK) return { position: from + p, baseOffset: base };
  }
  return undefined;
}

function isZero(fd: number, from: number, to: number): boolean {
  const buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, to - from));
  for (let p = from; p < to; ) {
    const got = readFully(fd, buf, Math.min(buf.length, to - p), p);
    for (let i = 0; i < got; i++) if (buf[i] !== 0) return false;
    p += got;
  }
  return true;
}

/**
 * `readFully` off the event loop (libuv's thread pool): a chunk read from a cold disk may take far
 * longer than checking it, and the process must keep answering meanwhile.
 */
async function readChunk(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const n = await new Promise<number>((resolve, reject) => {
      fs.read(fd, buf, got, length - got, position + got, (err, bytes) => {
        if (err !== null) reject(err);
        else resolve(bytes);
      });
    });
    if (n === 0) break;
    got += n;
  }
  return got;
}

export function readFully(fd: number, buf: Buffer, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * On-disk format of a partition segment: a sequence of record batches, each framed by its length and
 * a CRC32 so that a torn or corrupt write is detected and never served.
 *
 * ```
 * frame   := u32 bodyLength | u32 crc32(body) | body                      (little-endian)
 * body    := f64 baseOffset | f64 producerId | u32 count | u8 attributes
 *            | f64 maxTimestamp | u32 lastOffsetDelta | record{count}
 * record  := u32 offsetDelta | f64 timestamp | i32 keyLength (-1 = null) | key
 *            | i32 valueLength (-1 = null) | value | u16 headerCount | header{headerCount}
 * header  := u16 nameLength | name (UTF-8) | i32 valueLength | value
 * ```
 * attributes: bit 0 = transactional (the batch belongs to the transaction of `producerId`), bit 1 =
 * control (a transaction marker: one record whose value is one byte, 1 = commit, 0 = abort).
 * Offsets inside a batch are `baseOffset + offsetDelta`: dense when produced, sparse after compaction.
 */

import { crc32 } from 'node:zlib';
import type { LogRecord, RecordHeader } from '../types.ts';

export const FRAME_HEADER_BYTES = 8;
export const BATCH_HEADER_BYTES = 33;
/** Larger bodies are treated as corrupt (a torn length field), never allocated. */
export const MAX_BATCH_BYTES = 256 * 1024 * 1024;

export const ATTR_TRANSACTIONAL = 1;
export const ATTR_CONTROL = 2;
export const MARKER_ABORT = 0;
export const MARKER_COMMIT = 1;

/** A record normalised for encoding: strings already turned into bytes. */
export interface EncodableRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  readonly timestamp: number;
  /** Only for rewritten (compacted) batches: the record's absolute offset. */
  readonly offset?: number;
}

export interface BatchHeader {
  readonly baseOffset: number;
  readonly producerId: number;
  readonly count: number;
  readonly attributes: number;
  readonly maxTimestamp: number;
  readonly lastOffset: number;
}

const EMPTY_HEADERS: readonly RecordHeader[] = Object.freeze([]);
const headerNameCache = new Map<string, Buffer>();

function headerNameBytes(name: string): Buffer {
  let b = headerNameCache.get(name);
  if (b === undefined) {
    b = Buffer.from(name, 'utf8');
    if (headerNameCache.size < 1024) headerNameCache.set(name, b);
  }
  return b;
}

function recordSize(r: EncodableRecord): number {
  let size = 22 + (r.key === null ? 0 : r.key.length) + (r.value === null ? 0 : r.value.length);
  for (const h of r.headers) size += 6 + headerNameBytes(h[0]).length + h[1].length;
  return size;
}

/**
 * Encode one framed batch. Offsets are `baseOffset + i` unless records carry their own `offset`
 * (compaction keeps original offsets).
 */
export function encodeBatch(
  baseOffset: number,
  producerId: number,
  attributes: number,
  records: readonly EncodableRecord[],
): Buffer {
  let size = FRAME_HEADER_BYTES + BATCH_HEADER_BYTES;
  let maxTimestamp = -1;
  for (const r of records) {
    size += recordSize(r);
    if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
  }
  const buf = Buffer.allocUnsafe(size);
  let p = FRAME_HEADER_BYTES;
  buf.writeDoubleLE(baseOffset, p);
  buf.writeDoubleLE(producerId, p + 8);
  buf.writeUInt32LE(records.length, p + 16);
  buf[p + 20] = attributes;
  buf.writeDoubleLE(maxTimestamp, p + 21);
  const last = records[records.length - 1];
  const lastDelta =
    last === undefined ? 0 : last.offset === undefined ? records.length - 1 : last.offset - baseOffset;
  buf.writeUInt32LE(lastDelta, p + 29);
  p += BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    buf.writeUInt32LE(r.offset === undefined ? i : r.offset - baseOffset, p);
    buf.writeDoubleLE(r.timestamp, p + 4);
    p += 12;
    if (r.key === null) {
      buf.writeInt32LE(-1, p);
      p += 4;
    } else {
      buf.writeInt32LE(r.key.length, p);
      p += 4;
      p += r.key.copy(buf, p);
    }
    if (r.value === null) {
      buf.writeInt32LE(-1, p);
      p += 4;
    } else {
      buf.writeInt32LE(r.value.length, p);
      p += 4;
      p += r.value.copy(buf, p);
    }
    buf.writeUInt16LE(r.headers.length, p);
    p += 2;
    for (const h of r.headers) {
      const name = headerNameBytes(h[0]);
      buf.writeUInt16LE(name.length, p);
      p += 2;
      p += name.copy(buf, p);
      buf.writeInt32LE(h[1].length, p);
      p += 4;
      p += h[1].copy(buf, p);
    }
  }
  buf.writeUInt32LE(size - FRAME_HEADER_BYTES, 0);
  buf.writeUInt32LE(crc32(buf.subarray(FRAME_HEADER_BYTES)), 4);
  return buf;
}

/** A transaction marker batch (control record) for `producerId`. */
export function encodeMarker(offset: number, producerId: number, commit: boolean, timestamp: number): Buffer {
  const value = Buffer.from([commit ? MARKER_COMMIT : MARKER_ABORT]);
  return encodeBatch(offset, producerId, ATTR_TRANSACTIONAL | ATTR_CONTROL, [
    { key: null, value, headers: EMPTY_HEADERS, timestamp },
  ]);
}

export function readBatchHeader(buf: Buffer, frameStart: number): BatchHeader {
  const p = frameStart + FRAME_HEADER_BYTES;
  const baseOffset = buf.readDoubleLE(p);
  return {
    baseOffset,
    producerId: buf.readDoubleLE(p + 8),
    count: buf.readUInt32LE(p + 16),
    attributes: buf[p + 20]!,
    maxTimestamp: buf.readDoubleLE(p + 21),
    lastOffset: baseOffset + buf.readUInt32LE(p + 29),
  };
}

/** The result of checking the frame at `pos` in `buf` (holding bytes `[0, end)`). */
export const FrameCheck = { OK: 0, INCOMPLETE: 1, INVALID: 2 } as const;
export type FrameCheck = (typeof FrameCheck)[keyof typeof FrameCheck];

/**
 * Check the frame at `pos`: INCOMPLETE if `buf` ends before it does (read more, or a torn tail at the
 * end of the file), INVALID if its length is impossible or its CRC does not match.
 */
export function checkFrame(buf: Buffer, pos: number, end: number): { check: FrameCheck; frameBytes: number } {
  if (end - pos < FRAME_HEADER_BYTES) return { check: FrameCheck.INCOMPLETE, frameBytes: 0 };
  const bodyLength = buf.readUInt32LE(pos);
  if (bodyLength < BATCH_HEADER_BYTES || bodyLength > MAX_BATCH_BYTES) {
    return { check: FrameCheck.INVALID, frameBytes: 0 };
  }
  const frameBytes = FRAME_HEADER_BYTES + bodyLength;
  if (end - pos < frameBytes) return { check: FrameCheck.INCOMPLETE, frameBytes };
  const expected = buf.readUInt32LE(pos + 4);
  const actual = crc32(buf.subarray(pos + FRAME_HEADER_BYTES, pos + frameBytes));
  return { check: actual === expected ? FrameCheck.OK : FrameCheck.INVALID, frameBytes };
}

/** The marker type of a control batch (MARKER_COMMIT or MARKER_ABORT). */
export function markerType(buf: Buffer, frameStart: number): number {
  // first record: offsetDelta(4) timestamp(8) keyLen(4, -1) valueLen(4) value(1)
  const p = frameStart + FRAME_HEADER_BYTES + BATCH_HEADER_BYTES + 12 + 4 + 4;
  return buf[p]!;
}

/**
 * Decode the records of the batch at `frameStart` whose offsets are in `[fromOffset, toOffset)`,
 * pushing at most `max` of them to `out`. Returns the offset after the last record pushed (or after
 * the batch if all of its records in range were pushed or skipped).
 */
export function decodeRecords(
  buf: Buffer,
  frameStart: number,
  topic: string,
  partition: number,
  fromOffset: number,
  toOffset: number,
  max: number,
  out: LogRecord[],
): number {
  let p = frameStart + FRAME_HEADER_BYTES;
  const baseOffset = buf.readDoubleLE(p);
  const count = buf.readUInt32LE(p + 16);
  p += BATCH_HEADER_BYTES;
  let next = fromOffset;
  let pushed = 0;
  for (let i = 0; i < count; i++) {
    const offset = baseOffset + buf.readUInt32LE(p);
    const timestamp = buf.readDoubleLE(p + 4);
    p += 12;
    const keyLength = buf.readInt32LE(p);
    p += 4;
    let key: Buffer | null = null;
    if (keyLength >= 0) {
      key = buf.subarray(p, p + keyLength);
      p += keyLength;
    }
    const valueLength = buf.readInt32LE(p);
    p += 4;
    let value: Buffer | null = null;
    if (valueLength >= 0) {
      value = buf.subarray(p, p + valueLength);
      p += valueLength;
    }
    const headerCount = buf.readUInt16LE(p);
    p += 2;
    let headers = EMPTY_HEADERS;
    if (headerCount > 0) {
      const hs: RecordHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const nameLength = buf.readUInt16LE(p);
        const name = buf.toString('utf8', p + 2, p + 2 + nameLength);
        p += 2 + nameLength;
        const hvLength = buf.readInt32LE(p);
        p += 4;
        hs.push([name, buf.subarray(p, p + hvLength)]);
        p += hvLength;
      }
      headers = hs;
    }
    if (offset < fromOffset) continue;
    if (offset >= toOffset || pushed >= max) return next;
    out.push({ topic, partition, offset, timestamp, key, value, headers });
    pushed++;
    next = offset + 1;
  }
  const lastOffset = baseOffset + buf.readUInt32LE(frameStart + FRAME_HEADER_BYTES + 29);
  return Math.max(next, Math.min(lastOffset + 1, toOffset));
}

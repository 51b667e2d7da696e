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

/** Little-endian fixed-width fields through a DataView: no boxing, no per-byte assembly. */
function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function recordSize(r: EncodableRecord): number {
  let size = 22 + (r.key === null ? 0 : r.key.length) + (r.value === null ? 0 : r.value.length);
  const hs = r.headers;
  if (hs.length > 0xffff) throw new RangeError(`${hs.length} headers: at most 65535 fit a record`);
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i]!;
    const nameBytes = headerNameBytes(h[0]).length;
    if (nameBytes > 0xffff) throw new RangeError(`header name of ${nameBytes} bytes: at most 65535`);
    size += 6 + nameBytes + h[1].length;
  }
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
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    size += recordSize(r);
    if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
  }
  const buf = Buffer.allocUnsafe(size);
  const dv = viewOf(buf);
  let p = FRAME_HEADER_BYTES;
  dv.setFloat64(p, baseOffset, true);
  dv.setFloat64(p + 8, producerId, true);
  dv.setUint32(p + 16, records.length, true);
  buf[p + 20] = attributes;
  dv.setFloat64(p + 21, maxTimestamp, true);
  const last = records[records.length - 1];
  const lastDelta =
    last === undefined ? 0 : last.offset === undefined ? records.length - 1 : last.offset - baseOffset;
  // The DataView writes below wrap silently where Buffer's writers threw: the sizes are checked
  // (recordSize), and offset deltas are ascending, so the last one bounds them all.
  if (!(lastDelta >= 0 && lastDelta <= 0xffffffff))
    throw new RangeError(`offset delta ${lastDelta} does not fit a batch`);
  dv.setUint32(p + 29, lastDelta, true);
  p += BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    dv.setUint32(p, r.offset === undefined ? i : r.offset - baseOffset, true);
    dv.setFloat64(p + 4, r.timestamp, true);
    p += 12;
    const key = r.key;
    if (key === null) {
      dv.setInt32(p, -1, true);
      p += 4;
    } else {
      dv.setInt32(p, key.length, true);
      p += 4;
      buf.set(key, p);
      p += key.length;
    }
    const value = r.value;
    if (value === null) {
      dv.setInt32(p, -1, true);
      p += 4;
    } else {
      dv.setInt32(p, value.length, true);
      p += 4;
      buf.set(value, p);
      p += value.length;
    }
    const hs = r.headers;
    dv.setUint16(p, hs.length, true);
    p += 2;
    for (let k = 0; k < hs.length; k++) {
      const h = hs[k]!;
      const name = headerNameBytes(h[0]);
      dv.setUint16(p, name.length, true);
      p += 2;
      buf.set(name, p);
      p += name.length;
      dv.setInt32(p, h[1].length, true);
      p += 4;
      buf.set(h[1], p);
      p += h[1].length;
    }
  }
  dv.setUint32(0, size - FRAME_HEADER_BYTES, true);
  dv.setUint32(4, crc32(buf.subarray(FRAME_HEADER_BYTES)), true);
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
  const dv = viewOf(buf);
  let p = frameStart + FRAME_HEADER_BYTES;
  const baseOffset = dv.getFloat64(p, true);
  const count = dv.getUint32(p + 16, true);
  p += BATCH_HEADER_BYTES;
  let next = fromOffset;
  let pushed = 0;
  for (let i = 0; i < count; i++) {
    const offset = baseOffset + dv.getUint32(p, true);
    const timestamp = dv.getFloat64(p + 4, true);
    p += 12;
    const keyLength = dv.getInt32(p, true);
    p += 4;
    const keyAt = p;
    if (keyLength > 0) p += keyLength;
    const valueLength = dv.getInt32(p, true);
    p += 4;
    const valueAt = p;
    if (valueLength > 0) p += valueLength;
    const headerCount = dv.getUint16(p, true);
    p += 2;
    let headers = EMPTY_HEADERS;
    if (headerCount > 0) {
      const hs: RecordHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const nameLength = dv.getUint16(p, true);
        const name = buf.toString('utf8', p + 2, p + 2 + nameLength);
        p += 2 + nameLength;
        const hvLength = dv.getInt32(p, true);
        p += 4;
        hs.push([name, buf.subarray(p, p + hvLength)]);
        p += hvLength;
      }
      headers = hs;
    }
    if (offset < fromOffset) continue;
    if (offset >= toOffset || pushed >= max) return next;
    // Views are made only for records handed out (not for those skipped before `fromOffset`).
    const key = keyLength < 0 ? null : buf.subarray(keyAt, keyAt + keyLength);
    const value = valueLength < 0 ? null : buf.subarray(valueAt, valueAt + valueLength);
    out.push({ topic, partition, offset, timestamp, key, value, headers });
    pushed++;
    next = offset + 1;
  }
  const lastOffset = baseOffset + dv.getUint32(frameStart + FRAME_HEADER_BYTES + 29, true);
  return Math.max(next, Math.min(lastOffset + 1, toOffset));
}

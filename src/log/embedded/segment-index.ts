/**
 * The index file of a closed segment, `<segment>.idx`, written when the segment is rolled and, for the
 * active segment, at a clean close (and removed when the log reopens it for appending). Opening a
 * partition trusts a segment's index instead of scanning the segment when the index's checksum holds
 * and it describes the segment's current size; otherwise the segment is scanned (and the index
 * rewritten). An index is only ever a cache: losing or damaging one costs a scan, never data.
 *
 * ```
 * file    := "MTIX" | u32 version (1) | u32 crc32(rest) | rest
 * rest    := u32 headerLength | header (UTF-8 JSON, IndexHeader) | f64 offsets[n] | f64 positions[n]
 *            | f64 times[n] | f64 txnEvents[4 * events]                                (little-endian)
 * ```
 * Entry i: the batch starting at file position `positions[i]` has base offset `offsets[i]`; `times[i]`
 * is the largest record timestamp before that position (-1 for none), so time → offset lookups find
 * the first entry that can hold a timestamp ≥ t. `txnEvents` replays the segment's transaction state:
 * `producerId, kind (0 data, 1 commit marker, 2 abort marker), baseOffset, lastOffset`.
 */

import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';

const MAGIC = 0x5849544d; // "MTIX" little-endian
const VERSION = 1;
const PREFIX = 12;

export const TxnKind = { DATA: 0, COMMIT: 1, ABORT: 2 } as const;

/** One transactional batch that may change a partition's transaction state. */
export type TxnEvent = readonly [producerId: number, kind: number, baseOffset: number, lastOffset: number];

export interface SegmentSummary {
  readonly baseOffset: number;
  /** Bytes of the segment the index describes (it is stale if the file has another size). */
  readonly size: number;
  /** Bytes from the start whose frames a scan has CRC-checked (the scrub skips them). */
  readonly verifiedBytes: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly records: number;
  readonly bytesSinceIndex: number;
  readonly offsets: readonly number[];
  readonly positions: readonly number[];
  readonly times: readonly number[];
  readonly txnEvents: readonly TxnEvent[];
}

interface IndexHeader {
  baseOffset: number;
  size: number;
  /** Absent in indexes written before the scrub existed: nothing verified. */
  verifiedBytes?: number;
  lastOffset: number;
  maxTimestamp: number;
  records: number;
  bytesSinceIndex: number;
  entries: number;
  events: number;
}

export function indexFileOf(segmentFile: string): string {
  return `${segmentFile.slice(0, -'.seg'.length)}.idx`;
}

export function encodeIndex(s: SegmentSummary): Buffer {
  const n = s.offsets.length;
  const header: IndexHeader = {
    baseOffset: s.baseOffset,
    size: s.size,
    verifiedBytes: s.verifiedBytes,
    lastOffset: s.lastOffset,
    maxTimestamp: s.maxTimestamp,
    records: s.records,
    bytesSinceIndex: s.bytesSinceIndex,
    entries: n,
    events: s.txnEvents.length,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const numbers = new Float64Array(3 * n + 4 * s.txnEvents.length);
  numbers.set(s.offsets, 0);
  numbers.set(s.positions, n);
  numbers.set(s.times, 2 * n);
  let p = 3 * n;
  for (const e of s.txnEvents) {
    numbers.set(e, p);
    p += 4;
  }
  const rest = Buffer.concat([u32(json.length), json, Buffer.from(numbers.buffer)]);
  return Buffer.concat([u32(MAGIC), u32(VERSION), u32(crc32(rest)), rest]);
}

/** Why an index cannot be used, or the summary it holds. */
export type IndexRead =
  | { readonly ok: true; readonly summary: SegmentSummary }
  | { readonly ok: false; readonly reason: 'missing' | 'damaged' | 'stale' };

/** Read and verify the index of `segmentFile` against the segment's current size. */
export function readIndex(segmentFile: string, baseOffset: number, segmentSize: number): IndexRead {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(indexFileOf(segmentFile));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, reason: 'missing' };
    return { ok: false, reason: 'damaged' };
  }
  const summary = decodeIndex(buf);
  if (summary === undefined) return { ok: false, reason: 'damaged' };
  if (summary.baseOffset !== baseOffset || summary.size !== segmentSize)
    return { ok: false, reason: 'stale' };
  return { ok: true, summary };
}

export function decodeIndex(buf: Buffer): SegmentSummary | undefined {
  if (buf.length < PREFIX + 4 || buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION) {
    return undefined;
  }
  const rest = buf.subarray(PREFIX);
  if (crc32(rest) !== buf.readUInt32LE(8)) return undefined;
  const jsonLength = rest.readUInt32LE(0);
  let h: IndexHeader;
  try {
    h = JSON.parse(rest.toString('utf8', 4, 4 + jsonLength)) as IndexHeader;
  } catch {
    return undefined;
  }
  const start = PREFIX + 4 + jsonLength;
  const count = 3 * h.entries + 4 * h.events;
  if (buf.length !== start + 8 * count) return undefined;
  // Copy: Float64Array needs an aligned buffer.
  const numbers = new Float64Array(new Uint8Array(buf.subarray(start)).buffer);
  const n = h.entries;
  const txnEvents: TxnEvent[] = [];
  for (let p = 3 * n; p < count; p += 4) {
    txnEvents.push([numbers[p]!, numbers[p + 1]!, numbers[p + 2]!, numbers[p + 3]!]);
  }
  return {
    baseOffset: h.baseOffset,
    size: h.size,
    verifiedBytes: Math.min(h.verifiedBytes ?? 0, h.size),
    lastOffset: h.lastOffset,
    maxTimestamp: h.maxTimestamp,
    records: h.records,
    bytesSinceIndex: h.bytesSinceIndex,
    offsets: Array.from(numbers.subarray(0, n)),
    positions: Array.from(numbers.subarray(n, 2 * n)),
    times: Array.from(numbers.subarray(2 * n, 3 * n)),
    txnEvents,
  };
}

/**
 * Write the index atomically (temp file + rename). Not fsynced: after a power loss a missing or torn
 * index only costs a scan. Returns the error instead of throwing (an index is never worth a failed
 * write or roll).
 */
export function writeIndex(segmentFile: string, summary: SegmentSummary): Error | undefined {
  const file = indexFileOf(segmentFile);
  const tmp = `${file}.tmp`;
  try {
    fs.writeFileSync(tmp, encodeIndex(summary));
    fs.renameSync(tmp, file);
    return undefined;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    return err as Error;
  }
}

export function removeIndex(segmentFile: string): void {
  fs.rmSync(indexFileOf(segmentFile), { force: true });
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

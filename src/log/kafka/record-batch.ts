/**
 * One partition's fetched record batches (Kafka's message format v2) decoded in one pass straight
 * into port records: each batch's CRC is checked, a compressed batch is decompressed (every codec
 * Kafka has: gzip, snappy, lz4, zstd), and each record becomes a `LogRecord` whose key and value are
 * views into its batch's own buffer (the decompressed batch, or one copy of an uncompressed one):
 * not a copy per record, and a record kept by the caller keeps one batch in memory, never a whole
 * Fetch response. Control batches (transaction
 * markers) are never returned, aborted transactions are dropped under read_committed
 * (./read-committed.ts), and the returned `next` moves past both (and past compacted gaps), so
 * positions never stop on a marker.
 *
 * RecordBatch (big-endian; `batchLength` counts from partitionLeaderEpoch to the end):
 *   0 baseOffset INT64 | 8 batchLength INT32 | 12 partitionLeaderEpoch INT32 | 16 magic INT8 (2)
 *   17 crc UINT32 (CRC-32C of attributes..end) | 21 attributes INT16 | 23 lastOffsetDelta INT32
 *   27 baseTimestamp INT64 | 35 maxTimestamp INT64 | 43 producerId INT64 | 51 producerEpoch INT16
 *   53 baseSequence INT32 | 57 recordCount INT32 | 61 records (compressed as a whole, or not)
 * attributes: bits 0–2 codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd), bit 3 timestamp type
 * (1: LogAppendTime, every record's timestamp is maxTimestamp), bit 4 transactional, bit 5 control.
 * Record: length VARINT | attributes INT8 | timestampDelta VARLONG | offsetDelta VARINT |
 *   keyLength VARINT (-1 null) key | valueLength VARINT (-1 null) value |
 *   headerCount VARINT [headerKeyLength VARINT key (UTF-8) | headerValueLength VARINT (-1 null) value]
 */
import { compressionsAlgorithmsByBitmask, crc32c } from '@platformatic/kafka';
import { AppError, ErrorCode } from '../../errors/index.ts';
import type { LogRecord, RecordHeader } from '../types.ts';
import type { FetchedPartition } from './fetch-response.ts';
import { ReadCommittedFilter, type TransactionalBatch } from './read-committed.ts';

const HEADER_BYTES = 61;
/** Bytes before batchLength's count starts (baseOffset and batchLength). */
const LOG_OVERHEAD = 12;
const CRC_START = 21;
const MAGIC_V2 = 2;
const ATTR_CODEC = 0x07;
const ATTR_LOG_APPEND_TIME = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;

const NO_HEADERS: readonly RecordHeader[] = Object.freeze([]);
const EMPTY = Buffer.alloc(0);

/**
 * Records of `p` at or after `from`, appended to `out` (never spread: a batch may hold hundreds of
 * thousands of records). Returns `next`, the offset after the last whole batch seen (at least
 * `from`), `bytes`, the key and value bytes of the records appended, and `error` when a batch is corrupt or cannot be read: `next` then stops at that batch,
 * and the records before it are in `out`.
 */
export function decodeBatches(
  topic: string,
  p: Pick<FetchedPartition, 'partitionIndex' | 'abortedTransactions' | 'records'>,
  from: number,
  readCommitted: boolean,
  out: LogRecord[],
): { next: number; bytes: number; error?: AppError } {
  let next = from;
  const data = p.records;
  if (data === null) return { next, bytes: 0 };
  const filter = readCommitted ? new ReadCommittedFilter(p.abortedTransactions) : undefined;
  const batch = new Batch(topic, p.partitionIndex, data);
  let bytes = 0;
  try {
    while (batch.next()) {
      if (batch.lastOffset < from) continue;
      if (batch.transactional && filter !== undefined) {
        if (batch.control) batch.verify(); // its record is read for the control type
        if (filter.drops(batch)) {
          next = Math.max(next, batch.lastOffset + 1);
          continue;
        }
      }
      if (!batch.control) {
        batch.verify();
        bytes += batch.decode(from, out);
      }
      next = Math.max(next, batch.lastOffset + 1);
    }
  } catch (err) {
    if (err instanceof AppError) return { next, bytes, error: err };
    if (err instanceof RangeError) return { next, bytes, error: batch.unreadable(err.message) };
    throw err;
  }
  return { next, bytes };
}

/** A cursor over the batches of one partition's records bytes. */
class Batch implements TransactionalBatch {
  readonly #topic: string;
  readonly #partition: number;
  readonly #buf: Buffer;
  /** Start of the current batch, and of the next one. */
  #at = 0;
  #end = 0;
  baseOffset = 0;
  lastOffset = 0;
  attributes = 0;
  producerId = -1n;
  control = false;
  transactional = false;
  #verified = false;

  constructor(topic: string, partition: number, buf: Buffer) {
    this.#topic = topic;
    this.#partition = partition;
    this.#buf = buf;
  }

  /** Move to the next whole batch; false at the end (a batch cut short by the fetch size ends it). */
  next(): boolean {
    const buf = this.#buf;
    const at = this.#end;
    if (at + HEADER_BYTES > buf.length) return false;
    const end = at + LOG_OVERHEAD + buf.readInt32BE(at + 8);
    if (end > buf.length) return false;
    this.#at = at;
    this.#end = end;
    this.baseOffset = int64(buf, at);
    if (buf[at + 16] !== MAGIC_V2) {
      throw this.unreadable(`message format v${buf[at + 16]} (only v2 is read)`);
    }
    if (end < at + HEADER_BYTES) throw this.unreadable(`a batch length of ${end - at - LOG_OVERHEAD}`);
    this.lastOffset = this.baseOffset + buf.readInt32BE(at + 23);
    this.attributes = buf.readInt16BE(at + 21);
    this.control = (this.attributes & ATTR_CONTROL) !== 0;
    this.transactional = (this.attributes & ATTR_TRANSACTIONAL) !== 0;
    this.producerId = this.transactional ? buf.readBigInt64BE(at + 43) : -1n;
    this.#verified = false;
    return true;
  }

  /** Check the batch's CRC-32C (Java's `check.crcs`). */
  verify(): void {
    if (this.#verified) return;
    const stored = this.#buf.readUInt32BE(this.#at + 17);
    const actual = crc32c(this.#buf.subarray(this.#at + CRC_START, this.#end));
    if (stored !== actual) throw this.unreadable(`CRC mismatch (stored ${stored}, computed ${actual})`);
    this.#verified = true;
  }

  controlType(): number {
    const { buf, pos, end } = this.#records();
    const r = new Cursor(buf, pos, end);
    r.varint(); // length
    r.skip(1); // attributes
    r.varlong(); // timestampDelta
    r.varint(); // offsetDelta
    const key = r.bytes();
    if (key === null || key.length < 4) throw this.unreadable('a control record without a type');
    return key.readInt16BE(2);
  }

  /** Append the batch's records at or after `from` to `out`; returns their key and value bytes. */
  decode(from: number, out: LogRecord[]): number {
    const buf0 = this.#buf;
    const at = this.#at;
    const count = buf0.readInt32BE(at + 57);
    const logAppend = (this.attributes & ATTR_LOG_APPEND_TIME) !== 0;
    // Numbers, not bigint sums per record (timestamps in ms are far below 2^53).
    const baseTimestamp = int64(buf0, logAppend ? at + 35 : at + 27);
    const topic = this.#topic;
    const partition = this.#partition;
    const base = this.baseOffset;
    const { buf, pos, end } = this.#records();
    const r = new Cursor(buf, pos, end);
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const length = r.varint();
      const recordEnd = r.pos + length;
      if (length < 0 || recordEnd > end) throw this.unreadable(`record ${i} runs past its batch`);
      r.skip(1); // attributes (unused)
      const timestampDelta = r.varlong();
      const offset = base + r.varint();
      if (offset < from) {
        r.pos = recordEnd;
        continue;
      }
      const key = r.bytes();
      const value = r.bytes();
      bytes += (key?.length ?? 0) + (value?.length ?? 0);
      const headerCount = r.varint();
      let headers = NO_HEADERS;
      if (headerCount > 0) {
        const list: RecordHeader[] = [];
        for (let h = 0; h < headerCount; h++) {
          const nameLength = r.varint();
          const name = nameLength <= 0 ? '' : buf.toString('utf8', r.skip(nameLength), r.pos);
          list.push([name, r.bytes() ?? EMPTY]);
        }
        headers = list;
      }
      if (r.pos !== recordEnd) throw this.unreadable(`record ${i} does not match its length`);
      out.push({
        topic,
        partition,
        offset,
        timestamp: logAppend ? baseTimestamp : baseTimestamp + timestampDelta,
        key,
        value,
        headers,
      });
    }
    return bytes;
  }

  /** The records' bytes: the decompressed batch, or a copy of the uncompressed one (see above). */
  #records(): { buf: Buffer; pos: number; end: number } {
    const codec = this.attributes & ATTR_CODEC;
    const pos = this.#at + HEADER_BYTES;
    if (codec === 0) {
      const buf = Buffer.from(this.#buf.subarray(pos, this.#end));
      return { buf, pos: 0, end: buf.length };
    }
    const algorithm = compressionsAlgorithmsByBitmask[codec];
    if (algorithm === undefined || !algorithm.available) throw this.unreadable(`compression codec ${codec}`);
    let buf: Buffer;
    try {
      buf = algorithm.decompressSync(this.#buf.subarray(pos, this.#end));
    } catch (err) {
      throw this.unreadable(`cannot decompress (codec ${codec}): ${(err as Error).message}`);
    }
    return { buf, pos: 0, end: buf.length };
  }

  unreadable(what: string): AppError {
    return new AppError(
      ErrorCode.LOG_CORRUPT,
      `record batch at offset ${this.baseOffset} of ${this.#topic}:${this.#partition} is unreadable: ${what}`,
      { context: { topic: this.#topic, partition: this.#partition, offset: this.baseOffset } },
    );
  }
}

/** An INT64 as a number (exact below 2^53: offsets and timestamps in ms). */
const int64 = (buf: Buffer, at: number): number =>
  buf.readInt32BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 4);

/** Zig-zag varints over one buffer; reads past `end` fail. */
class Cursor {
  readonly buf: Buffer;
  readonly end: number;
  pos: number;

  constructor(buf: Buffer, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** VARINT length, then that many bytes (a view), or null for length -1. */
  bytes(): Buffer | null {
    const n = this.varint();
    if (n < 0) return null;
    const at = this.skip(n);
    return this.buf.subarray(at, at + n);
  }

  /** Move past `n` bytes; returns where they start. */
  skip(n: number): number {
    const at = this.pos;
    if (at + n > this.end) throw new RangeError('a record runs past its batch');
    this.pos = at + n;
    return at;
  }

  /** A zig-zag VARINT (32 bits). */
  varint(): number {
    const buf = this.buf;
    let p = this.pos;
    if (p >= this.end) throw new RangeError('a record runs past its batch');
    let byte = buf[p++] as number;
    let u = byte & 0x7f;
    if (byte & 0x80) {
      byte = buf[p++] as number;
      u |= (byte & 0x7f) << 7;
      if (byte & 0x80) {
        byte = buf[p++] as number;
        u |= (byte & 0x7f) << 14;
        if (byte & 0x80) {
          byte = buf[p++] as number;
          u |= (byte & 0x7f) << 21;
          if (byte & 0x80) {
            byte = buf[p++] as number;
            u |= byte << 28;
            if (byte & 0xf0) throw new RangeError('a varint longer than 32 bits');
          }
        }
      }
    }
    if (p > this.end) throw new RangeError('a record runs past its batch');
    this.pos = p;
    return (u >>> 1) ^ -(u & 1);
  }

  /** A zig-zag VARLONG as a number (exact within ±2^53). */
  varlong(): number {
    const buf = this.buf;
    const first = buf[this.pos];
    if (first !== undefined && first < 0x80 && this.pos < this.end) {
      this.pos++;
      return (first >>> 1) ^ -(first & 1);
    }
    let u = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError('a record runs past its batch');
      const byte = buf[this.pos++] as number;
      u += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      scale *= 128;
    }
    throw new RangeError('a varlong longer than 64 bits');
  }
}

/**
 * One partition on disk: a directory of segment files `<baseOffset, 20 digits>.seg` (format in
 * ./format.ts), the newest of which ("active") receives appends. An in-memory sparse index (one entry
 * per ~4 KiB of batches, rebuilt by the recovery scan on open) maps offsets to file positions.
 *
 * Writes are queued (`append*`) and written by `flush()` with one writev per segment; the high
 * watermark moves only after the bytes are in the file, so readers never see a record that is not
 * written. Transaction state per partition: `openTxns` (producer id → first offset; the LSO is the
 * smallest) and `aborted` (producer id → offset range), both rebuilt by the recovery scan from the
 * transactional batches and markers in the segments.
 *
 * The log start offset is the base offset of the first segment, or higher after `deleteRecords`
 * (Kafka's DeleteRecords): then it is kept in the journal by the caller and passed back on open;
 * reads never serve records below it, and segments wholly below it are deleted.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError, ErrorCode } from '../../errors/index.ts';
import type { LogRecord } from '../types.ts';
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  checkFrame,
  decodeRecords,
  type EncodableRecord,
  encodeBatch,
  encodeMarker,
  FRAME_HEADER_BYTES,
  FrameCheck,
  MARKER_COMMIT,
  markerType,
  readBatchHeader,
} from './format.ts';

const INDEX_INTERVAL_BYTES = 4096;
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;
const SEGMENT_SUFFIX = '.seg';
const CLEANED_SUFFIX = '.cleaned';
const IOV_MAX = 1000;

interface Segment {
  baseOffset: number;
  readonly file: string;
  fd: number;
  /** Bytes written. */
  size: number;
  /** Offset of the last record (or marker) in the segment; baseOffset - 1 when empty. */
  lastOffset: number;
  /** Largest record timestamp; -1 when empty. */
  maxTimestamp: number;
  idxOffsets: number[];
  idxPositions: number[];
  bytesSinceIndex: number;
  /** Records (including markers) stored in the segment. */
  records: number;
}

interface PendingBatch {
  readonly buf: Buffer;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly count: number;
  /** For markers: whether it commits; undefined for data batches. */
  readonly commit: boolean | undefined;
}

export interface AbortedTxn {
  readonly first: number;
  readonly last: number;
}

export interface RecoveryInfo {
  /** Bytes cut from the end of the active segment (a torn write). */
  truncatedBytes: number;
  /** Producer ids of transactions left open (no marker) in this partition. */
  openProducerIds: number[];
}

function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0') + SEGMENT_SUFFIX;
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export interface PartitionLogOptions {
  readonly segmentBytes: number;
  /** fsync the old segment on roll, and directories on segment creation/removal. */
  readonly syncOnRoll: boolean;
  /** The log start offset recorded by an earlier `advanceLogStartOffset` (journal); default 0. */
  readonly logStartOffset?: number;
}

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly #options: PartitionLogOptions;
  #segments: Segment[] = [];
  #pending: PendingBatch[] = [];
  #pendingBytes = 0;
  /** The offset the next appended record gets. */
  #nextOffset = 0;
  /** High watermark: everything below is written to the segment files. */
  #hw = 0;
  /** Log start offset: at least the first segment's base offset; nothing below it is served. */
  #start = 0;
  readonly openTxns = new Map<number, number>();
  readonly aborted = new Map<number, AbortedTxn>();
  readonly #waiters = new Set<() => void>();
  /** Segment fds written since the last fsync. */
  readonly dirtyFds = new Set<number>();
  #closed = false;

  private constructor(dir: string, topic: string, partition: number, options: PartitionLogOptions) {
    this.dir = dir;
    this.topic = topic;
    this.partition = partition;
    this.#options = options;
  }

  /** Open (creating if needed) and recover a partition directory: truncate a torn tail, rebuild state. */
  static open(
    dir: string,
    topic: string,
    partition: number,
    options: PartitionLogOptions,
  ): { log: PartitionLog; recovery: RecoveryInfo } {
    fs.mkdirSync(dir, { recursive: true });
    const log = new PartitionLog(dir, topic, partition, options);
    const recovery = log.#recover();
    return { log, recovery };
  }

  get logStartOffset(): number {
    return this.#start;
  }
  get highWatermark(): number {
    return this.#hw;
  }
  get nextOffset(): number {
    return this.#nextOffset;
  }
  get lastStableOffset(): number {
    let lso = this.#hw;
    for (const first of this.openTxns.values()) if (first < lso) lso = first;
    return lso;
  }
  get hasPending(): boolean {
    return this.#pending.length > 0;
  }
  get segmentCount(): number {
    return this.#segments.length;
  }

  #recover(): RecoveryInfo {
    const names = fs.readdirSync(this.dir);
    for (const name of names) {
      // A compaction that did not finish: its output is incomplete, the original is intact.
      if (name.endsWith(CLEANED_SUFFIX)) fs.rmSync(path.join(this.dir, name), { force: true });
    }
    const bases = names
      .filter((n) => n.endsWith(SEGMENT_SUFFIX))
      .map((n) => Number(n.slice(0, -SEGMENT_SUFFIX.length)))
      .filter((n) => Number.isSafeInteger(n))
      .sort((a, b) => a - b);
    let truncatedBytes = 0;
    let expectedNext = 0;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const isLast = i === bases.length - 1;
      const seg = this.#openSegmentFile(base, false);
      this.#segments.push(seg);
      if (base < expectedNext) {
        throw new AppError(ErrorCode.LOG_CORRUPT, `segment ${seg.file} overlaps the previous segment`, {
          context: { topic: this.topic, partition: this.partition, offset: base },
        });
      }
      const fileSize = fs.fstatSync(seg.fd).size;
      const validBytes = this.#scanSegment(seg, fileSize, isLast);
      if (validBytes < fileSize) {
        truncatedBytes += fileSize - validBytes;
        fs.ftruncateSync(seg.fd, validBytes);
        fs.fsyncSync(seg.fd);
      }
      seg.size = validBytes;
      expectedNext = seg.lastOffset + 1;
    }
    if (this.#segments.length === 0) {
      this.#segments.push(this.#openSegmentFile(0, true));
      if (this.#options.syncOnRoll) fsyncDir(this.dir);
    }
    const active = this.#segments[this.#segments.length - 1]!;
    this.#start = Math.max(this.#options.logStartOffset ?? 0, this.#segments[0]!.baseOffset);
    // A start offset above the recovered end (its records were lost with an unsynced tail, the
    // journal entry was not): the log continues at the start offset, as Kafka does.
    this.#nextOffset = Math.max(active.baseOffset, active.lastOffset + 1, this.#start);
    this.#hw = this.#nextOffset;
    // Segments a crash left behind between the journal entry and their deletion.
    this.deleteSegmentsBelowStart();
    return { truncatedBytes, openProducerIds: [...this.openTxns.keys()] };
  }

  /** Scan a segment, verifying every frame; returns the number of valid bytes. */
  #scanSegment(seg: Segment, fileSize: number, isLast: boolean): number {
    let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, Math.max(fileSize, 1)));
    let filePos = 0;
    let expectedNext = seg.baseOffset;
    while (filePos < fileSize) {
      const want = Math.min(buf.length, fileSize - filePos);
      const got = fs.readSync(seg.fd, buf, 0, want, filePos);
      let pos = 0;
      let bad = false;
      while (pos < got) {
        const { check, frameBytes } = checkFrame(buf, pos, got);
        if (check === FrameCheck.INCOMPLETE) {
          if (filePos + pos + (frameBytes || FRAME_HEADER_BYTES) <= fileSize && frameBytes > buf.length) {
            buf = Buffer.allocUnsafe(frameBytes);
          }
          if (filePos + pos + (frameBytes || FRAME_HEADER_BYTES) > fileSize) bad = true;
          break;
        }
        if (check === FrameCheck.INVALID) {
          bad = true;
          break;
        }
        const h = readBatchHeader(buf, pos);
        if (
          h.baseOffset < expectedNext ||
          h.lastOffset < h.baseOffset ||
          !Number.isSafeInteger(h.baseOffset)
        ) {
          bad = true;
          break;
        }
        this.#indexBatch(seg, h.baseOffset, filePos + pos, frameBytes, h.count);
        this.#applyBatchState(h.producerId, h.attributes, h.baseOffset, h.lastOffset, () =>
          markerType(buf, pos),
        );
        seg.lastOffset = h.lastOffset;
        if (h.maxTimestamp > seg.maxTimestamp) seg.maxTimestamp = h.maxTimestamp;
        expectedNext = h.lastOffset + 1;
        pos += frameBytes;
      }
      if (bad) {
        const at = filePos + pos;
        if (!isLast) {
          throw new AppError(
            ErrorCode.LOG_CORRUPT,
            `corrupt record batch in ${seg.file} at byte ${at} (not at the tail of the log): refusing to open`,
            { context: { topic: this.topic, partition: this.partition, position: at } },
          );
        }
        return at;
      }
      if (pos === 0 && got > 0) {
        // A frame larger than the buffer: buffer was grown above; re-read from the same position.
        continue;
      }
      filePos += pos;
    }
    return filePos;
  }

  #applyBatchState(
    producerId: number,
    attributes: number,
    baseOffset: number,
    lastOffset: number,
    marker: () => number,
  ): void {
    if ((attributes & ATTR_TRANSACTIONAL) === 0) return;
    if ((attributes & ATTR_CONTROL) !== 0) {
      const first = this.openTxns.get(producerId);
      if (first === undefined) return; // marker of a transaction with no records here (or compacted away)
      this.openTxns.delete(producerId);
      if (marker() !== MARKER_COMMIT) this.aborted.set(producerId, { first, last: lastOffset });
    } else if (!this.openTxns.has(producerId)) {
      this.openTxns.set(producerId, baseOffset);
    }
  }

  #indexBatch(seg: Segment, baseOffset: number, filePos: number, frameBytes: number, count: number): void {
    seg.records += count;
    if (seg.idxOffsets.length === 0 || seg.bytesSinceIndex >= INDEX_INTERVAL_BYTES) {
      seg.idxOffsets.push(baseOffset);
      seg.idxPositions.push(filePos);
      seg.bytesSinceIndex = 0;
    }
    seg.bytesSinceIndex += frameBytes;
  }

  #openSegmentFile(baseOffset: number, create: boolean): Segment {
    const file = path.join(this.dir, segmentName(baseOffset));
    const fd = fs.openSync(file, create ? 'wx+' : 'r+');
    return {
      baseOffset,
      file,
      fd,
      size: 0,
      lastOffset: baseOffset - 1,
      maxTimestamp: -1,
      idxOffsets: [],
      idxPositions: [],
      bytesSinceIndex: 0,
      records: 0,
    };
  }

  // ---- appends ---------------------------------------------------------------------------------

  /** Queue a batch of records; returns the base offset. Written by the next `flush()`. */
  appendRecords(records: readonly EncodableRecord[], producerId: number, transactional: boolean): number {
    this.#assertOpen();
    const baseOffset = this.#nextOffset;
    const buf = encodeBatch(baseOffset, producerId, transactional ? ATTR_TRANSACTIONAL : 0, records);
    let maxTimestamp = -1;
    for (const r of records) if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
    const lastOffset = baseOffset + records.length - 1;
    if (transactional && !this.openTxns.has(producerId)) this.openTxns.set(producerId, baseOffset);
    this.#queue({
      buf,
      baseOffset,
      lastOffset,
      maxTimestamp,
      producerId,
      count: records.length,
      commit: undefined,
    });
    return baseOffset;
  }

  /** Queue a transaction marker for `producerId`, if it has an open transaction here. */
  appendMarker(producerId: number, commit: boolean, timestamp: number): boolean {
    this.#assertOpen();
    if (!this.openTxns.has(producerId)) return false;
    const offset = this.#nextOffset;
    const buf = encodeMarker(offset, producerId, commit, timestamp);
    this.#queue({
      buf,
      baseOffset: offset,
      lastOffset: offset,
      maxTimestamp: timestamp,
      producerId,
      count: 1,
      commit,
    });
    return true;
  }

  #queue(batch: PendingBatch): void {
    this.#pending.push(batch);
    this.#pendingBytes += batch.buf.length;
    this.#nextOffset = batch.lastOffset + 1;
  }

  /** Write queued batches to the segment files (rolling segments as needed); wakes readers. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    let i = 0;
    while (i < pending.length) {
      let seg = this.#segments[this.#segments.length - 1]!;
      if (seg.size > 0 && seg.size + pending[i]!.buf.length > this.#options.segmentBytes) {
        seg = this.#roll(pending[i]!.baseOffset);
      }
      const bufs: Buffer[] = [];
      let bytes = 0;
      const start = i;
      while (
        i < pending.length &&
        bufs.length < IOV_MAX &&
        (bytes === 0 || seg.size + bytes + pending[i]!.buf.length <= this.#options.segmentBytes)
      ) {
        bufs.push(pending[i]!.buf);
        bytes += pending[i]!.buf.length;
        i++;
      }
      this.#writeAll(seg, bufs, bytes);
      let filePos = seg.size;
      for (let j = start; j < i; j++) {
        const b = pending[j]!;
        this.#indexBatch(seg, b.baseOffset, filePos, b.buf.length, b.count);
        filePos += b.buf.length;
        seg.lastOffset = b.lastOffset;
        if (b.maxTimestamp > seg.maxTimestamp) seg.maxTimestamp = b.maxTimestamp;
        if (b.commit !== undefined) {
          const first = this.openTxns.get(b.producerId);
          if (first !== undefined) {
            this.openTxns.delete(b.producerId);
            if (!b.commit) this.aborted.set(b.producerId, { first, last: b.lastOffset });
          }
        }
      }
      seg.size = filePos;
      this.dirtyFds.add(seg.fd);
      this.#hw = seg.lastOffset + 1;
    }
    this.#wake();
  }

  #writeAll(seg: Segment, bufs: Buffer[], bytes: number): void {
    let written = fs.writevSync(seg.fd, bufs, seg.size);
    if (written === bytes) return;
    // Short write (rare): fall back to writing the rest buffer by buffer.
    const all = Buffer.concat(bufs);
    while (written < bytes) {
      written += fs.writeSync(seg.fd, all, written, bytes - written, seg.size + written);
    }
  }

  #roll(baseOffset: number): Segment {
    const old = this.#segments[this.#segments.length - 1]!;
    if (this.#options.syncOnRoll) {
      fs.fsyncSync(old.fd);
      this.dirtyFds.delete(old.fd);
    }
    const seg = this.#openSegmentFile(baseOffset, true);
    if (this.#options.syncOnRoll) fsyncDir(this.dir);
    this.#segments.push(seg);
    return seg;
  }

  /** Start a new active segment if the current one has data (so that it can be cleaned or deleted). */
  rollIfNotEmpty(): void {
    this.flush();
    const active = this.#segments[this.#segments.length - 1]!;
    if (active.size > 0) this.#roll(this.#nextOffset);
  }

  // ---- waiting -----------------------------------------------------------------------------------

  /** Register a callback run once when records are written here; returns its remover. */
  onAppend(cb: () => void): () => void {
    this.#waiters.add(cb);
    return () => this.#waiters.delete(cb);
  }

  #wake(): void {
    if (this.#waiters.size === 0) return;
    const ws = [...this.#waiters];
    this.#waiters.clear();
    for (const w of ws) w();
  }

  // ---- reads -------------------------------------------------------------------------------------

  #segmentFor(offset: number): number {
    const segs = this.#segments;
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Read records with offsets in `[from, to)` (at most `max`), skipping markers and, if
   * `readCommitted`, records of aborted transactions. Returns the next offset to read.
   */
  read(from: number, to: number, max: number, readCommitted: boolean, out: LogRecord[]): number {
    // Records below the log start offset may still be in its segment: never served.
    let pos = from < this.#start ? Math.min(this.#start, to) : from;
    const start = out.length;
    let si = this.#segmentFor(pos);
    /** Where the next chunk starts when the previous one ended inside a frame (same segment). */
    let resumeAt = -1;
    while (pos < to && out.length - start < max) {
      const seg = this.#segments[si];
      if (seg === undefined) break;
      if (pos > seg.lastOffset || seg.size === 0) {
        si++;
        resumeAt = -1;
        const next = this.#segments[si];
        if (next === undefined) break;
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
            if (got < frameBytes) throw this.#corrupt(seg, filePos);
            continue;
          }
          // The chunk ends inside this frame: the next chunk starts at it (never the same chunk again).
          resumeAt = filePos + p;
          break;
        }
        if (check === FrameCheck.INVALID) throw this.#corrupt(seg, filePos + p);
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
          } else if (tx && readCommitted && this.#isAborted(h.producerId, h.baseOffset)) {
            pos = h.lastOffset + 1;
          } else {
            pos = decodeRecords(buf, p, this.topic, this.partition, pos, to, max - (out.length - start), out);
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

  #isAborted(producerId: number, offset: number): boolean {
    const a = this.aborted.get(producerId);
    return a !== undefined && a.first <= offset && offset <= a.last;
  }

  #corrupt(seg: Segment, at: number): AppError {
    return new AppError(ErrorCode.LOG_CORRUPT, `corrupt record batch in ${seg.file} at byte ${at}`, {
      context: { topic: this.topic, partition: this.partition, position: at },
    });
  }

  // ---- retention and compaction ---------------------------------------------------------------------

  /**
   * Delete whole segments whose newest record is older than `cutoffMs`. If every record is expired,
   * the active segment is rolled first so that it can go too. Returns the number of segments deleted.
   */
  deleteExpired(cutoffMs: number): number {
    this.flush();
    const active = this.#segments[this.#segments.length - 1]!;
    if (active.size > 0 && active.maxTimestamp < cutoffMs && this.openTxns.size === 0) this.rollIfNotEmpty();
    let deleted = 0;
    while (this.#segments.length > 1) {
      const seg = this.#segments[0]!;
      if (seg.maxTimestamp >= cutoffMs) break;
      // never delete records of a transaction that is still open
      if (this.lastStableOffset <= seg.lastOffset) break;
      this.#removeFirstSegment();
      deleted++;
    }
    if (deleted > 0) this.#afterSegmentsDeleted();
    return deleted;
  }

  /**
   * Move the log start offset up to `offset` (no-op when it is not higher). The caller checked that
   * `offset` is at most the high watermark and made it durable; segments go with
   * `deleteSegmentsBelowStart`.
   */
  advanceLogStartOffset(offset: number): void {
    if (offset > this.#start) this.#start = offset;
  }

  /**
   * Delete the segments wholly below the log start offset (Kafka's rule: a segment goes when the next
   * one starts at or below it; the active segment stays). Returns the number deleted.
   */
  deleteSegmentsBelowStart(): number {
    let deleted = 0;
    while (this.#segments.length > 1 && this.#segments[1]!.baseOffset <= this.#start) {
      this.#removeFirstSegment();
      deleted++;
    }
    if (deleted > 0) this.#afterSegmentsDeleted();
    return deleted;
  }

  #removeFirstSegment(): void {
    const seg = this.#segments.shift()!;
    fs.closeSync(seg.fd);
    this.dirtyFds.delete(seg.fd);
    fs.rmSync(seg.file, { force: true });
  }

  #afterSegmentsDeleted(): void {
    this.#start = Math.max(this.#start, this.#segments[0]!.baseOffset);
    const start = this.#start;
    for (const [pid, a] of this.aborted) if (a.last < start) this.aborted.delete(pid);
    if (this.#options.syncOnRoll) fsyncDir(this.dir);
  }

  /**
   * Compact the closed segments below the LSO: keep only the latest record per key (over the whole
   * partition), drop tombstones older than `tombstoneCutoffMs`, aborted records and markers. Kept
   * records keep their offsets. Each segment is rewritten to `<name>.cleaned`, fsynced, then renamed
   * over the original (atomic). Returns the number of records removed.
   */
  compact(tombstoneCutoffMs: number, rollActive: boolean): number {
    this.flush();
    if (rollActive && this.openTxns.size === 0) this.rollIfNotEmpty();
    const lso = this.lastStableOffset;
    const closed = this.#segments.slice(0, -1).filter((s) => s.lastOffset < lso);
    if (closed.length === 0) return 0;
    // Pass 1: latest offset per key below the LSO (closed segments and the stable part of the active one).
    const latest = new Map<string, number>();
    for (let pos = this.logStartOffset; pos < lso; ) {
      const chunk: LogRecord[] = [];
      const next = this.read(pos, lso, 10_000, true, chunk);
      for (const r of chunk) if (r.key !== null) latest.set(r.key.toString('latin1'), r.offset);
      if (next <= pos) break;
      pos = next;
    }
    let removed = 0;
    for (const seg of closed) {
      const records: LogRecord[] = [];
      const from = Math.max(seg.baseOffset, this.logStartOffset);
      this.read(from, seg.lastOffset + 1, Number.MAX_SAFE_INTEGER, true, records);
      const kept = records.filter((r) => {
        if (r.key === null) return true;
        if (latest.get(r.key.toString('latin1')) !== r.offset) return false;
        return !(r.value === null && r.timestamp < tombstoneCutoffMs);
      });
      if (kept.length === seg.records) continue;
      removed += seg.records - kept.length;
      this.#rewriteSegment(seg, kept);
    }
    return removed;
  }

  #rewriteSegment(seg: Segment, kept: readonly LogRecord[]): void {
    const tmp = seg.file + CLEANED_SUFFIX;
    const fd = fs.openSync(tmp, 'w+');
    const fresh: Segment = {
      baseOffset: seg.baseOffset,
      file: seg.file,
      fd,
      size: 0,
      lastOffset: seg.lastOffset,
      maxTimestamp: -1,
      idxOffsets: [],
      idxPositions: [],
      bytesSinceIndex: 0,
      records: 0,
    };
    // One batch per ~64 KiB of kept records; the last offset of the segment is kept by an empty
    // batch at the end only if needed (it is not: nextOffset comes from the active segment).
    let batch: EncodableRecord[] = [];
    let batchBytes = 0;
    const emit = (): void => {
      if (batch.length === 0) return;
      const base = batch[0]!.offset!;
      const buf = encodeBatch(base, 0, 0, batch);
      fs.writeSync(fd, buf, 0, buf.length, fresh.size);
      this.#indexBatch(fresh, base, fresh.size, buf.length, batch.length);
      fresh.size += buf.length;
      for (const r of batch) if (r.timestamp > fresh.maxTimestamp) fresh.maxTimestamp = r.timestamp;
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
    fsyncDir(this.dir);
    fs.closeSync(seg.fd);
    this.dirtyFds.delete(seg.fd);
    const i = this.#segments.indexOf(seg);
    this.#segments[i] = fresh;
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) {
      throw new AppError(ErrorCode.LOG_CLOSED, 'the log is closed', {
        context: { topic: this.topic, partition: this.partition },
      });
    }
  }

  /** The fds written since the last call (to fsync them). */
  takeDirtyFds(): number[] {
    const fds = [...this.dirtyFds];
    this.dirtyFds.clear();
    return fds;
  }

  /** fsync written data of this partition. */
  syncNow(): void {
    for (const fd of this.dirtyFds) fs.fdatasyncSync(fd);
    this.dirtyFds.clear();
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.syncNow();
    this.#closed = true;
    for (const s of this.#segments) fs.closeSync(s.fd);
    this.#wake();
  }
}

export { BATCH_HEADER_BYTES };

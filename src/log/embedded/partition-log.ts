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
  FrameCheck,
  readBatchHeader,
} from './format.ts';
import { type CorruptionPolicy, type RecoveryEvent, recoverPartition } from './partition-recovery.ts';
import {
  type AbortedTxn,
  addBatch,
  applyTxnEvent,
  emptySegment,
  fsyncDir,
  openSegmentFile,
  recordTxnEvent,
  type Segment,
  summaryOf,
} from './segment.ts';
import { removeIndex, TxnKind, writeIndex } from './segment-index.ts';

const IOV_MAX = 1000;

interface PendingBatch {
  readonly buf: Buffer;
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly count: number;
  readonly transactional: boolean;
  /** For markers: whether it commits; undefined for data batches. */
  readonly commit: boolean | undefined;
}

/** The state before the queued batches, to undo a write that failed (disk full, I/O error). */
interface Checkpoint {
  readonly nextOffset: number;
  readonly openTxns: Map<number, number>;
  readonly aborted: Map<number, AbortedTxn>;
}

/** The file state before a write, to undo it. */
interface WriteUndo {
  readonly segments: number;
  readonly active: Segment;
  readonly activeCopy: Segment;
  readonly hw: number;
}

export type { AbortedTxn };

export interface RecoveryInfo {
  /** Bytes cut from segment tails (torn writes). */
  truncatedBytes: number;
  /** Bytes moved to quarantine files (policy 'quarantine'). */
  quarantinedBytes: number;
  /** Producer ids of transactions left open (no marker) in this partition. */
  openProducerIds: number[];
}

export interface PartitionLogOptions {
  readonly segmentBytes: number;
  /** fsync the old segment on roll, and directories on segment creation/removal. */
  readonly syncOnRoll: boolean;
  /** The log start offset recorded by an earlier `advanceLogStartOffset` (journal); default 0. */
  readonly logStartOffset?: number;
  /**
   * The next offset is at least this (default 0): offsets handed out before, as the journal knows
   * them (high watermarks, group commits), so that a cut or quarantined tail never reuses them.
   */
  readonly offsetFloor?: number;
  /** What to do with a corrupt frame (default 'refuse'), see ./partition-recovery.ts. */
  readonly onCorruption?: CorruptionPolicy;
  /** Open without writing anything (reads only). */
  readonly readOnly?: boolean;
  /** Scan every segment on open, not only those without an intact index (repair). */
  readonly scanAll?: boolean;
  /** Receives every recovery action. */
  readonly emit?: (event: RecoveryEvent) => void;
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
  #failure: AppError | undefined;
  /** The segment in which a read found the damage that set `#failure` (a repair of it clears it). */
  #failedReading: Segment | undefined;
  /** A scrub repairs a segment here: retention and compaction leave the partition alone meanwhile. */
  repairing = false;
  #checkpoint: Checkpoint | undefined;
  #undo: WriteUndo | undefined;

  private constructor(dir: string, topic: string, partition: number, options: PartitionLogOptions) {
    this.dir = dir;
    this.topic = topic;
    this.partition = partition;
    this.#options = options;
  }

  /**
   * Open (creating if needed) and recover a partition directory (./partition-recovery.ts). A partition
   * that refuses to open (corruption) is returned in a failed state: every use throws its `failure`.
   */
  static async open(
    dir: string,
    topic: string,
    partition: number,
    options: PartitionLogOptions,
  ): Promise<{ log: PartitionLog; recovery: RecoveryInfo }> {
    const readOnly = options.readOnly === true;
    if (!readOnly) fs.mkdirSync(dir, { recursive: true });
    const log = new PartitionLog(dir, topic, partition, options);
    const emit = options.emit ?? (() => undefined);
    const r = await recoverPartition(dir, topic, partition, {
      onCorruption: options.onCorruption ?? 'refuse',
      readOnly,
      scanAll: options.scanAll === true,
      emit,
    });
    const recovery = {
      truncatedBytes: r.truncatedBytes,
      quarantinedBytes: r.quarantinedBytes,
      openProducerIds: [],
    };
    if (r.failure !== undefined) {
      log.#failure = r.failure;
      return { log, recovery };
    }
    log.#segments = r.segments;
    for (const [k, v] of r.openTxns) log.openTxns.set(k, v);
    for (const [k, v] of r.aborted) log.aborted.set(k, v);
    if (log.#segments.length === 0 && !readOnly) {
      log.#segments.push(openSegmentFile(dir, 0, 'create'));
      if (options.syncOnRoll) fsyncDir(dir);
    }
    const active = log.#segments[log.#segments.length - 1];
    log.#start = Math.max(options.logStartOffset ?? 0, log.#segments[0]?.baseOffset ?? 0);
    const end = active === undefined ? 0 : Math.max(active.baseOffset, active.lastOffset + 1);
    // Never hand out an offset twice: not below what the journal knows was handed out, nor below a
    // quarantined frame's offsets, nor below the start offset (its records may have been lost with an
    // unsynced tail while the journal entry survived: the log continues at it, as Kafka does).
    log.#nextOffset = Math.max(end, r.offsetFloor, log.#start, options.offsetFloor ?? 0);
    if (log.#nextOffset > end) {
      emit({
        action: 'raised-next-offset',
        message: `${topic}:${partition}: the recovered log ends at offset ${end}, but offsets up to ${log.#nextOffset - 1} were handed out before; the next record gets offset ${log.#nextOffset}`,
        topic,
        partition,
      });
    }
    log.#hw = log.#nextOffset;
    // Segments a crash left behind between the journal entry and their deletion.
    if (!readOnly) log.deleteSegmentsBelowStart();
    return { log, recovery: { ...recovery, openProducerIds: [...log.openTxns.keys()] } };
  }

  /** Why this partition refused to open (LOG_CORRUPT), if it did. */
  get failure(): AppError | undefined {
    return this.#failure;
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

  // ---- appends ---------------------------------------------------------------------------------

  /** Queue a batch of records; returns the base offset. Written by the next `flush()`. */
  appendRecords(records: readonly EncodableRecord[], producerId: number, transactional: boolean): number {
    this.assertWritable();
    this.#takeCheckpoint();
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
      transactional,
      commit: undefined,
    });
    return baseOffset;
  }

  /** Queue a transaction marker for `producerId`, if it has an open transaction here. */
  appendMarker(producerId: number, commit: boolean, timestamp: number): boolean {
    this.assertWritable();
    if (!this.openTxns.has(producerId)) return false;
    this.#takeCheckpoint();
    const offset = this.#nextOffset;
    const buf = encodeMarker(offset, producerId, commit, timestamp);
    this.#queue({
      buf,
      baseOffset: offset,
      lastOffset: offset,
      maxTimestamp: timestamp,
      producerId,
      count: 1,
      transactional: true,
      commit,
    });
    return true;
  }

  #takeCheckpoint(): void {
    if (this.#pending.length > 0) return;
    this.#checkpoint = {
      nextOffset: this.#nextOffset,
      openTxns: new Map(this.openTxns),
      aborted: new Map(this.aborted),
    };
  }

  #queue(batch: PendingBatch): void {
    this.#pending.push(batch);
    this.#pendingBytes += batch.buf.length;
    this.#nextOffset = batch.lastOffset + 1;
  }

  /** Write queued batches to the segment files (rolling segments as needed); wakes readers. */
  flush(): void {
    this.writePending();
    this.commitWrite();
  }

  /**
   * Write queued batches (one writev per segment). On failure everything queued is undone — the
   * files are cut back to their size before, segments rolled meanwhile removed, offsets and
   * transaction state restored — and LOG_DISK_FULL (no space) or LOG_IO is thrown: a batch lands
   * whole or not at all. Until `commitWrite` (or `undoWrite`), the write can still be undone.
   */
  writePending(): void {
    if (this.#pending.length === 0) return;
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const active = this.#segments[this.#segments.length - 1]!;
    this.#undo = {
      segments: this.#segments.length,
      active,
      activeCopy: {
        ...active,
        idxOffsets: [...active.idxOffsets],
        idxPositions: [...active.idxPositions],
        idxTimes: [...active.idxTimes],
        txnEvents: [...active.txnEvents],
        txnLast: new Map(active.txnLast),
      },
      hw: this.#hw,
    };
    try {
      this.#write(pending);
    } catch (err) {
      this.undoWrite();
      throw writeError(err, this.dir);
    }
  }

  #write(pending: readonly PendingBatch[]): void {
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
      this.dirtyFds.add(seg.fd);
      writeAll(seg, bufs, bytes);
      let filePos = seg.size;
      for (let j = start; j < i; j++) {
        const b = pending[j]!;
        addBatch(seg, b.baseOffset, b.lastOffset, b.maxTimestamp, filePos, b.buf.length, b.count);
        filePos += b.buf.length;
        if (b.transactional) {
          const kind = b.commit === undefined ? TxnKind.DATA : b.commit ? TxnKind.COMMIT : TxnKind.ABORT;
          const e = recordTxnEvent(seg, b.producerId, kind, b.baseOffset, b.lastOffset);
          if (e !== undefined && kind !== TxnKind.DATA) applyTxnEvent(this.openTxns, this.aborted, e);
        }
      }
      seg.size = filePos;
      this.#hw = seg.lastOffset + 1;
    }
  }

  /** The last `writePending` stays: wake readers. */
  commitWrite(): void {
    if (this.#undo === undefined) return;
    this.#undo = undefined;
    this.#checkpoint = undefined;
    this.#wake();
  }

  /**
   * Undo the last `writePending` (and everything it wrote), see there; or, if nothing was written yet,
   * drop what is queued. Offsets and transaction state go back to before the first queued batch.
   */
  undoWrite(): void {
    const undo = this.#undo;
    const cp = this.#checkpoint;
    this.#undo = undefined;
    this.#checkpoint = undefined;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (undo !== undefined) {
      for (const seg of this.#segments.splice(undo.segments)) {
        fs.closeSync(seg.fd);
        this.dirtyFds.delete(seg.fd);
        fs.rmSync(seg.file, { force: true });
        removeIndex(seg.file);
      }
      Object.assign(undo.active, undo.activeCopy);
      fs.ftruncateSync(undo.active.fd, undo.active.size);
      removeIndex(undo.active.file);
      this.#hw = undo.hw;
    }
    if (cp !== undefined) {
      this.#nextOffset = cp.nextOffset;
      this.openTxns.clear();
      for (const [k, v] of cp.openTxns) this.openTxns.set(k, v);
      this.aborted.clear();
      for (const [k, v] of cp.aborted) this.aborted.set(k, v);
    }
  }

  #roll(baseOffset: number): Segment {
    const old = this.#segments[this.#segments.length - 1]!;
    if (this.#options.syncOnRoll) {
      fs.fsyncSync(old.fd);
      this.dirtyFds.delete(old.fd);
    }
    const seg = openSegmentFile(this.dir, baseOffset, 'create');
    if (this.#options.syncOnRoll) fsyncDir(this.dir);
    this.#segments.push(seg);
    this.#saveIndex(old);
    return seg;
  }

  #saveIndex(seg: Segment): void {
    const err = writeIndex(seg.file, summaryOf(seg));
    if (err !== undefined) {
      // Only a cache: the segment is scanned on the next open instead.
      this.#options.emit?.({
        action: 'rescanned',
        message: `${this.topic}:${this.partition}: could not write the index of ${seg.file} (${err.message}); the next open scans it`,
        topic: this.topic,
        partition: this.partition,
        file: seg.file,
      });
    }
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
    this.assertUsable();
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
        if (next === undefined) {
          // Offsets after the last record and below the high watermark hold nothing (a next offset
          // raised on recovery): skip them.
          pos = Math.max(pos, Math.min(to, this.#hw));
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

  /**
   * A bad frame found by a read (in a closed segment trusted from its index): the partition refuses
   * every further use with this error, as if it had refused to open; other partitions go on.
   */
  #corrupt(seg: Segment, at: number): AppError {
    const i = seg.idxPositions.findIndex((p) => p > at);
    const from = seg.idxOffsets[Math.max(0, (i < 0 ? seg.idxOffsets.length : i) - 1)] ?? seg.baseOffset;
    const to = i < 0 ? seg.lastOffset : seg.idxOffsets[i]! - 1;
    const err = new AppError(
      ErrorCode.LOG_CORRUPT,
      `${this.topic}:${this.partition}: corrupt record batch in ${seg.file} at byte ${at} (offsets within ${from}..${to}), found by a read; ` +
        'the partition refuses further use until `msgtrack log repair` moves the bad range to a quarantine file',
      { context: { topic: this.topic, partition: this.partition, file: seg.file, position: at } },
    );
    if (this.#failure === undefined) {
      this.#failure = err;
      this.#failedReading = seg;
    }
    this.#options.emit?.({
      action: 'refused-corrupt',
      message: err.message,
      topic: this.topic,
      partition: this.partition,
      file: seg.file,
    });
    return err;
  }

  // ---- scrub (./scrub.ts) ----------------------------------------------------------------------------

  /** Byte ranges no scan has CRC-checked yet, per segment, as they are now. */
  unverifiedRanges(): { seg: Segment; from: number; to: number }[] {
    return this.#segments
      .filter((seg) => seg.verifiedBytes < seg.size)
      .map((seg) => ({ seg, from: seg.verifiedBytes, to: seg.size }));
  }

  /** Whether `seg` is still one of this partition's segments (not deleted, compacted or repaired). */
  holds(seg: Segment): boolean {
    return this.#segments.includes(seg);
  }

  /** Whether a read (not the open) found the damage this partition refuses for, in `seg`. */
  failedReading(seg: Segment): boolean {
    return this.#failedReading === seg;
  }

  /** The scrub checked `seg` up to byte `to`: remembered in its index (a sealed one's, now). */
  markVerified(seg: Segment, to: number): void {
    if (!this.holds(seg) || to <= seg.verifiedBytes) return;
    seg.verifiedBytes = to;
    if (seg !== this.#segments[this.#segments.length - 1]) this.#saveIndex(seg);
  }

  /** Refuse every further use with `err` (LOG_CORRUPT found by the scrub); other partitions go on. */
  refuse(err: AppError): void {
    this.#failure ??= err;
    this.#wake();
  }

  /** Seal `seg` before it is repaired: if it is the active segment, appends move to a new one. */
  seal(seg: Segment): void {
    if (seg === this.#segments[this.#segments.length - 1] && !this.#closed) this.rollIfNotEmpty();
  }

  /**
   * Put `fresh` (the repaired file of `old`, scanned whole) in place of `old`. The offsets of `old`
   * stay reserved (the next offset is above them anyway); a refusal that a read found in `old` is
   * lifted. Returns false, removing the repaired file, when `old` was deleted meanwhile.
   */
  replaceSegment(old: Segment, fresh: Segment): boolean {
    const i = this.#segments.indexOf(old);
    if (i < 0 || this.#closed) {
      fs.closeSync(fresh.fd);
      if (i < 0) {
        fs.rmSync(fresh.file, { force: true });
        removeIndex(fresh.file);
      }
      return false;
    }
    fresh.lastOffset = Math.max(fresh.lastOffset, old.lastOffset);
    this.#segments[i] = fresh;
    fs.closeSync(old.fd);
    this.dirtyFds.delete(old.fd);
    this.#saveIndex(fresh);
    if (this.#failedReading === old) {
      this.#failure = undefined;
      this.#failedReading = undefined;
    }
    return true;
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
    removeIndex(seg.file);
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
    fsyncDir(this.dir);
    fs.closeSync(seg.fd);
    this.dirtyFds.delete(seg.fd);
    const i = this.#segments.indexOf(seg);
    this.#segments[i] = fresh;
    this.#saveIndex(fresh);
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  /** Throws the partition's refusal (LOG_CORRUPT) if it did not open. */
  assertUsable(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  assertWritable(): void {
    this.assertUsable();
    if (this.#closed) {
      throw new AppError(ErrorCode.LOG_CLOSED, 'the log is closed', {
        context: { topic: this.topic, partition: this.partition },
      });
    }
    if (this.#options.readOnly === true) {
      throw new AppError(ErrorCode.LOG_READ_ONLY, `${this.topic}:${this.partition} is open read-only`, {
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

  /** Write what is queued, fsync, save the active segment's index (a clean stop), close the files. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#failure === undefined && this.#options.readOnly !== true) {
        this.flush();
        this.syncNow();
        const active = this.#segments[this.#segments.length - 1];
        if (active !== undefined) this.#saveIndex(active);
      }
    } finally {
      for (const s of this.#segments) fs.closeSync(s.fd);
      this.#wake();
    }
  }
}

export { BATCH_HEADER_BYTES };

function writeAll(seg: Segment, bufs: Buffer[], bytes: number): void {
  let written = fs.writevSync(seg.fd, bufs, seg.size);
  if (written === bytes) return;
  // Short write (rare): fall back to writing the rest buffer by buffer.
  const all = Buffer.concat(bufs);
  while (written < bytes) {
    written += fs.writeSync(seg.fd, all, written, bytes - written, seg.size + written);
  }
}

/** A failed write as an AppError: LOG_DISK_FULL (with the free space) for ENOSPC/EDQUOT, else LOG_IO. */
export function writeError(err: unknown, dir: string): AppError {
  if (err instanceof AppError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    let free = -1;
    try {
      const st = fs.statfsSync(dir);
      free = st.bavail * st.bsize;
    } catch {
      // unknown
    }
    return new AppError(
      ErrorCode.LOG_DISK_FULL,
      `no space left for the log in ${dir} (${free < 0 ? 'free space unknown' : `${free} bytes free`}): nothing of this write was kept; writes succeed again once space is freed`,
      { cause: err, retriable: true, context: { path: dir, freeBytes: free } },
    );
  }
  return new AppError(ErrorCode.LOG_IO, `write to the log in ${dir} failed: ${(err as Error).message}`, {
    cause: err,
    context: { path: dir },
  });
}

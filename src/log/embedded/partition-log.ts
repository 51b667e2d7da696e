/**
 * One partition on disk: a directory of segment files `<baseOffset, 20 digits>.seg` (format in
 * ./format.ts), the newest of which ("active") receives appends. An in-memory sparse index (one entry
 * per ~4 KiB of batches, loaded from the segment's index file or rebuilt by a scan on open) maps
 * offsets to file positions.
 *
 * `PartitionLog` is the partition's one entry; its concerns live beside it, over one shared state
 * (./partition-state.ts): opening and recovery (./partition-recovery.ts), appends
 * (./partition-append.ts: queued, written with one writev per segment; the high watermark moves only
 * after the bytes are in the file, so readers never see a record that is not written), reads
 * (./partition-read.ts), retention and compaction (./partition-cleanup.ts), and the hooks of the scrub
 * after open (./scrub.ts). Transaction state per partition: `openTxns` (producer id → first offset; the
 * LSO is the smallest) and `aborted` (producer id → offset range), rebuilt on open from the
 * transactional batches and markers in the segments (or their indexes).
 *
 * The log start offset is the base offset of the first segment, or higher after `deleteRecords`
 * (Kafka's DeleteRecords): then it is kept in the journal by the caller and passed back on open;
 * reads never serve records below it, and segments wholly below it are deleted.
 */

import * as fs from 'node:fs';
import { AppError, ErrorCode } from '../../errors/index.ts';
import type { LogRecord } from '../types.ts';
import type { EncodableRecord } from './format.ts';
import { AppendQueue } from './partition-append.ts';
import { compact, deleteExpired, deleteSegmentsBelowStart } from './partition-cleanup.ts';
import { type ReadResume, readRecords } from './partition-read.ts';
import { recoverPartition } from './partition-recovery.ts';
import {
  activeSegment,
  lastStableOffset,
  type PartitionLogOptions,
  type PartitionState,
  roll,
  saveIndex,
  wake,
} from './partition-state.ts';
import { type AbortedTxn, fsyncDir, openSegmentFile, type Segment } from './segment.ts';
import { removeIndex } from './segment-index.ts';

export type { AbortedTxn, PartitionLogOptions };

export interface RecoveryInfo {
  /** Bytes cut from segment tails (torn writes). */
  truncatedBytes: number;
  /** Bytes moved to quarantine files (policy 'quarantine'). */
  quarantinedBytes: number;
  /** Producer ids of transactions left open (no marker) in this partition. */
  openProducerIds: number[];
}

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly #s: PartitionState;
  readonly #appends: AppendQueue;
  #closed = false;
  #failure: AppError | undefined;
  /** The segment in which a read found the damage that set `#failure` (a repair of it clears it). */
  #failedReading: Segment | undefined;
  /** A scrub repairs a segment here: retention and compaction leave the partition alone meanwhile. */
  repairing = false;

  private constructor(dir: string, topic: string, partition: number, options: PartitionLogOptions) {
    this.dir = dir;
    this.topic = topic;
    this.partition = partition;
    this.#s = {
      topic,
      partition,
      dir,
      options,
      segments: [],
      nextOffset: 0,
      hw: 0,
      start: 0,
      openTxns: new Map(),
      aborted: new Map(),
      dirtyFds: new Set(),
      waiters: new Set(),
    };
    this.#appends = new AppendQueue(this.#s);
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
    const s = log.#s;
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
    s.segments = r.segments;
    for (const [k, v] of r.openTxns) s.openTxns.set(k, v);
    for (const [k, v] of r.aborted) s.aborted.set(k, v);
    if (s.segments.length === 0 && !readOnly) {
      s.segments.push(openSegmentFile(dir, 0, 'create'));
      if (options.syncOnRoll) fsyncDir(dir);
    }
    const active = s.segments[s.segments.length - 1];
    s.start = Math.max(options.logStartOffset ?? 0, s.segments[0]?.baseOffset ?? 0);
    const end = active === undefined ? 0 : Math.max(active.baseOffset, active.lastOffset + 1);
    // Never hand out an offset twice: not below what the journal knows was handed out, nor below a
    // quarantined frame's offsets, nor below the start offset (its records may have been lost with an
    // unsynced tail while the journal entry survived: the log continues at it, as Kafka does).
    s.nextOffset = Math.max(end, r.offsetFloor, s.start, options.offsetFloor ?? 0);
    if (s.nextOffset > end) {
      emit({
        action: 'raised-next-offset',
        message: `${topic}:${partition}: the recovered log ends at offset ${end}, but offsets up to ${s.nextOffset - 1} were handed out before; the next record gets offset ${s.nextOffset}`,
        topic,
        partition,
      });
    }
    s.hw = s.nextOffset;
    // Segments a crash left behind between the journal entry and their deletion.
    if (!readOnly) deleteSegmentsBelowStart(s);
    return { log, recovery: { ...recovery, openProducerIds: [...s.openTxns.keys()] } };
  }

  /** Why this partition refused to open (LOG_CORRUPT), if it did. */
  get failure(): AppError | undefined {
    return this.#failure;
  }

  get logStartOffset(): number {
    return this.#s.start;
  }
  get highWatermark(): number {
    return this.#s.hw;
  }
  get nextOffset(): number {
    return this.#s.nextOffset;
  }
  get lastStableOffset(): number {
    return lastStableOffset(this.#s);
  }
  /** Producer id → first offset of its open transaction here. */
  get openTxns(): ReadonlyMap<number, number> {
    return this.#s.openTxns;
  }

  // ---- appends (./partition-append.ts) -------------------------------------------------------------

  /** Queue a batch of records; returns the base offset. Written by the next `flush()`. */
  appendRecords(records: readonly EncodableRecord[], producerId: number, transactional: boolean): number {
    this.assertWritable();
    return this.#appends.appendRecords(records, producerId, transactional);
  }

  /** Queue a transaction marker for `producerId`, if it has an open transaction here. */
  appendMarker(producerId: number, commit: boolean, timestamp: number): boolean {
    this.assertWritable();
    return this.#appends.appendMarker(producerId, commit, timestamp);
  }

  /** Write queued batches to the segment files (rolling segments as needed); wakes readers. */
  flush(): void {
    this.writePending();
    this.commitWrite();
  }

  /** Write queued batches, all or nothing (LOG_DISK_FULL, LOG_IO); see ./partition-append.ts. */
  writePending(): void {
    this.#appends.writePending();
  }

  /** The last `writePending` stays: wake readers. */
  commitWrite(): void {
    this.#appends.commitWrite();
  }

  /** Undo the last `writePending` (or drop what is queued): offsets and transaction state go back. */
  undoWrite(): void {
    this.#appends.undoWrite();
  }

  /** Start a new active segment if the current one has data (so that it can be cleaned or deleted). */
  rollIfNotEmpty(): void {
    this.flush();
    if (activeSegment(this.#s).size > 0) roll(this.#s, this.#s.nextOffset);
  }

  /** Register a callback run once when records are written here; returns its remover. */
  onAppend(cb: () => void): () => void {
    this.#s.waiters.add(cb);
    return () => this.#s.waiters.delete(cb);
  }

  // ---- reads (./partition-read.ts) ---------------------------------------------------------------

  /**
   * Read records with offsets in `[from, to)` (at most `max`), skipping markers and, if
   * `readCommitted`, records of aborted transactions. Returns the next offset to read.
   */
  read(
    from: number,
    to: number,
    max: number,
    readCommitted: boolean,
    out: LogRecord[],
    resume?: ReadResume,
  ): number {
    this.assertUsable();
    return readRecords(
      this.#s,
      from,
      to,
      max,
      readCommitted,
      out,
      (seg, at) => this.#corrupt(seg, at),
      resume,
    );
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
    this.#s.options.emit?.({
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
    return this.#s.segments
      .filter((seg) => seg.verifiedBytes < seg.size)
      .map((seg) => ({ seg, from: seg.verifiedBytes, to: seg.size }));
  }

  /** Whether `seg` is still one of this partition's segments (not deleted, compacted or repaired). */
  holds(seg: Segment): boolean {
    return this.#s.segments.includes(seg);
  }

  /** Whether a read (not the open) found the damage this partition refuses for, in `seg`. */
  failedReading(seg: Segment): boolean {
    return this.#failedReading === seg;
  }

  /** The scrub checked `seg` up to byte `to`: remembered in its index (a sealed one's, now). */
  markVerified(seg: Segment, to: number): void {
    if (!this.holds(seg) || to <= seg.verifiedBytes) return;
    seg.verifiedBytes = to;
    if (seg !== activeSegment(this.#s)) saveIndex(this.#s, seg);
  }

  /** Refuse every further use with `err` (LOG_CORRUPT found by the scrub); other partitions go on. */
  refuse(err: AppError): void {
    this.#failure ??= err;
    wake(this.#s);
  }

  /** Seal `seg` before it is repaired: if it is the active segment, appends move to a new one. */
  seal(seg: Segment): void {
    if (seg === activeSegment(this.#s) && !this.#closed) this.rollIfNotEmpty();
  }

  /**
   * Put `fresh` (the repaired file of `old`, scanned whole) in place of `old`. The offsets of `old`
   * stay reserved (the next offset is above them anyway); a refusal that a read found in `old` is
   * lifted. Returns false, removing the repaired file, when `old` was deleted meanwhile.
   */
  replaceSegment(old: Segment, fresh: Segment): boolean {
    const s = this.#s;
    const i = s.segments.indexOf(old);
    if (i < 0 || this.#closed) {
      fs.closeSync(fresh.fd);
      if (i < 0) {
        fs.rmSync(fresh.file, { force: true });
        removeIndex(fresh.file);
      }
      return false;
    }
    fresh.lastOffset = Math.max(fresh.lastOffset, old.lastOffset);
    s.segments[i] = fresh;
    fs.closeSync(old.fd);
    s.dirtyFds.delete(old.fd);
    saveIndex(s, fresh);
    if (this.#failedReading === old) {
      this.#failure = undefined;
      this.#failedReading = undefined;
    }
    return true;
  }

  // ---- retention and compaction (./partition-cleanup.ts) ---------------------------------------------

  /** Delete whole segments older than `cutoffMs`; returns how many. */
  deleteExpired(cutoffMs: number): number {
    return deleteExpired(this.#s, this, cutoffMs);
  }

  /**
   * Move the log start offset up to `offset` (no-op when it is not higher). The caller checked that
   * `offset` is at most the high watermark and made it durable; segments go with
   * `deleteSegmentsBelowStart`.
   */
  advanceLogStartOffset(offset: number): void {
    if (offset > this.#s.start) this.#s.start = offset;
  }

  /** Delete the segments wholly below the log start offset; returns how many. */
  deleteSegmentsBelowStart(): number {
    return deleteSegmentsBelowStart(this.#s);
  }

  /** Keep the latest record per key in the closed segments below the LSO; returns the records removed. */
  compact(tombstoneCutoffMs: number, rollActive: boolean): number {
    return compact(this.#s, this, tombstoneCutoffMs, rollActive);
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
    if (this.#s.options.readOnly === true) {
      throw new AppError(ErrorCode.LOG_READ_ONLY, `${this.topic}:${this.partition} is open read-only`, {
        context: { topic: this.topic, partition: this.partition },
      });
    }
  }

  /** The fds written since the last call (to fsync them). */
  takeDirtyFds(): number[] {
    const fds = [...this.#s.dirtyFds];
    this.#s.dirtyFds.clear();
    return fds;
  }

  /** fsync written data of this partition. */
  syncNow(): void {
    for (const fd of this.#s.dirtyFds) fs.fdatasyncSync(fd);
    this.#s.dirtyFds.clear();
  }

  /** Write what is queued, fsync (unless fsync is 'never'), save the active segment's index, close the files. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const s = this.#s;
    try {
      if (this.#failure === undefined && s.options.readOnly !== true) {
        this.flush();
        if (s.options.syncOnRoll) this.syncNow();
        const active = s.segments[s.segments.length - 1];
        if (active !== undefined) saveIndex(s, active);
      }
    } finally {
      for (const seg of s.segments) fs.closeSync(seg.fd);
      wake(s);
    }
  }
}

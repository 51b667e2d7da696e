/**
 * Appends to one partition: batches are queued (`appendRecords`, `appendMarker`: offsets assigned at
 * once) and written by `writePending` with one writev per segment, rolling segments as needed; the
 * high watermark moves only after the bytes are in the file, so readers never see a record that is not
 * written. A write is all or nothing: until `commitWrite` it can be undone (`undoWrite`), which the
 * log's group commit does for every partition of a round when one of them fails (disk full).
 */

import * as fs from 'node:fs';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { ATTR_TRANSACTIONAL, type EncodableRecord, encodeBatch, encodeMarker } from './format.ts';
import { activeSegment, type PartitionState, roll, wake } from './partition-state.ts';
import { type AbortedTxn, addBatch, applyTxnEvent, recordTxnEvent, type Segment } from './segment.ts';
import { removeIndex, TxnKind } from './segment-index.ts';

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

/**
 * The file state before a write, to undo it. The active segment's index arrays and transaction
 * events only grow during a write: their lengths are kept, not copies (a copy per write grew with the
 * segment: its index and one event per transaction that wrote to it).
 */
interface WriteUndo {
  readonly segments: number;
  readonly active: Segment;
  /** The active segment's fields (a shallow copy: the same arrays and map). */
  readonly activeFields: Segment;
  readonly indexEntries: number;
  readonly txnEvents: number;
  /** `txnLast` of the active segment before the write, for the producers of the queued batches. */
  readonly txnLast: ReadonlyMap<number, number | undefined>;
  readonly hw: number;
}

export class AppendQueue {
  readonly #s: PartitionState;
  #pending: PendingBatch[] = [];
  #checkpoint: Checkpoint | undefined;
  #undo: WriteUndo | undefined;

  constructor(state: PartitionState) {
    this.#s = state;
  }

  /** Queue a batch of records; returns the base offset. */
  appendRecords(records: readonly EncodableRecord[], producerId: number, transactional: boolean): number {
    const s = this.#s;
    this.#takeCheckpoint();
    const baseOffset = s.nextOffset;
    const buf = encodeBatch(baseOffset, producerId, transactional ? ATTR_TRANSACTIONAL : 0, records);
    let maxTimestamp = -1;
    for (const r of records) if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
    const lastOffset = baseOffset + records.length - 1;
    if (transactional && !s.openTxns.has(producerId)) s.openTxns.set(producerId, baseOffset);
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
    const s = this.#s;
    if (!s.openTxns.has(producerId)) return false;
    this.#takeCheckpoint();
    const offset = s.nextOffset;
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
    const s = this.#s;
    this.#checkpoint = {
      nextOffset: s.nextOffset,
      openTxns: new Map(s.openTxns),
      aborted: new Map(s.aborted),
    };
  }

  #queue(batch: PendingBatch): void {
    this.#pending.push(batch);
    this.#s.nextOffset = batch.lastOffset + 1;
  }

  /**
   * Write queued batches (one writev per segment). On failure everything queued is undone — the
   * files are cut back to their size before, segments rolled meanwhile removed, offsets and
   * transaction state restored — and LOG_DISK_FULL (no space) or LOG_IO is thrown: a batch lands
   * whole or not at all. Until `commitWrite` (or `undoWrite`), the write can still be undone.
   */
  writePending(): void {
    if (this.#pending.length === 0) return;
    const s = this.#s;
    const pending = this.#pending;
    this.#pending = [];
    const active = activeSegment(s);
    const txnLast = new Map<number, number | undefined>();
    for (const b of pending) {
      if (b.transactional && !txnLast.has(b.producerId))
        txnLast.set(b.producerId, active.txnLast.get(b.producerId));
    }
    this.#undo = {
      segments: s.segments.length,
      active,
      activeFields: { ...active },
      indexEntries: active.idxOffsets.length,
      txnEvents: active.txnEvents.length,
      txnLast,
      hw: s.hw,
    };
    try {
      this.#write(pending);
    } catch (err) {
      this.undoWrite();
      throw writeError(err, s.dir);
    }
  }

  #write(pending: readonly PendingBatch[]): void {
    const s = this.#s;
    const limit = s.options.segmentBytes;
    let i = 0;
    while (i < pending.length) {
      let seg = activeSegment(s);
      if (seg.size > 0 && seg.size + pending[i]!.buf.length > limit) seg = roll(s, pending[i]!.baseOffset);
      const bufs: Buffer[] = [];
      let bytes = 0;
      const start = i;
      while (
        i < pending.length &&
        bufs.length < IOV_MAX &&
        (bytes === 0 || seg.size + bytes + pending[i]!.buf.length <= limit)
      ) {
        bufs.push(pending[i]!.buf);
        bytes += pending[i]!.buf.length;
        i++;
      }
      s.dirtyFds.add(seg.fd);
      writeAll(seg, bufs, bytes);
      let filePos = seg.size;
      for (let j = start; j < i; j++) {
        const b = pending[j]!;
        addBatch(seg, b.baseOffset, b.lastOffset, b.maxTimestamp, filePos, b.buf.length, b.count);
        filePos += b.buf.length;
        if (b.transactional) {
          const kind = b.commit === undefined ? TxnKind.DATA : b.commit ? TxnKind.COMMIT : TxnKind.ABORT;
          const e = recordTxnEvent(seg, b.producerId, kind, b.baseOffset, b.lastOffset);
          if (e !== undefined && kind !== TxnKind.DATA) applyTxnEvent(s.openTxns, s.aborted, e);
        }
      }
      seg.size = filePos;
      s.hw = seg.lastOffset + 1;
    }
  }

  /** The last `writePending` stays: wake readers. */
  commitWrite(): void {
    if (this.#undo === undefined) return;
    this.#undo = undefined;
    this.#checkpoint = undefined;
    wake(this.#s);
  }

  /**
   * Undo the last `writePending` (and everything it wrote), see there; or, if nothing was written yet,
   * drop what is queued. Offsets and transaction state go back to before the first queued batch.
   */
  undoWrite(): void {
    const s = this.#s;
    const undo = this.#undo;
    const cp = this.#checkpoint;
    this.#undo = undefined;
    this.#checkpoint = undefined;
    this.#pending = [];
    if (undo !== undefined) {
      for (const seg of s.segments.splice(undo.segments)) {
        fs.closeSync(seg.fd);
        s.dirtyFds.delete(seg.fd);
        fs.rmSync(seg.file, { force: true });
        removeIndex(seg.file);
      }
      const a = undo.active;
      Object.assign(a, undo.activeFields);
      a.idxOffsets.length = undo.indexEntries;
      a.idxPositions.length = undo.indexEntries;
      a.idxTimes.length = undo.indexEntries;
      a.txnEvents.length = undo.txnEvents;
      for (const [pid, kind] of undo.txnLast) {
        if (kind === undefined) a.txnLast.delete(pid);
        else a.txnLast.set(pid, kind);
      }
      fs.ftruncateSync(a.fd, a.size);
      removeIndex(a.file);
      s.hw = undo.hw;
    }
    if (cp !== undefined) {
      s.nextOffset = cp.nextOffset;
      s.openTxns.clear();
      for (const [k, v] of cp.openTxns) s.openTxns.set(k, v);
      s.aborted.clear();
      for (const [k, v] of cp.aborted) s.aborted.set(k, v);
    }
  }
}

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

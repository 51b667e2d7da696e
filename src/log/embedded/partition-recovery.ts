/**
 * Opening a partition directory: every segment is loaded from its index (./segment-index.ts) when
 * that index is intact and current, and scanned otherwise. The active segment's index is removed when
 * the log opens it for appending and written again at a clean close, so after a clean stop nothing is
 * scanned and after a crash only the active segment (bounded by the segment size) and segments whose
 * index is missing or damaged: open time does not grow with the log. Damage inside a segment with an
 * intact index is found by the scrub after open (./scrub.ts, which uses `repairSealedSegment` below),
 * or before it by the first read that reaches it (the partition then refuses further use with
 * LOG_CORRUPT, see ./partition-log.ts), by `msgtrack log verify`, and by `msgtrack log repair` (which
 * scans everything).
 *
 * Outcomes of a scan (see ./segment-scan.ts for what counts as what):
 * - torn tail: cut (ftruncate), reported as `cut-torn-tail`.
 * - corruption, policy 'refuse' (the default) or a read-only open: the partition is not opened; it
 *   fails with LOG_CORRUPT naming the file, byte range, offsets and reason (`refused-corrupt`); other
 *   partitions are unaffected. Nothing is changed on disk.
 * - corruption, policy 'quarantine': the bad byte range is copied to
 *   `<partition>/quarantine/<segment>.<from>-<to>.bad` (fsynced), then cut out of the segment (rewrite
 *   + rename), and the scan starts again; records before and after the range are kept with their
 *   offsets (`quarantined`).
 * Every action is reported through `emit`, once, with what it did.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { markerType } from './format.ts';
import {
  type AbortedTxn,
  addBatch,
  applyTxnEvent,
  emptySegment,
  fsyncDir,
  openSegmentFile,
  recordTxnEvent,
  SEGMENT_SUFFIX,
  type Segment,
  segmentFromSummary,
  summaryOf,
  txnKindOf,
} from './segment.ts';
import { readIndex, removeIndex, writeIndex } from './segment-index.ts';
import { type ScanProblem, scanSegment } from './segment-scan.ts';

export type CorruptionPolicy = 'refuse' | 'quarantine';

/** One thing recovery did (or refused to do), for the operator's log. */
export interface RecoveryEvent {
  readonly action:
    | 'cut-torn-tail'
    | 'refused-corrupt'
    | 'quarantined'
    | 'rescanned'
    | 'raised-next-offset'
    | 'journal-cut-torn-tail'
    | 'journal-quarantined'
    | 'transactions-completed';
  readonly message: string;
  readonly topic?: string;
  readonly partition?: number;
  readonly file?: string;
  readonly bytes?: number;
}

export interface PartitionRecoveryOptions {
  readonly onCorruption: CorruptionPolicy;
  /** Change nothing on disk: torn tails are ignored, corruption always refuses. */
  readonly readOnly: boolean;
  /** Scan every segment instead of trusting intact indexes (repair, verify). */
  readonly scanAll: boolean;
  readonly emit: (event: RecoveryEvent) => void;
}

export interface RecoveredPartition {
  readonly segments: Segment[];
  readonly openTxns: Map<number, number>;
  readonly aborted: Map<number, AbortedTxn>;
  /** Set when the partition refuses to open (the segments are closed then). */
  readonly failure: AppError | undefined;
  readonly truncatedBytes: number;
  readonly quarantinedBytes: number;
  /** The lowest next offset the segments allow: their end, or above a quarantined frame's offsets. */
  readonly offsetFloor: number;
}

export const QUARANTINE_DIR = 'quarantine';
const CLEANED_SUFFIX = '.cleaned';
const MAX_REPAIRS_PER_SEGMENT = 1000;

export async function recoverPartition(
  dir: string,
  topic: string,
  partition: number,
  o: PartitionRecoveryOptions,
): Promise<RecoveredPartition> {
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  if (!o.readOnly) {
    for (const name of names) {
      // A compaction or repair that did not finish: its output is incomplete, the original is intact.
      if (name.endsWith(CLEANED_SUFFIX) || name.endsWith('.idx.tmp'))
        fs.rmSync(path.join(dir, name), { force: true });
    }
  }
  const bases = names
    .filter((n) => n.endsWith(SEGMENT_SUFFIX))
    .map((n) => Number(n.slice(0, -SEGMENT_SUFFIX.length)))
    .filter((n) => Number.isSafeInteger(n))
    .sort((a, b) => a - b);
  const state = {
    segments: [] as Segment[],
    openTxns: new Map<number, number>(),
    aborted: new Map<number, AbortedTxn>(),
    failure: undefined as AppError | undefined,
    truncatedBytes: 0,
    quarantinedBytes: 0,
    offsetFloor: 0,
  };
  const where = `${topic}:${partition}`;
  let expectedNext = 0;
  for (let i = 0; i < bases.length && state.failure === undefined; i++) {
    const base = bases[i]!;
    const isLast = i === bases.length - 1;
    let seg = openSegmentFile(dir, base, o.readOnly ? 'read' : 'write');
    state.segments.push(seg);
    if (base < expectedNext) {
      state.failure = new AppError(
        ErrorCode.LOG_CORRUPT,
        `${where}: segment ${seg.file} starts at offset ${base}, inside the previous segment (which ends at ${expectedNext - 1}); the partition is not opened`,
        { context: { topic, partition, file: seg.file, offset: base } },
      );
      o.emit({ action: 'refused-corrupt', message: state.failure.message, topic, partition, file: seg.file });
      break;
    }
    const fileSize = fs.fstatSync(seg.fd).size;
    const idx = readIndex(seg.file, base, fileSize);
    // The active segment has an index only after a clean stop (it is removed when appends start).
    if (idx.ok && !o.scanAll) {
      seg = segmentFromSummary(seg.file, seg.fd, idx.summary);
      state.segments[i] = seg;
    } else {
      if (!idx.ok && !isLast) {
        o.emit({
          action: 'rescanned',
          message: `${where}: index of ${seg.file} is ${idx.reason}: scanned the segment${o.readOnly ? '' : ' and rewrote its index'}`,
          topic,
          partition,
          file: seg.file,
        });
      }
      state.failure = await scanAndRepair(seg, fileSize, expectedNext, where, topic, partition, o, state);
      if (state.failure !== undefined) break;
      if (!o.readOnly && !isLast) writeIndex(seg.file, summaryOf(seg));
    }
    // The active segment is appended to: its index is stale from the first append (rewritten at close).
    if (isLast && !o.readOnly) removeIndex(seg.file);
    for (const e of seg.txnEvents) applyTxnEvent(state.openTxns, state.aborted, e);
    expectedNext = seg.lastOffset + 1;
    state.offsetFloor = Math.max(state.offsetFloor, expectedNext);
  }
  if (state.failure !== undefined) {
    for (const s of state.segments) fs.closeSync(s.fd);
    state.segments = [];
  }
  return state;
}

/** Scan `seg`, cutting a torn tail and quarantining bad ranges as the policy says; returns a refusal. */
async function scanAndRepair(
  seg: Segment,
  initialSize: number,
  expectedNext: number,
  where: string,
  topic: string,
  partition: number,
  o: PartitionRecoveryOptions,
  state: { truncatedBytes: number; quarantinedBytes: number; offsetFloor: number },
  sealed = false,
): Promise<AppError | undefined> {
  let fileSize = initialSize;
  for (let attempt = 0; attempt < MAX_REPAIRS_PER_SEGMENT; attempt++) {
    Object.assign(seg, { ...emptySegment(seg.file, seg.fd, seg.baseOffset) });
    const { validEnd, problem: found } = await scanSegment(
      seg.fd,
      fileSize,
      0,
      expectedNext,
      (buf, pos, filePos, n, h) => {
        addBatch(seg, h.baseOffset, h.lastOffset, h.maxTimestamp, filePos, n, h.count);
        const kind = txnKindOf(h, () => markerType(buf, pos));
        if (kind !== undefined) recordTxnEvent(seg, h.producerId, kind, h.baseOffset, h.lastOffset);
      },
    );
    seg.size = validEnd;
    seg.verifiedBytes = validEnd;
    if (found === undefined) return undefined;
    // In a sealed segment (its index recorded complete frames to its end) nothing is a torn write.
    const problem: ScanProblem =
      found.kind === 'torn-tail' && sealed
        ? {
            kind: 'corrupt',
            position: found.position,
            end: found.position + found.bytes,
            reason: 'incomplete frame in a sealed segment',
            firstOffset: seg.lastOffset + 1,
            nextBaseOffset: undefined,
            guessedLastOffset: undefined,
          }
        : found;
    if (problem.kind === 'torn-tail') {
      if (!o.readOnly) {
        fs.ftruncateSync(seg.fd, problem.position);
        fs.fsyncSync(seg.fd);
      }
      state.truncatedBytes += problem.bytes;
      o.emit({
        action: 'cut-torn-tail',
        message: `${where}: ${o.readOnly ? 'ignored' : 'cut'} ${problem.bytes} bytes of a torn write at the end of ${seg.file} (bytes ${problem.position}..${problem.position + problem.bytes}, no complete frame)`,
        topic,
        partition,
        file: seg.file,
        bytes: problem.bytes,
      });
      return undefined;
    }
    if (problem.guessedLastOffset !== undefined) {
      state.offsetFloor = Math.max(state.offsetFloor, problem.guessedLastOffset + 1);
    }
    const what = describeCorruption(seg.file, problem);
    if (o.onCorruption === 'refuse' || o.readOnly) {
      const err = new AppError(
        ErrorCode.LOG_CORRUPT,
        `${where}: ${what}; the partition is not opened (other partitions are). ` +
          '`msgtrack log verify` lists all damage; `msgtrack log repair` (or LOG_ON_CORRUPTION=quarantine) moves the bad range to a quarantine file and serves around it',
        {
          context: {
            topic,
            partition,
            file: seg.file,
            position: problem.position,
            end: problem.end,
            firstOffset: problem.firstOffset,
          },
        },
      );
      o.emit({ action: 'refused-corrupt', message: err.message, topic, partition, file: seg.file });
      return err;
    }
    const qfile = quarantineRange(seg, problem.position, problem.end);
    const bytes = problem.end - problem.position;
    fileSize -= bytes;
    state.quarantinedBytes += bytes;
    o.emit({
      action: 'quarantined',
      message: `${where}: ${what}; moved those ${bytes} bytes to ${qfile} and serve the records around them`,
      topic,
      partition,
      file: seg.file,
      bytes,
    });
  }
  return new AppError(ErrorCode.LOG_CORRUPT, `${where}: ${seg.file} has too many damaged ranges to repair`, {
    context: { topic, partition, file: seg.file },
  });
}

/**
 * The scrub's repair of a sealed segment found damaged (policy 'quarantine'): scan `seg` — a fresh
 * handle on the segment's file, not the one reads use — whole, moving every bad range to a
 * quarantine file. The file is replaced by rename, so the old handle still reads the old bytes until
 * the caller swaps the segments. Returns a refusal when the damage cannot be repaired.
 */
export async function repairSealedSegment(
  seg: Segment,
  topic: string,
  partition: number,
  emit: (event: RecoveryEvent) => void,
): Promise<{ failure: AppError | undefined; quarantinedBytes: number }> {
  const state = { truncatedBytes: 0, quarantinedBytes: 0, offsetFloor: 0 };
  const o = { onCorruption: 'quarantine', readOnly: false, scanAll: true, emit } as const;
  const size = fs.fstatSync(seg.fd).size;
  const where = `${topic}:${partition}`;
  const failure = await scanAndRepair(seg, size, seg.baseOffset, where, topic, partition, o, state, true);
  return { failure, quarantinedBytes: state.quarantinedBytes };
}

export function describeCorruption(file: string, p: ScanProblem & { kind: 'corrupt' }): string {
  const last = p.nextBaseOffset === undefined ? 'the end of the segment' : String(p.nextBaseOffset - 1);
  return `corrupt data in ${file} at byte ${p.position} (${p.reason}; bad range bytes ${p.position}..${p.end}, offsets ${p.firstOffset}..${last})`;
}

/** Copy bytes `[from, to)` of `seg` to a quarantine file (fsynced), then cut them out of the segment. */
function quarantineRange(seg: Segment, from: number, to: number): string {
  const dir = path.dirname(seg.file);
  const qdir = path.join(dir, QUARANTINE_DIR);
  fs.mkdirSync(qdir, { recursive: true });
  const all = fs.readFileSync(seg.file);
  const qfile = path.join(qdir, `${path.basename(seg.file)}.${from}-${to}.bad`);
  writeDurably(qfile, all.subarray(from, to));
  fsyncDir(qdir);
  const cleaned = seg.file + CLEANED_SUFFIX;
  writeDurably(cleaned, Buffer.concat([all.subarray(0, from), all.subarray(to)]));
  fs.renameSync(cleaned, seg.file);
  fsyncDir(dir);
  fs.closeSync(seg.fd);
  seg.fd = fs.openSync(seg.file, 'r+');
  return qfile;
}

function writeDurably(file: string, data: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    let written = 0;
    while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written, written);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The scrub: after open, in the background, every segment byte that no scan has CRC-checked yet —
 * segments opened from their index (a clean stop), segments this process wrote — is read and checked,
 * once. What a segment's scan verified is remembered in its index (`verifiedBytes`), so a restart
 * checks only what is new. Reads go through a handle of its own in chunks that yield to the event loop
 * (./segment-scan.ts), so opening stays independent of the log's size and the process keeps answering;
 * `close()` stops it between chunks.
 *
 * Damage found (a bad CRC, offsets out of order, a frame cut short — inside a sealed range nothing is a
 * torn write) is handled as on open (./partition-recovery.ts), logged at warn through `emit`:
 * - 'refuse': the partition refuses every further use with LOG_CORRUPT naming the file, the byte range
 *   and the offsets; other partitions go on.
 * - 'quarantine': the segment is sealed (the active one rolled), its bad ranges moved to quarantine files
 *   and the repaired file swapped in; the records around them keep their offsets, and a refusal that a
 *   read found there first is lifted.
 * A read that reaches damage before the scrub does refuses the partition the same way.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { AppError, ErrorCode } from '../../errors/index.ts';
import type { PartitionLog } from './partition-log.ts';
import {
  type CorruptionPolicy,
  describeCorruption,
  type RecoveryEvent,
  repairSealedSegment,
} from './partition-recovery.ts';
import { openSegmentFile, type Segment } from './segment.ts';
import { type ScanProblem, scanSegment } from './segment-scan.ts';

export interface ScrubReport {
  /** Segments whose unverified bytes were checked (and found intact or repaired). */
  readonly segments: number;
  readonly bytes: number;
  /** Partitions refused for damage the scrub found (policy 'refuse'). */
  readonly corrupt: readonly { topic: string; partition: number; message: string }[];
  /** Bytes moved to quarantine files (policy 'quarantine'). */
  readonly quarantinedBytes: number;
  /** Stopped by `close()` before the end. */
  readonly stopped: boolean;
}

export interface ScrubOptions {
  readonly onCorruption: CorruptionPolicy;
  readonly emit: (event: RecoveryEvent) => void;
  /** Checked between chunks: true ends the scrub (the log closes). */
  readonly stopped: () => boolean;
}

export async function scrubPartitions(parts: readonly PartitionLog[], o: ScrubOptions): Promise<ScrubReport> {
  let segments = 0;
  let bytes = 0;
  let quarantinedBytes = 0;
  const corrupt: { topic: string; partition: number; message: string }[] = [];
  for (const p of parts) {
    // Refused at open, or by a read under 'refuse': nothing to do here until a repair.
    const ranges = p.failure === undefined || o.onCorruption === 'quarantine' ? p.unverifiedRanges() : [];
    for (const { seg, from, to } of ranges) {
      if (o.stopped()) return { segments, bytes, corrupt, quarantinedBytes, stopped: true };
      if (!p.holds(seg) || (p.failure !== undefined && !p.failedReading(seg))) continue;
      const checked = await check(seg, from, to, o.stopped);
      if (checked === 'stopped') return { segments, bytes, corrupt, quarantinedBytes, stopped: true };
      if (checked === undefined) {
        p.markVerified(seg, to);
        segments++;
        bytes += to - from;
        continue;
      }
      const where = `${p.topic}:${p.partition}`;
      const what = describeCorruption(seg.file, checked);
      if (o.onCorruption === 'refuse') {
        const err = new AppError(
          ErrorCode.LOG_CORRUPT,
          `${where}: ${what}, found by the scrub after open; the partition refuses further use (other partitions go on). ` +
            '`msgtrack log verify` lists all damage; `msgtrack log repair` (or LOG_ON_CORRUPTION=quarantine) moves the bad range to a quarantine file and serves around it',
          {
            context: {
              topic: p.topic,
              partition: p.partition,
              file: seg.file,
              position: checked.position,
              end: checked.end,
              firstOffset: checked.firstOffset,
            },
          },
        );
        p.refuse(err);
        o.emit({ action: 'refused-corrupt', message: err.message, ...at(p, seg) });
        corrupt.push({ topic: p.topic, partition: p.partition, message: err.message });
        break;
      }
      p.seal(seg);
      p.repairing = true;
      let repaired: Awaited<ReturnType<typeof repairSealedSegment>>;
      const copy = openSegmentFile(path.dirname(seg.file), seg.baseOffset, 'write');
      try {
        repaired = await repairSealedSegment(copy, p.topic, p.partition, o.emit);
      } catch (err) {
        fs.closeSync(copy.fd);
        throw err;
      } finally {
        p.repairing = false;
      }
      if (repaired.failure !== undefined) {
        fs.closeSync(copy.fd);
        p.refuse(repaired.failure);
        corrupt.push({ topic: p.topic, partition: p.partition, message: repaired.failure.message });
        break;
      }
      if (p.replaceSegment(seg, copy)) {
        segments++;
        bytes += to - from;
        quarantinedBytes += repaired.quarantinedBytes;
      }
    }
  }
  return { segments, bytes, corrupt, quarantinedBytes, stopped: false };
}

function at(p: PartitionLog, seg: Segment): { topic: string; partition: number; file: string } {
  return { topic: p.topic, partition: p.partition, file: seg.file };
}

/** Check bytes [from, to) of `seg` on a handle of our own: the damage found, as corruption. */
async function check(
  seg: Segment,
  from: number,
  to: number,
  stopped: () => boolean,
): Promise<(ScanProblem & { kind: 'corrupt' }) | 'stopped' | undefined> {
  let fd: number;
  try {
    fd = fs.openSync(seg.file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // deleted meanwhile
    throw err;
  }
  try {
    let next = offsetAt(seg, from);
    const scan = await scanSegment(
      fd,
      to,
      from,
      next,
      (_b, _p, _f, _n, h) => {
        next = h.lastOffset + 1;
      },
      stopped,
    );
    if (scan.stopped === true) return 'stopped';
    const pr = scan.problem;
    if (pr === undefined || pr.kind === 'corrupt') return pr;
    // A frame cut short inside a range the index recorded as complete frames: damage, not a torn write.
    return {
      kind: 'corrupt',
      position: pr.position,
      end: pr.position + pr.bytes,
      reason: 'incomplete frame in a sealed range',
      firstOffset: next,
      nextBaseOffset: undefined,
      guessedLastOffset: undefined,
    };
  } finally {
    fs.closeSync(fd);
  }
}

/** A lower bound of the base offset of the batch at byte `position` (a frame boundary) of `seg`. */
function offsetAt(seg: Segment, position: number): number {
  let offset = seg.baseOffset;
  for (let i = 0; i < seg.idxPositions.length && seg.idxPositions[i]! <= position; i++) {
    offset = seg.idxOffsets[i]!;
  }
  return offset;
}

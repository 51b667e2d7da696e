/**
 * Recovery on open: the journal is read (a torn tail ignored and cut by the rewrite; a damaged entry
 * refuses the whole log, or under 'quarantine' its bytes are moved aside and the entries around it
 * kept) and replayed; every partition is opened (./partition-recovery.ts) with its journaled start
 * offset and an offset floor (its journaled high watermark, every group's committed offset), so that
 * no offset is handed out twice; transactions left open get a commit marker when the journal holds
 * their decision, an abort marker otherwise; then the journal is rewritten as a snapshot (not on a
 * read-only open). Every action is reported through `emit`.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Clock } from '../../clock/index.ts';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { tpKey } from '../types.ts';
import type { RecoveryReport } from './embedded-types.ts';
import { Journal } from './journal.ts';
import type { CommitDecision, JournalEntry, LogMetadata } from './log-metadata.ts';
import { PartitionLog, type PartitionLogOptions } from './partition-log.ts';
import { type CorruptionPolicy, QUARANTINE_DIR, type RecoveryEvent } from './partition-recovery.ts';

export interface OpenContext {
  /** The log's directory (`<dataDir>/log`). */
  readonly root: string;
  readonly meta: LogMetadata;
  readonly readOnly: boolean;
  readonly onCorruption: CorruptionPolicy;
  readonly clock: Clock;
  /** Options every partition opens with (offsets aside). */
  readonly partitionOptions: PartitionLogOptions;
  readonly partitionDir: (topic: string, partition: number) => string;
  readonly emit: (event: RecoveryEvent) => void;
  /** Everything emitted so far (the report's `events`). */
  readonly events: readonly RecoveryEvent[];
}

export async function recoverOnOpen(ctx: OpenContext): Promise<RecoveryReport> {
  const journalFile = path.join(ctx.root, 'meta.journal');
  const { entries, truncatedBytes, damaged } = Journal.read(journalFile);
  const quarantinedJournal = handleJournalDamage(ctx, journalFile, damaged);
  if (truncatedBytes > 0) {
    ctx.emit({
      action: 'journal-cut-torn-tail',
      message: `${ctx.readOnly ? 'ignored' : 'cut'} ${truncatedBytes} bytes of a torn write at the end of ${journalFile}`,
      file: journalFile,
      bytes: truncatedBytes,
    });
  }
  const decisions = ctx.meta.replay(entries as JournalEntry[]);
  const { truncated, quarantined, committed, aborted } = await openPartitions(ctx, decisions);
  if (committed + aborted > 0) {
    ctx.emit({
      action: 'transactions-completed',
      message: `completed ${committed} decided transaction(s) with commit markers and aborted ${aborted} undecided one(s) left open by a crash`,
    });
  }
  ctx.meta.session++;
  // Read-only: the journal file is never written (it stays as the writer left it).
  if (!ctx.readOnly) ctx.meta.startJournal(journalFile);
  const corruptPartitions = [];
  for (const t of ctx.meta.topics.values()) {
    for (const p of t.parts) {
      if (p.failure !== undefined) {
        corruptPartitions.push({ topic: p.topic, partition: p.partition, message: p.failure.message });
      }
    }
  }
  return {
    truncatedBytes: truncated,
    journalTruncatedBytes: truncatedBytes,
    committedTransactions: committed,
    abortedTransactions: aborted,
    quarantinedBytes: quarantined + quarantinedJournal,
    corruptPartitions,
    events: ctx.events,
  };
}

/** Refuse the open on a damaged journal entry, or (policy 'quarantine') keep its bytes aside. */
function handleJournalDamage(
  ctx: OpenContext,
  file: string,
  damaged: readonly { position: number; end: number }[],
): number {
  if (damaged.length === 0) return 0;
  const ranges = damaged.map((d) => `bytes ${d.position}..${d.end}`).join(', ');
  if (ctx.onCorruption === 'refuse' || ctx.readOnly) {
    const err = new AppError(
      ErrorCode.LOG_CORRUPT,
      `the log's metadata journal ${file} has damaged entries (${ranges}; the intact entries around them are kept); ` +
        'the log is not opened. `msgtrack log repair` (or LOG_ON_CORRUPTION=quarantine) moves them to a quarantine file',
      { context: { file, position: damaged[0]!.position, end: damaged[0]!.end } },
    );
    ctx.emit({ action: 'refused-corrupt', message: err.message, file });
    throw err;
  }
  const all = fs.readFileSync(file);
  const qdir = path.join(ctx.root, QUARANTINE_DIR);
  fs.mkdirSync(qdir, { recursive: true });
  let bytes = 0;
  for (const d of damaged) {
    const qfile = path.join(qdir, `meta.journal.${Date.now()}.${d.position}-${d.end}.bad`);
    fs.writeFileSync(qfile, all.subarray(d.position, d.end));
    bytes += d.end - d.position;
    ctx.emit({
      action: 'journal-quarantined',
      message: `moved damaged entries of ${file} (bytes ${d.position}..${d.end}) to ${qfile}; the entries around them are kept (a lost group commit means its group re-reads from its previous commit)`,
      file,
      bytes: d.end - d.position,
    });
  }
  return bytes;
}

async function openPartitions(
  ctx: OpenContext,
  decisions: Map<number, CommitDecision>,
): Promise<{ truncated: number; quarantined: number; committed: number; aborted: number }> {
  let truncated = 0;
  let quarantined = 0;
  const committedPids = new Set<number>();
  const abortedPids = new Set<number>();
  const now = ctx.clock.now();
  // The next offset of a partition is never below what a group committed for it.
  const committedFloor = ctx.meta.committedFloors();
  for (const t of ctx.meta.topics.values()) {
    for (let p = 0; p < t.desc.partitions; p++) {
      const key = tpKey({ topic: t.desc.name, partition: p });
      const { log, recovery } = await PartitionLog.open(ctx.partitionDir(t.desc.name, p), t.desc.name, p, {
        ...ctx.partitionOptions,
        logStartOffset: ctx.meta.replayedStarts.get(key) ?? 0,
        offsetFloor: Math.max(ctx.meta.journaledHw.get(key) ?? 0, committedFloor.get(key) ?? 0),
      });
      t.parts.push(log);
      truncated += recovery.truncatedBytes;
      quarantined += recovery.quarantinedBytes;
      if (log.failure !== undefined || ctx.readOnly) continue;
      for (const pid of recovery.openProducerIds) {
        const commit = decisions.has(pid);
        log.appendMarker(pid, commit, now);
        (commit ? committedPids : abortedPids).add(pid);
      }
      log.flush();
      if (ctx.partitionOptions.syncOnRoll) log.syncNow();
    }
  }
  return { truncated, quarantined, committed: committedPids.size, aborted: abortedPids.size };
}

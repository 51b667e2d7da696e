/**
 * The embedded durable log: Kafka's semantics in one process, on one data dir.
 *
 * Design
 * - Layout under `<dataDir>/log/`: `LOCK` (owner pid), `meta.journal` (topics, group offsets,
 *   transaction decisions, session counter; see ./journal.ts) and `topics/<topic>/<partition>/`
 *   with segment files `<baseOffset>.seg` of CRC32-framed record batches (see ./format.ts).
 * - Produce: records are grouped per partition (explicit, murmur2 of the key, round-robin for null
 *   keys) and encoded into one batch per partition per `send`; offsets are assigned at once. Batches
 *   queued in the same tick are written together by one `writev` per segment in a microtask (group
 *   commit); `send` resolves after the write ('interval', 'never') or after an fdatasync of every
 *   file written ('always'). 'interval' fsyncs dirty files every `fsyncIntervalMs` in the background.
 *   The high watermark moves only after the write, and appends wake waiting `poll`s.
 * - Reads: an in-memory sparse index per segment (rebuilt on open) finds the file position; one read
 *   of up to a few MiB serves many batches; every frame's CRC is checked before it is decoded.
 * - Transactions: see ./transactions.ts (transactional batches + commit/abort markers; the commit
 *   point is a journal decision; LSO = first offset of the oldest open transaction). read_committed
 *   readers stop at the LSO and skip batches of aborted transactions and markers.
 * - Consumer groups: see ./consumer.ts (in-process coordinator, eager rebalance inside poll).
 * - Recovery on open (./partition-recovery.ts): segments with an intact index are not scanned; the
 *   others (the active one after a crash) are, and only an incomplete frame at the end of a file is a
 *   torn write (cut); any other damage refuses that partition with LOG_CORRUPT or, under
 *   'quarantine', is moved aside. Transactions left open get a commit marker when the journal holds
 *   their decision, an abort marker otherwise. Then the journal is rewritten as a snapshot. After open
 *   the scrub (./scrub.ts) checks in the background what no scan has checked yet.
 * - Purge (`deleteRecords`): the new log start offset of the partition is journaled (fsynced unless
 *   fsync is 'never') before any file goes, then whole segments below it are deleted; reads start at
 *   it. On open the journaled start offset is given back to the partition, which deletes segments a
 *   crash left below it.
 * - Maintenance (every `maintenanceIntervalMs`, or `runMaintenance()`): retention deletes whole
 *   segments whose newest record is older than `retentionMs`; compaction rewrites closed segments
 *   below the LSO keeping the latest record per key (tombstones kept for `tombstoneRetentionMs`),
 *   with offsets unchanged, via `<segment>.cleaned` + fsync + rename.
 * Limits: one process per data dir; compaction runs on the event loop (segments are bounded by
 * `segmentBytes`); recovery scans and the scrub read in chunks and yield; an I/O error while writing
 * leaves the log to be reopened.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Clock, systemClock } from '../../clock/index.ts';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { partitionForKey } from '../partitioner.ts';
import {
  CleanupPolicy,
  type Consumer,
  type ConsumerGroupMetadata,
  type ConsumerOptions,
  type GroupDescription,
  type Log,
  type PartitionOffsets,
  type Producer,
  type ProducerRecord,
  type RecordHeader,
  type RecordMetadata,
  type TopicDescription,
  type TopicPartition,
  type TopicPartitionOffset,
  type TopicSpec,
  type TransactionalProducer,
  tpKey,
} from '../types.ts';
import { type ConsumerHost, EmbeddedConsumer, GroupCoordinator } from './consumer.ts';
import type { EncodableRecord } from './format.ts';
import { Journal } from './journal.ts';
import { acquireLock, type DirLock } from './lock.ts';
import { writeError } from './partition-append.ts';
import { PartitionLog } from './partition-log.ts';
import { type CorruptionPolicy, QUARANTINE_DIR, type RecoveryEvent } from './partition-recovery.ts';
import { type ScrubReport, scrubPartitions } from './scrub.ts';
import { EmbeddedTransactionalProducer, type TransactionHost } from './transactions.ts';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface EmbeddedLogOptions {
  /** The data dir; the log lives in `<dataDir>/log/`. */
  readonly dataDir: string;
  /** When a send/commit is durable: 'always' = fsynced before it resolves. Default 'interval'. */
  readonly fsync?: FsyncPolicy;
  /** Background fsync period under 'interval', ms. Default 1000. */
  readonly fsyncIntervalMs?: number;
  /** A segment is rolled when it would exceed this size, bytes. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Wall clock for default record timestamps, retention and tombstone expiry. Default system clock. */
  readonly clock?: Clock;
  /** Period of background retention and compaction, ms. Default 60 000. */
  readonly maintenanceIntervalMs?: number;
  /** How long a tombstone survives compaction, ms (Kafka's delete.retention.ms). Default 86 400 000. */
  readonly tombstoneRetentionMs?: number;
  /**
   * A corrupt frame (or journal entry) found on open: 'refuse' (default) leaves that partition
   * closed with LOG_CORRUPT (the journal: the whole log), 'quarantine' moves the bad bytes to a
   * quarantine file and serves around them. See ./partition-recovery.ts.
   */
  readonly onCorruption?: CorruptionPolicy;
  /** Receives every recovery action as it happens (the app logs them at warn). */
  readonly onRecoveryEvent?: (event: RecoveryEvent) => void;
  /**
   * Open for reading only (`topics list`, `log verify`): a shared lock, nothing written — no torn
   * tail cut, no marker, no journal snapshot; every write fails with LOG_READ_ONLY.
   */
  readonly readOnly?: boolean;
  /** Scan every segment on open instead of trusting intact indexes (`msgtrack log repair`). */
  readonly scanAll?: boolean;
  /**
   * After open, check in the background every segment byte no scan has checked yet (./scrub.ts).
   * Default true; never on a read-only open.
   */
  readonly scrub?: boolean;
}

export interface RecoveryReport {
  /** Bytes of torn writes cut from segment tails. */
  readonly truncatedBytes: number;
  /** Bytes of a torn journal tail ignored. */
  readonly journalTruncatedBytes: number;
  /** Transactions completed on open (decided before the crash, markers missing). */
  readonly committedTransactions: number;
  /** Transactions aborted on open (open, undecided at the crash). */
  readonly abortedTransactions: number;
  /** Bytes moved to quarantine files (segments and journal; policy 'quarantine'). */
  readonly quarantinedBytes: number;
  /** Partitions that refused to open (LOG_CORRUPT), with the reason. */
  readonly corruptPartitions: readonly { topic: string; partition: number; message: string }[];
  /** Everything recovery did, in order (each was also given to `onRecoveryEvent`). */
  readonly events: readonly RecoveryEvent[];
}

export interface MaintenanceReport {
  readonly deletedSegments: number;
  readonly compactedRecords: number;
}

/** The embedded log: a `Log` plus maintenance hooks. */
export interface EmbeddedLog extends Log {
  readonly kind: 'embedded';
  readonly dataDir: string;
  readonly recovery: RecoveryReport;
  /**
   * Run retention and compaction now. `rollActiveSegments` first closes the active segment of
   * compacted topics so that all of their records can be cleaned (tests; Kafka's segment.ms).
   */
  runMaintenance(options?: { rollActiveSegments?: boolean }): Promise<MaintenanceReport>;
  /** fsync everything written so far. */
  sync(): Promise<void>;
  /**
   * The scrub's result: the pass started at open (./scrub.ts), or, once that one finished, a new pass
   * over what no scan has checked since (segments written meanwhile).
   */
  scrub(): Promise<ScrubReport>;
}

const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const PID_SEQ_BITS = 4194304; // 2^22 transactions per session
const JOURNAL_REWRITE_BYTES = 16 * 1024 * 1024;
const EMPTY_HEADERS: readonly RecordHeader[] = Object.freeze([]);

interface TopicState {
  readonly desc: TopicDescription;
  readonly parts: PartitionLog[];
  rr: number;
}

interface OffsetEntry {
  readonly offset: number;
  readonly metadata: string | null;
}

type OffsetsTuple = [topic: string, partition: number, offset: number, metadata: string | null];

type JournalEntry =
  | { t: 'session'; n: number }
  | { t: 'topic'; name: string; partitions: number; retentionMs: number | null; cleanupPolicy: CleanupPolicy }
  | { t: 'offsets'; g: string; o: OffsetsTuple[] }
  | { t: 'commit'; pid: number; parts: [string, number][]; offsets: { g: string; o: OffsetsTuple[] }[] }
  | { t: 'done'; pid: number }
  /** A partition's log start offset moved by `deleteRecords`. */
  | { t: 'start'; topic: string; p: number; o: number }
  /** Offsets below `o` of a partition were handed out (the floor of its next offset on open). */
  | { t: 'hw'; topic: string; p: number; o: number };

function invalid(message: string, context?: Record<string, string | number | null>): AppError {
  return new AppError(ErrorCode.LOG_INVALID_ARGUMENT, message, context === undefined ? {} : { context });
}

function toBytes(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** Open (creating if needed) the embedded log in `options.dataDir`. */
export async function openEmbeddedLog(options: EmbeddedLogOptions): Promise<EmbeddedLog> {
  return EmbeddedLogImpl.open(options);
}

class EmbeddedLogImpl implements EmbeddedLog, ConsumerHost, TransactionHost {
  readonly kind = 'embedded' as const;
  readonly dataDir: string;
  readonly #root: string;
  readonly #fsync: FsyncPolicy;
  readonly #clock: Clock;
  readonly #segmentBytes: number;
  readonly #tombstoneRetentionMs: number;
  #lock: DirLock;
  #journal: Journal;
  recovery: RecoveryReport = {
    truncatedBytes: 0,
    journalTruncatedBytes: 0,
    committedTransactions: 0,
    abortedTransactions: 0,
    quarantinedBytes: 0,
    corruptPartitions: [],
    events: [],
  };
  readonly #readOnly: boolean;
  readonly #scanAll: boolean;
  readonly #onCorruption: CorruptionPolicy;
  readonly #events: RecoveryEvent[] = [];
  readonly #onEvent: ((event: RecoveryEvent) => void) | undefined;
  /** Offset floors by `topic:partition`: journaled high watermarks (the largest recorded). */
  readonly #journaledHw = new Map<string, number>();
  readonly #topics = new Map<string, TopicState>();
  readonly #offsets = new Map<string, Map<string, OffsetEntry>>();
  readonly #groups = new Map<string, GroupCoordinator>();
  readonly #consumers = new Set<EmbeddedConsumer>();
  readonly #txnOwners = new Map<string, EmbeddedTransactionalProducer>();
  /** Log start offsets read from the journal on open, by `topic:partition`. */
  readonly #replayedStarts = new Map<string, number>();
  /** Decided commits whose markers are not all written yet (kept across journal rewrites). */
  readonly #inflightDecisions = new Map<number, JournalEntry>();
  #session = 0;
  #pidSeq = 0;
  #dirty = new Set<PartitionLog>();
  #flushWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #flushScheduled = false;
  #fsyncTimer: NodeJS.Timeout | undefined;
  #maintenanceTimer: NodeJS.Timeout | undefined;
  #maintenanceRunning: Promise<MaintenanceReport> | undefined;
  #scrubRunning: Promise<ScrubReport> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(options: EmbeddedLogOptions, root: string, lock: DirLock, journal: Journal) {
    this.dataDir = options.dataDir;
    this.#root = root;
    this.#lock = lock;
    this.#journal = journal;
    this.#fsync = options.fsync ?? 'interval';
    this.#clock = options.clock ?? systemClock;
    this.#segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.#tombstoneRetentionMs = options.tombstoneRetentionMs ?? 86_400_000;
    this.#readOnly = options.readOnly === true;
    this.#scanAll = options.scanAll === true;
    this.#onCorruption = options.onCorruption ?? 'refuse';
    this.#onEvent = options.onRecoveryEvent;
  }

  #emit = (event: RecoveryEvent): void => {
    this.#events.push(event);
    this.#onEvent?.(event);
  };

  static async open(options: EmbeddedLogOptions): Promise<EmbeddedLogImpl> {
    if (typeof options.dataDir !== 'string' || options.dataDir.length === 0) {
      throw invalid('dataDir must be a non-empty path');
    }
    const fsync = options.fsync ?? 'interval';
    if (!['always', 'interval', 'never'].includes(fsync)) {
      throw invalid(`fsync must be 'always', 'interval' or 'never', got ${String(fsync)}`);
    }
    const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    if (!Number.isInteger(segmentBytes) || segmentBytes < 1024) {
      throw invalid(`segmentBytes must be an integer >= 1024, got ${segmentBytes}`);
    }
    const onCorruption = options.onCorruption ?? 'refuse';
    if (onCorruption !== 'refuse' && onCorruption !== 'quarantine') {
      throw invalid(`onCorruption must be 'refuse' or 'quarantine', got ${String(onCorruption)}`);
    }
    const root = path.join(path.resolve(options.dataDir), 'log');
    const readOnly = options.readOnly === true;
    prepareDataDir(root, readOnly);
    const lock = acquireLock(root, readOnly ? 'shared' : 'exclusive');
    try {
      const log = new EmbeddedLogImpl(options, root, lock, undefined as unknown as Journal);
      await log.#recoverAll();
      log.#startTimers(options);
      if (!readOnly && options.scrub !== false) void log.scrub();
      return log;
    } catch (err) {
      lock.release();
      throw fsError(err, root);
    }
  }

  async #recoverAll(): Promise<void> {
    const journalFile = path.join(this.#root, 'meta.journal');
    const { entries, truncatedBytes, damaged } = Journal.read(journalFile);
    const quarantinedJournal = this.#handleJournalDamage(journalFile, damaged);
    if (truncatedBytes > 0) {
      this.#emit({
        action: 'journal-cut-torn-tail',
        message: `${this.#readOnly ? 'ignored' : 'cut'} ${truncatedBytes} bytes of a torn write at the end of ${journalFile}`,
        file: journalFile,
        bytes: truncatedBytes,
      });
    }
    const decisions = this.#replay(entries as JournalEntry[]);
    const { truncated, quarantined, committed, aborted } = await this.#openPartitionsAndRecover(decisions);
    if (committed + aborted > 0) {
      this.#emit({
        action: 'transactions-completed',
        message: `completed ${committed} decided transaction(s) with commit markers and aborted ${aborted} undecided one(s) left open by a crash`,
      });
    }
    this.#session++;
    // Read-only: the journal file is never written (it stays as the writer left it).
    if (!this.#readOnly) this.#journal = Journal.create(journalFile, this.#snapshot());
    const corruptPartitions = [];
    for (const t of this.#topics.values()) {
      for (const p of t.parts) {
        if (p.failure !== undefined) {
          corruptPartitions.push({ topic: p.topic, partition: p.partition, message: p.failure.message });
        }
      }
    }
    this.recovery = {
      truncatedBytes: truncated,
      journalTruncatedBytes: truncatedBytes,
      committedTransactions: committed,
      abortedTransactions: aborted,
      quarantinedBytes: quarantined + quarantinedJournal,
      corruptPartitions,
      events: this.#events,
    };
  }

  /** Refuse the open on a damaged journal entry, or (policy 'quarantine') keep its bytes aside. */
  #handleJournalDamage(file: string, damaged: readonly { position: number; end: number }[]): number {
    if (damaged.length === 0) return 0;
    const ranges = damaged.map((d) => `bytes ${d.position}..${d.end}`).join(', ');
    if (this.#onCorruption === 'refuse' || this.#readOnly) {
      const err = new AppError(
        ErrorCode.LOG_CORRUPT,
        `the log's metadata journal ${file} has damaged entries (${ranges}; the intact entries around them are kept); ` +
          'the log is not opened. `msgtrack log repair` (or LOG_ON_CORRUPTION=quarantine) moves them to a quarantine file',
        { context: { file, position: damaged[0]!.position, end: damaged[0]!.end } },
      );
      this.#emit({ action: 'refused-corrupt', message: err.message, file });
      throw err;
    }
    const all = fs.readFileSync(file);
    const qdir = path.join(this.#root, QUARANTINE_DIR);
    fs.mkdirSync(qdir, { recursive: true });
    let bytes = 0;
    for (const d of damaged) {
      const qfile = path.join(qdir, `meta.journal.${Date.now()}.${d.position}-${d.end}.bad`);
      fs.writeFileSync(qfile, all.subarray(d.position, d.end));
      bytes += d.end - d.position;
      this.#emit({
        action: 'journal-quarantined',
        message: `moved damaged entries of ${file} (bytes ${d.position}..${d.end}) to ${qfile}; the entries around them are kept (a lost group commit means its group re-reads from its previous commit)`,
        file,
        bytes: d.end - d.position,
      });
    }
    return bytes;
  }

  #replay(entries: readonly JournalEntry[]): Map<number, JournalEntry & { t: 'commit' }> {
    const decisions = new Map<number, JournalEntry & { t: 'commit' }>();
    for (const e of entries) {
      switch (e.t) {
        case 'session':
          this.#session = Math.max(this.#session, e.n);
          break;
        case 'topic':
          if (!this.#topics.has(e.name)) {
            this.#topics.set(e.name, {
              desc: {
                name: e.name,
                partitions: e.partitions,
                retentionMs: e.retentionMs,
                cleanupPolicy: e.cleanupPolicy,
              },
              parts: [],
              rr: 0,
            });
          }
          break;
        case 'offsets':
          this.#applyOffsets(e.g, e.o);
          break;
        case 'commit':
          decisions.set(e.pid, e);
          for (const o of e.offsets) this.#applyOffsets(o.g, o.o);
          break;
        case 'done':
          decisions.delete(e.pid);
          break;
        case 'start': {
          const key = tpKey({ topic: e.topic, partition: e.p });
          this.#replayedStarts.set(key, Math.max(this.#replayedStarts.get(key) ?? 0, e.o));
          break;
        }
        case 'hw': {
          const key = tpKey({ topic: e.topic, partition: e.p });
          this.#journaledHw.set(key, Math.max(this.#journaledHw.get(key) ?? 0, e.o));
          break;
        }
      }
    }
    return decisions;
  }

  async #openPartitionsAndRecover(decisions: Map<number, JournalEntry & { t: 'commit' }>): Promise<{
    truncated: number;
    quarantined: number;
    committed: number;
    aborted: number;
  }> {
    let truncated = 0;
    let quarantined = 0;
    const committedPids = new Set<number>();
    const abortedPids = new Set<number>();
    const now = this.#clock.now();
    // The next offset of a partition is never below what a group committed for it.
    const committedFloor = new Map<string, number>();
    for (const m of this.#offsets.values()) {
      for (const [key, e] of m) committedFloor.set(key, Math.max(committedFloor.get(key) ?? 0, e.offset));
    }
    for (const t of this.#topics.values()) {
      for (let p = 0; p < t.desc.partitions; p++) {
        const key = tpKey({ topic: t.desc.name, partition: p });
        const { log, recovery } = await PartitionLog.open(
          this.#partitionDir(t.desc.name, p),
          t.desc.name,
          p,
          {
            ...this.#partitionOptions(),
            logStartOffset: this.#replayedStarts.get(key) ?? 0,
            offsetFloor: Math.max(this.#journaledHw.get(key) ?? 0, committedFloor.get(key) ?? 0),
          },
        );
        t.parts.push(log);
        truncated += recovery.truncatedBytes;
        quarantined += recovery.quarantinedBytes;
        if (log.failure !== undefined || this.#readOnly) continue;
        for (const pid of recovery.openProducerIds) {
          const commit = decisions.has(pid);
          log.appendMarker(pid, commit, now);
          (commit ? committedPids : abortedPids).add(pid);
        }
        log.flush();
        log.syncNow();
      }
    }
    return { truncated, quarantined, committed: committedPids.size, aborted: abortedPids.size };
  }

  #partitionOptions(): {
    segmentBytes: number;
    syncOnRoll: boolean;
    onCorruption: CorruptionPolicy;
    readOnly: boolean;
    scanAll: boolean;
    emit: (e: RecoveryEvent) => void;
  } {
    return {
      segmentBytes: this.#segmentBytes,
      syncOnRoll: this.#fsync !== 'never',
      onCorruption: this.#onCorruption,
      readOnly: this.#readOnly,
      scanAll: this.#scanAll,
      emit: this.#emit,
    };
  }

  #partitionDir(topic: string, partition: number): string {
    return path.join(this.#root, 'topics', topic, String(partition));
  }

  #snapshot(): JournalEntry[] {
    const entries: JournalEntry[] = [{ t: 'session', n: this.#session }];
    for (const t of this.#topics.values()) {
      entries.push({
        t: 'topic',
        name: t.desc.name,
        partitions: t.desc.partitions,
        retentionMs: t.desc.retentionMs,
        cleanupPolicy: t.desc.cleanupPolicy,
      });
    }
    for (const t of this.#topics.values()) {
      for (const p of t.parts) {
        const key = tpKey({ topic: t.desc.name, partition: p.partition });
        if (p.failure !== undefined) {
          // Not opened: keep what the journal knew about it for the open after a repair.
          const start = this.#replayedStarts.get(key);
          if (start !== undefined) entries.push({ t: 'start', topic: t.desc.name, p: p.partition, o: start });
          const hw = this.#journaledHw.get(key);
          if (hw !== undefined) entries.push({ t: 'hw', topic: t.desc.name, p: p.partition, o: hw });
          continue;
        }
        if (p.logStartOffset > 0)
          entries.push({ t: 'start', topic: t.desc.name, p: p.partition, o: p.logStartOffset });
        if (p.nextOffset > 0) entries.push({ t: 'hw', topic: t.desc.name, p: p.partition, o: p.nextOffset });
        this.#journaledHw.set(key, p.nextOffset);
      }
    }
    for (const [g, m] of this.#offsets) {
      const o: OffsetsTuple[] = [];
      for (const [key, e] of m) {
        const i = key.lastIndexOf(':');
        o.push([key.slice(0, i), Number(key.slice(i + 1)), e.offset, e.metadata]);
      }
      entries.push({ t: 'offsets', g, o });
    }
    for (const d of this.#inflightDecisions.values()) entries.push(d);
    return entries;
  }

  #applyOffsets(groupId: string, offsets: readonly OffsetsTuple[]): void {
    let m = this.#offsets.get(groupId);
    if (m === undefined) {
      m = new Map();
      this.#offsets.set(groupId, m);
    }
    for (const [topic, partition, offset, metadata] of offsets) {
      m.set(tpKey({ topic, partition }), { offset, metadata });
    }
  }

  #startTimers(options: EmbeddedLogOptions): void {
    if (this.#fsync === 'interval') {
      const interval = options.fsyncIntervalMs ?? 1000;
      if (!(interval > 0)) throw invalid(`fsyncIntervalMs must be > 0, got ${interval}`);
      this.#fsyncTimer = setInterval(() => {
        this.sync().catch(() => undefined);
      }, interval);
      this.#fsyncTimer.unref();
    }
    const maintenance = options.maintenanceIntervalMs ?? 60_000;
    if (!(maintenance > 0)) throw invalid(`maintenanceIntervalMs must be > 0, got ${maintenance}`);
    this.#maintenanceTimer = setInterval(() => {
      this.runMaintenance().catch(() => undefined);
    }, maintenance);
    this.#maintenanceTimer.unref();
  }

  // ---- host services ---------------------------------------------------------------------------

  assertOpen(): void {
    if (this.#closed || this.#closing !== undefined) {
      throw new AppError(ErrorCode.LOG_CLOSED, `the log in ${this.dataDir} is closed`, {
        context: { dataDir: this.dataDir },
      });
    }
  }

  #topic(name: string): TopicState {
    const t = this.#topics.get(name);
    if (t === undefined) {
      throw new AppError(ErrorCode.LOG_UNKNOWN_TOPIC, `unknown topic ${name}`, { context: { topic: name } });
    }
    return t;
  }

  partitionCount(topic: string): number | undefined {
    return this.#topics.get(topic)?.desc.partitions;
  }

  partitionOf(topic: string, partition: number): PartitionLog {
    const log = this.#topic(topic).parts[partition];
    if (log === undefined) {
      throw new AppError(ErrorCode.LOG_UNKNOWN_PARTITION, `topic ${topic} has no partition ${partition}`, {
        context: { topic, partition },
      });
    }
    log.assertUsable();
    return log;
  }

  #assertWritable(): void {
    this.assertOpen();
    if (this.#readOnly) {
      throw new AppError(ErrorCode.LOG_READ_ONLY, `the log in ${this.dataDir} is open read-only`, {
        context: { dataDir: this.dataDir },
      });
    }
  }

  group(groupId: string): GroupCoordinator {
    let g = this.#groups.get(groupId);
    if (g === undefined) {
      g = new GroupCoordinator(groupId, this);
      this.#groups.set(groupId, g);
    }
    return g;
  }

  committedOffset(groupId: string, tp: TopicPartition): number | undefined {
    return this.#offsets.get(groupId)?.get(tpKey(tp))?.offset;
  }

  #validateOffsets(offsets: readonly TopicPartitionOffset[]): OffsetsTuple[] {
    return offsets.map((o) => {
      this.partitionOf(o.topic, o.partition);
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw invalid(`committed offset must be a non-negative integer`, {
          topic: o.topic,
          partition: o.partition,
          offset: o.offset,
        });
      }
      return [o.topic, o.partition, o.offset, o.metadata ?? null];
    });
  }

  async commitGroupOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.#assertWritable();
    const o = this.#validateOffsets(offsets);
    if (o.length === 0) return;
    this.#journalAppend({ t: 'offsets', g: groupId, o });
    this.#applyOffsets(groupId, o);
    if (this.#fsync === 'always') await this.#syncJournal();
  }

  consumerClosed(consumer: EmbeddedConsumer): void {
    this.#consumers.delete(consumer);
  }

  allocateProducerId(): number {
    if (++this.#pidSeq >= PID_SEQ_BITS) {
      this.#session++;
      this.#pidSeq = 1;
      this.#journalAppend({ t: 'session', n: this.#session });
      this.#journal.syncNow();
    }
    return this.#session * PID_SEQ_BITS + this.#pidSeq;
  }

  checkGroupMember(meta: ConsumerGroupMetadata): void {
    this.#groups.get(meta.groupId)?.checkMember(meta);
  }

  async decideCommit(
    producerId: number,
    partitions: readonly PartitionLog[],
    offsets: readonly { groupId: string; offsets: readonly TopicPartitionOffset[] }[],
  ): Promise<void> {
    this.assertOpen();
    const entry: JournalEntry = {
      t: 'commit',
      pid: producerId,
      parts: partitions.map((p) => [p.topic, p.partition]),
      offsets: offsets.map((o) => ({ g: o.groupId, o: this.#validateOffsets(o.offsets) })),
    };
    if (this.#fsync === 'always') {
      // The records must be durable before the decision that makes them visible.
      await Promise.all(partitions.map((p) => syncFds(p.takeDirtyFds())));
    }
    this.#journalAppend(entry);
    this.#inflightDecisions.set(producerId, entry);
    for (const o of entry.offsets) this.#applyOffsets(o.g, o.o);
    if (this.#fsync === 'always') await this.#syncJournal();
  }

  async writeMarkers(
    producerId: number,
    partitions: readonly PartitionLog[],
    commit: boolean,
  ): Promise<void> {
    if (this.#closed) return;
    const now = this.#clock.now();
    for (const p of partitions) if (p.appendMarker(producerId, commit, now)) this.#dirty.add(p);
    await this.#scheduleFlush();
  }

  commitDone(producerId: number): void {
    if (!this.#inflightDecisions.delete(producerId) || this.#closed) return;
    this.#journalAppend({ t: 'done', pid: producerId });
  }

  releaseTransactionalId(id: string, producer: EmbeddedTransactionalProducer): void {
    if (this.#txnOwners.get(id) === producer) this.#txnOwners.delete(id);
  }

  #journalAppend(entry: JournalEntry): void {
    try {
      this.#journal.append(entry);
    } catch (err) {
      throw writeError(err, this.#root);
    }
    if (this.#journal.size > JOURNAL_REWRITE_BYTES) this.#journal.rewrite(this.#snapshot());
  }

  async #syncJournal(): Promise<void> {
    if (!this.#journal.dirty) return;
    this.#journal.markClean();
    await syncFds([this.#journal.fd]);
  }

  // ---- produce ---------------------------------------------------------------------------------

  append(
    topic: string,
    records: readonly ProducerRecord[],
    producerId: number,
    touched: Set<PartitionLog> | undefined,
  ): Promise<RecordMetadata[]> {
    try {
      this.assertOpen();
      const t = this.#topic(topic);
      const n = t.desc.partitions;
      const now = this.#clock.now();
      const byPartition = new Map<number, { recs: EncodableRecord[]; idx: number[] }>();
      const parts = new Array<number>(records.length);
      const timestamps = new Array<number>(records.length);
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        const key = toBytes(r.key);
        let p: number;
        if (r.partition !== undefined) {
          p = r.partition;
          if (!Number.isInteger(p) || p < 0 || p >= n) {
            throw new AppError(ErrorCode.LOG_UNKNOWN_PARTITION, `topic ${topic} has no partition ${p}`, {
              context: { topic, partition: p },
            });
          }
        } else if (key !== null) {
          p = partitionForKey(key, n);
        } else {
          p = t.rr;
          t.rr = (t.rr + 1) % n;
        }
        const timestamp = r.timestamp ?? now;
        if (!Number.isFinite(timestamp)) throw invalid(`record timestamp must be a finite number`, { topic });
        let headers = EMPTY_HEADERS;
        if (r.headers !== undefined && r.headers.length > 0) {
          headers = r.headers.map(([name, v]) => [name, typeof v === 'string' ? Buffer.from(v, 'utf8') : v]);
        }
        let group = byPartition.get(p);
        if (group === undefined) {
          group = { recs: [], idx: [] };
          byPartition.set(p, group);
        }
        group.recs.push({ key, value: toBytes(r.value), headers, timestamp });
        group.idx.push(i);
        parts[i] = p;
        timestamps[i] = timestamp;
      }
      const offsets = new Array<number>(records.length);
      // A send lands whole or not at all: every partition it writes must be usable first.
      for (const p of byPartition.keys()) t.parts[p]!.assertWritable();
      for (const [p, g] of byPartition) {
        const log = t.parts[p]!;
        const base = log.appendRecords(g.recs, producerId, producerId > 0);
        for (let k = 0; k < g.idx.length; k++) offsets[g.idx[k]!] = base + k;
        this.#dirty.add(log);
        touched?.add(log);
      }
      const done = this.#scheduleFlush();
      return done.then(() => {
        const out = new Array<RecordMetadata>(records.length);
        for (let i = 0; i < records.length; i++) {
          out[i] = { topic, partition: parts[i]!, offset: offsets[i]!, timestamp: timestamps[i]! };
        }
        return out;
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #scheduleFlush(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#flushWaiters.push({ resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flushNow());
      }
    });
  }

  #flushNow(): void {
    this.#flushScheduled = false;
    const waiters = this.#flushWaiters;
    this.#flushWaiters = [];
    const dirty = this.#dirty;
    this.#dirty = new Set();
    // All or nothing: if one partition's write fails (disk full), the others written in this round are
    // undone too, so that no send whose promise rejects left any of its records in the log.
    const written: PartitionLog[] = [];
    try {
      for (const p of dirty) {
        p.writePending();
        written.push(p);
      }
    } catch (err) {
      for (const p of written) p.undoWrite();
      for (const p of dirty) if (!written.includes(p)) p.undoWrite();
      const e = writeError(err, this.#root);
      for (const w of waiters) w.reject(e);
      return;
    }
    for (const p of written) p.commitWrite();
    if (this.#fsync !== 'always') {
      for (const w of waiters) w.resolve();
      return;
    }
    const fds: number[] = [];
    for (const p of dirty) fds.push(...p.takeDirtyFds());
    syncFds(fds).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        const e = new AppError(ErrorCode.LOG_IO, `fsync of the log failed: ${(err as Error).message}`, {
          cause: err,
        });
        for (const w of waiters) w.reject(e);
      },
    );
  }

  async sync(): Promise<void> {
    if (this.#readOnly) return;
    this.#journalHighWatermarks();
    const fds: number[] = [];
    for (const t of this.#topics.values()) for (const p of t.parts) fds.push(...p.takeDirtyFds());
    if (this.#journal.dirty) {
      this.#journal.markClean();
      fds.push(this.#journal.fd);
    }
    await syncFds(fds);
  }

  /**
   * Journal the high watermarks that moved since last time (synced with the segments by `sync`), so
   * that a reopen never hands out an offset again even when a torn or quarantined tail took records
   * that readers had seen. A disk-full journal only delays this.
   */
  #journalHighWatermarks(): void {
    if (this.#closed) return;
    for (const t of this.#topics.values()) {
      for (const p of t.parts) {
        if (p.failure !== undefined) continue;
        const key = tpKey({ topic: p.topic, partition: p.partition });
        if (p.highWatermark <= (this.#journaledHw.get(key) ?? 0)) continue;
        try {
          this.#journalAppend({ t: 'hw', topic: p.topic, p: p.partition, o: p.highWatermark });
        } catch {
          return;
        }
        this.#journaledHw.set(key, p.highWatermark);
      }
    }
  }

  // ---- Log -------------------------------------------------------------------------------------

  async createTopics(specs: readonly TopicSpec[]): Promise<void> {
    this.#assertWritable();
    const created: TopicState[] = [];
    for (const spec of specs) {
      if (
        typeof spec.name !== 'string' ||
        !TOPIC_NAME.test(spec.name) ||
        spec.name === '.' ||
        spec.name === '..'
      ) {
        throw invalid(`invalid topic name ${JSON.stringify(spec.name)}: use 1-249 of [a-zA-Z0-9._-]`);
      }
      if (!Number.isInteger(spec.partitions) || spec.partitions < 1 || spec.partitions > 10_000) {
        throw invalid(`topic ${spec.name}: partitions must be an integer in 1..10000`, {
          topic: spec.name,
          partitions: spec.partitions,
        });
      }
      const retentionMs = spec.retentionMs === undefined ? DEFAULT_RETENTION_MS : spec.retentionMs;
      if (retentionMs !== null && !(Number.isFinite(retentionMs) && retentionMs >= 0)) {
        throw invalid(`topic ${spec.name}: retentionMs must be >= 0 or null`, { topic: spec.name });
      }
      const cleanupPolicy = spec.cleanupPolicy ?? CleanupPolicy.DELETE;
      if (!Object.values(CleanupPolicy).includes(cleanupPolicy)) {
        throw invalid(`topic ${spec.name}: unknown cleanupPolicy ${String(cleanupPolicy)}`, {
          topic: spec.name,
        });
      }
      const existing = this.#topics.get(spec.name);
      if (existing !== undefined) {
        if (existing.desc.partitions !== spec.partitions) {
          throw new AppError(
            ErrorCode.LOG_TOPIC_MISMATCH,
            `topic ${spec.name} exists with ${existing.desc.partitions} partitions, not ${spec.partitions}`,
            {
              context: { topic: spec.name, partitions: existing.desc.partitions, requested: spec.partitions },
            },
          );
        }
        continue;
      }
      const t: TopicState = {
        desc: { name: spec.name, partitions: spec.partitions, retentionMs, cleanupPolicy },
        parts: [],
        rr: 0,
      };
      for (let p = 0; p < spec.partitions; p++) {
        const opened = await PartitionLog.open(
          this.#partitionDir(spec.name, p),
          spec.name,
          p,
          this.#partitionOptions(),
        );
        t.parts.push(opened.log);
      }
      this.#topics.set(spec.name, t);
      this.#journalAppend({
        t: 'topic',
        name: spec.name,
        partitions: spec.partitions,
        retentionMs,
        cleanupPolicy,
      });
      created.push(t);
    }
    if (created.length > 0) {
      if (this.#fsync !== 'never') this.#journal.syncNow();
      const names = new Set(created.map((t) => t.desc.name));
      for (const g of this.#groups.values()) {
        const subscribed = [...g.members.values()].some((m) => m.subscription.some((s) => names.has(s)));
        if (subscribed) g.startRebalance();
      }
    }
  }

  async listTopics(): Promise<TopicDescription[]> {
    this.assertOpen();
    return [...this.#topics.values()]
      .map((t) => ({ ...t.desc }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    this.assertOpen();
    return { ...this.#topic(topic).desc };
  }

  async partitionOffsets(topic: string, partition: number): Promise<PartitionOffsets> {
    this.assertOpen();
    const p = this.partitionOf(topic, partition);
    return { earliest: p.logStartOffset, latest: p.highWatermark, lastStable: p.lastStableOffset };
  }

  producer(): Producer {
    this.#assertWritable();
    let closed = false;
    return {
      send: (topic, records) => {
        if (closed) return Promise.reject(new AppError(ErrorCode.LOG_CLOSED, 'the producer is closed'));
        return this.append(topic, records, 0, undefined);
      },
      close: async () => {
        closed = true;
      },
    };
  }

  async transactionalProducer(transactionalId: string): Promise<TransactionalProducer> {
    this.#assertWritable();
    if (typeof transactionalId !== 'string' || transactionalId.length === 0) {
      throw invalid('transactionalId must be a non-empty string');
    }
    const previous = this.#txnOwners.get(transactionalId);
    const producer = new EmbeddedTransactionalProducer(transactionalId, this);
    this.#txnOwners.set(transactionalId, producer);
    if (previous !== undefined) await previous.fence();
    return producer;
  }

  consumer(options: ConsumerOptions): Consumer {
    this.assertOpen();
    const c = new EmbeddedConsumer(this, options);
    this.#consumers.add(c);
    return c;
  }

  async listGroups(): Promise<GroupDescription[]> {
    this.assertOpen();
    const ids = new Set([
      ...this.#offsets.keys(),
      ...[...this.#groups].filter(([, g]) => g.members.size > 0).map(([id]) => id),
    ]);
    return [...ids].sort().map((groupId) => {
      const offsets: TopicPartitionOffset[] = [];
      for (const [key, e] of this.#offsets.get(groupId) ?? []) {
        const i = key.lastIndexOf(':');
        offsets.push({
          topic: key.slice(0, i),
          partition: Number(key.slice(i + 1)),
          offset: e.offset,
          ...(e.metadata === null ? {} : { metadata: e.metadata }),
        });
      }
      offsets.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      return { groupId, members: this.#groups.get(groupId)?.members.size ?? 0, offsets };
    });
  }

  async setGroupOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.commitGroupOffsets(groupId, offsets);
  }

  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<void> {
    this.#assertWritable();
    const t = this.#topic(topic);
    const p = this.partitionOf(topic, partition);
    if (!Number.isSafeInteger(beforeOffset) || beforeOffset < 0) {
      throw invalid('deleteRecords: beforeOffset must be a non-negative integer', {
        topic,
        partition,
        offset: beforeOffset,
      });
    }
    if (t.desc.cleanupPolicy === CleanupPolicy.COMPACT) {
      throw invalid(`records of topic ${topic} cannot be deleted: its cleanup policy is compact`, {
        topic,
        partition,
      });
    }
    if (beforeOffset > p.highWatermark) {
      throw new AppError(
        ErrorCode.LOG_OFFSET_OUT_OF_RANGE,
        `deleteRecords: offset ${beforeOffset} is beyond the high watermark ${p.highWatermark} of ${topic}:${partition}`,
        { context: { topic, partition, offset: beforeOffset, highWatermark: p.highWatermark } },
      );
    }
    if (beforeOffset <= p.logStartOffset) return;
    // Readers stop seeing the records at once; files go only once the new start offset is durable.
    p.advanceLogStartOffset(beforeOffset);
    this.#journalAppend({ t: 'start', topic, p: partition, o: beforeOffset });
    if (this.#fsync !== 'never') {
      // Our own fdatasync: a concurrent one may have marked the journal clean before it finished.
      this.#journal.markClean();
      await syncFds([this.#journal.fd]);
    }
    if (this.#closed) return;
    p.deleteSegmentsBelowStart();
  }

  async runMaintenance(options: { rollActiveSegments?: boolean } = {}): Promise<MaintenanceReport> {
    this.assertOpen();
    if (this.#readOnly) return { deletedSegments: 0, compactedRecords: 0 };
    while (this.#maintenanceRunning !== undefined) await this.#maintenanceRunning.catch(() => undefined);
    const run = (async (): Promise<MaintenanceReport> => {
      let deletedSegments = 0;
      let compactedRecords = 0;
      const now = this.#clock.now();
      for (const t of this.#topics.values()) {
        const policy = t.desc.cleanupPolicy;
        for (const p of t.parts) {
          if (this.#closed) break;
          if (p.failure !== undefined || p.repairing) continue;
          if (policy !== CleanupPolicy.COMPACT && t.desc.retentionMs !== null) {
            deletedSegments += p.deleteExpired(now - t.desc.retentionMs);
          }
          if (policy !== CleanupPolicy.DELETE) {
            compactedRecords += p.compact(
              now - this.#tombstoneRetentionMs,
              options.rollActiveSegments === true,
            );
          }
          // let producers and consumers run between partitions
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      return { deletedSegments, compactedRecords };
    })();
    this.#maintenanceRunning = run;
    try {
      return await run;
    } finally {
      this.#maintenanceRunning = undefined;
    }
  }

  scrub(): Promise<ScrubReport> {
    this.#assertWritable();
    if (this.#scrubRunning !== undefined) return this.#scrubRunning;
    const parts: PartitionLog[] = [];
    for (const t of this.#topics.values()) parts.push(...t.parts);
    const run = scrubPartitions(parts, {
      onCorruption: this.#onCorruption,
      emit: this.#emit,
      stopped: () => this.#closed || this.#closing !== undefined,
    }).finally(() => {
      this.#scrubRunning = undefined;
    });
    // A background pass: its failure (an I/O error) is the caller's only when one awaits it.
    run.catch(() => undefined);
    this.#scrubRunning = run;
    return run;
  }

  async close(): Promise<void> {
    if (this.#closing === undefined) this.#closing = this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    clearInterval(this.#fsyncTimer);
    clearInterval(this.#maintenanceTimer);
    await this.#maintenanceRunning?.catch(() => undefined);
    await this.#scrubRunning?.catch(() => undefined);
    for (const c of [...this.#consumers]) c.detach();
    this.#consumers.clear();
    for (const g of this.#groups.values()) g.close();
    // Open transactions are aborted (as a crash would); their markers are flushed below.
    const now = this.#clock.now();
    for (const producer of this.#txnOwners.values()) await producer.fence().catch(() => undefined);
    this.#txnOwners.clear();
    for (const t of this.#topics.values()) {
      for (const p of t.parts) {
        if (p.failure !== undefined || this.#readOnly) continue;
        for (const pid of [...p.openTxns.keys()]) {
          if (!this.#inflightDecisions.has(pid)) p.appendMarker(pid, false, now);
        }
      }
    }
    // Let queued flushes settle, then write and fsync everything.
    if (this.#flushScheduled) this.#flushNow();
    if (!this.#readOnly) this.#journalHighWatermarks();
    this.#closed = true;
    let error: unknown;
    for (const t of this.#topics.values()) {
      for (const p of t.parts) {
        try {
          p.close();
        } catch (err) {
          error ??= err;
        }
      }
    }
    try {
      this.#journal?.close();
    } catch (err) {
      error ??= err;
    }
    this.#lock.release();
    if (error !== undefined) {
      if (error instanceof AppError) throw error;
      const e = writeError(error, this.#root);
      throw new AppError(e.code, `closing the log in ${this.dataDir} failed: ${e.message}`, {
        cause: error,
        context: e.context,
      });
    }
  }
}

function syncFds(fds: Iterable<number>): Promise<void> {
  const list = [...fds];
  if (list.length === 0) return Promise.resolve();
  return Promise.all(
    list.map(
      (fd) =>
        new Promise<void>((resolve, reject) => {
          fs.fdatasync(fd, (err) => {
            // EBADF: the file was closed meanwhile (segment deleted or log closed) - nothing to sync.
            if (err !== null && err.code !== 'EBADF') reject(err);
            else resolve();
          });
        }),
    ),
  ).then(() => undefined);
}

/**
 * Create `root` (unless read-only) with one clear error instead of a stack trace or a spin: a path
 * under a pseudo file system (`/proc/x`), a file in the way, no permission, a read-only mount.
 */
function prepareDataDir(root: string, readOnly: boolean): void {
  // Walk up to the nearest existing ancestor ourselves: it must be a writable directory.
  let existing = root;
  while (!fs.existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const st = fs.statSync(existing, { throwIfNoEntry: false });
  if (st === undefined || !st.isDirectory()) {
    throw new AppError(ErrorCode.LOG_IO, `cannot use ${root} for the log: ${existing} is not a directory`, {
      context: { path: root },
    });
  }
  if (readOnly) {
    if (existing !== root) {
      throw new AppError(ErrorCode.LOG_IO, `no log in ${path.dirname(root)}: ${root} does not exist`, {
        context: { path: root },
      });
    }
    return;
  }
  const pseudo = fs.statfsSync(existing).type;
  // procfs, sysfs: mkdir there fails in ways Node's recursive mkdir retries forever.
  if (pseudo === 0x9fa0 || pseudo === 0x62656572) {
    throw new AppError(
      ErrorCode.LOG_IO,
      `cannot use ${root} for the log: ${existing} is not a disk file system`,
      {
        context: { path: root },
      },
    );
  }
  try {
    fs.mkdirSync(path.join(root, 'topics'), { recursive: true });
  } catch (err) {
    throw fsError(err, root);
  }
}

/** An fs error on open as one clear line: permissions, read-only or immutable files, a full disk. */
function fsError(err: unknown, root: string): unknown {
  if (err instanceof AppError) return err;
  const e = err as NodeJS.ErrnoException;
  const where = e.path ?? root;
  if (e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS') {
    return new AppError(
      ErrorCode.LOG_IO,
      `cannot open the log in ${root}: ${where} is not writable (${e.code}: permission denied, a read-only mount or an immutable file)`,
      { cause: err, context: { path: where, errno: e.code } },
    );
  }
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return writeError(err, root);
  if (typeof e.code === 'string') {
    return new AppError(ErrorCode.LOG_IO, `cannot open the log in ${root}: ${e.message}`, {
      cause: err,
      context: { path: where, errno: e.code },
    });
  }
  return err;
}

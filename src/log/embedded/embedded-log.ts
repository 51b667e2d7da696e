/**
 * The embedded durable log: Kafka's semantics in one process, on one data dir.
 *
 * Design
 * - Layout under `<dataDir>/log/`: `LOCK` (owner pid), `meta.journal` (topics, group offsets,
 *   transaction decisions, session counter; see ./journal.ts) and `topics/<topic>/<partition>/`
 *   with segment files `<baseOffset>.seg` of CRC32-framed record batches (see ./format.ts).
 * - Produce: records are grouped per partition (./produce.ts) and encoded into one batch per
 *   partition per `send`; offsets are assigned at once. Batches queued in the same tick are written
 *   together (./group-commit.ts); `send` resolves after the write ('interval', 'never') or after an
 *   fdatasync of every file written ('always'). 'interval' fsyncs dirty files every `fsyncIntervalMs`
 *   in the background, and at close. 'never' fdatasyncs nothing, not at close or open either (left to
 *   the OS; only the rare atomic file replacements — journal snapshot, compaction, quarantine — fsync
 *   the new file before its rename). The high watermark moves only after the write, and appends wake waiting `poll`s.
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
 * - Maintenance (every `maintenanceIntervalMs`, or `runMaintenance()`): retention and compaction,
 *   see ./maintenance.ts.
 * - Metadata (topics, group offsets, transaction decisions, start offsets, high watermarks) lives in
 *   the journal, see ./log-metadata.ts; the data dir's preparation and its errors in ./data-dir.ts.
 * Limits: one process per data dir; compaction runs on the event loop (segments are bounded by
 * `segmentBytes`); recovery scans and the scrub read in chunks and yield; an I/O error while writing
 * leaves the log to be reopened.
 */

import * as path from 'node:path';
import { type Clock, systemClock } from '../../clock/index.ts';
import { AppError, ErrorCode } from '../../errors/index.ts';
import type {
  Consumer,
  ConsumerOptions,
  GroupDescription,
  PartitionOffsets,
  Producer,
  ProducerRecord,
  RecordMetadata,
  TopicDescription,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
  TransactionalProducer,
} from '../types.ts';
import { type ConsumerHost, EmbeddedConsumer, GroupCoordinator } from './consumer.ts';
import { fsError, prepareDataDir } from './data-dir.ts';
import type {
  EmbeddedLog,
  EmbeddedLogOptions,
  FsyncPolicy,
  MaintenanceReport,
  RecoveryReport,
} from './embedded-types.ts';
import { GroupCommit, syncFds } from './group-commit.ts';
import { acquireLock, type DirLock } from './lock.ts';
import { closeFiles } from './log-close.ts';
import { LogMetadata, type OffsetsTuple, type TopicState } from './log-metadata.ts';
import { maintenancePass } from './maintenance.ts';
import { recoverOnOpen } from './open-recovery.ts';
import type { PartitionLog, PartitionLogOptions } from './partition-log.ts';
import type { CorruptionPolicy, RecoveryEvent } from './partition-recovery.ts';
import { appendToTopic } from './produce.ts';
import { type ScrubReport, scrubPartitions } from './scrub.ts';
import { groupDescriptions, openTopic } from './topic-admin.ts';
import { TransactionCoordinator } from './transaction-coordinator.ts';
import {
  checkDeleteRecords,
  invalid,
  offsetsTuples,
  topicDescription,
  validateOptions,
} from './validation.ts';

export type { EmbeddedLog, EmbeddedLogOptions, FsyncPolicy, MaintenanceReport, RecoveryReport };

/** Open (creating if needed) the embedded log in `options.dataDir`. */
export async function openEmbeddedLog(options: EmbeddedLogOptions): Promise<EmbeddedLog> {
  return EmbeddedLogImpl.open(options);
}

class EmbeddedLogImpl implements EmbeddedLog, ConsumerHost {
  readonly kind = 'embedded' as const;
  readonly dataDir: string;
  readonly #root: string;
  readonly #fsync: FsyncPolicy;
  readonly #clock: Clock;
  readonly #tombstoneRetentionMs: number;
  readonly #lock: DirLock;
  readonly #meta: LogMetadata;
  readonly #commits: GroupCommit;
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
  readonly #onCorruption: CorruptionPolicy;
  /** Options every partition opens with (offsets aside). */
  readonly #partitionOptions: PartitionLogOptions;
  readonly #events: RecoveryEvent[] = [];
  readonly #onEvent: ((event: RecoveryEvent) => void) | undefined;
  readonly #groups = new Map<string, GroupCoordinator>();
  readonly #consumers = new Set<EmbeddedConsumer>();
  readonly #transactions: TransactionCoordinator;
  #fsyncTimer: NodeJS.Timeout | undefined;
  #maintenanceTimer: NodeJS.Timeout | undefined;
  #maintenanceRunning: Promise<MaintenanceReport> | undefined;
  #scrubRunning: Promise<ScrubReport> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(options: EmbeddedLogOptions, root: string, lock: DirLock) {
    this.dataDir = options.dataDir;
    this.#root = root;
    this.#lock = lock;
    this.#fsync = options.fsync ?? 'interval';
    this.#clock = options.clock ?? systemClock;
    this.#tombstoneRetentionMs = options.tombstoneRetentionMs ?? 86_400_000;
    this.#readOnly = options.readOnly === true;
    this.#onCorruption = options.onCorruption ?? 'refuse';
    this.#onEvent = options.onRecoveryEvent;
    this.#meta = new LogMetadata(root);
    this.#commits = new GroupCommit(this.#fsync, root);
    this.#transactions = new TransactionCoordinator(this.#meta, this.#commits, this.#clock, this.#fsync, {
      assertOpen: () => this.assertOpen(),
      append: (topic, records, producerId, touched) => this.append(topic, records, producerId, touched),
      checkGroupMember: (member) => this.#groups.get(member.groupId)?.checkMember(member),
      validateOffsets: (offsets) => this.#validateOffsets(offsets),
      closed: () => this.#closed,
    });
    this.#partitionOptions = {
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      syncOnRoll: this.#fsync !== 'never',
      onCorruption: this.#onCorruption,
      readOnly: this.#readOnly,
      scanAll: options.scanAll === true,
      emit: this.#emit,
    };
  }

  #emit = (event: RecoveryEvent): void => {
    this.#events.push(event);
    this.#onEvent?.(event);
  };

  static async open(options: EmbeddedLogOptions): Promise<EmbeddedLogImpl> {
    validateOptions(options);
    const root = path.join(path.resolve(options.dataDir), 'log');
    const readOnly = options.readOnly === true;
    prepareDataDir(root, readOnly);
    const lock = acquireLock(root, readOnly ? 'shared' : 'exclusive');
    try {
      const log = new EmbeddedLogImpl(options, root, lock);
      log.recovery = await recoverOnOpen({
        root,
        meta: log.#meta,
        readOnly,
        onCorruption: log.#onCorruption,
        clock: log.#clock,
        partitionOptions: log.#partitionOptions,
        partitionDir: (topic, partition) => log.#partitionDir(topic, partition),
        emit: log.#emit,
        events: log.#events,
      });
      log.#startTimers(options);
      if (!readOnly && options.scrub !== false) void log.scrub();
      return log;
    } catch (err) {
      lock.release();
      throw fsError(err, root);
    }
  }

  #partitionDir(topic: string, partition: number): string {
    return path.join(this.#root, 'topics', topic, String(partition));
  }

  #allParts(): PartitionLog[] {
    const parts: PartitionLog[] = [];
    for (const t of this.#meta.topics.values()) parts.push(...t.parts);
    return parts;
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
    const t = this.#meta.topics.get(name);
    if (t === undefined) {
      throw new AppError(ErrorCode.LOG_UNKNOWN_TOPIC, `unknown topic ${name}`, { context: { topic: name } });
    }
    return t;
  }

  partitionCount(topic: string): number | undefined {
    return this.#meta.topics.get(topic)?.desc.partitions;
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
    return this.#meta.committedOffset(groupId, tp);
  }

  #validateOffsets(offsets: readonly TopicPartitionOffset[]): OffsetsTuple[] {
    return offsetsTuples(offsets, (o) => this.partitionOf(o.topic, o.partition));
  }

  async commitGroupOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.#assertWritable();
    const o = this.#validateOffsets(offsets);
    if (o.length === 0) return;
    this.#meta.append({ t: 'offsets', g: groupId, o });
    this.#meta.applyOffsets(groupId, o);
    if (this.#fsync === 'always') await this.#meta.syncJournal();
  }

  consumerClosed(consumer: EmbeddedConsumer): void {
    this.#consumers.delete(consumer);
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
      return appendToTopic(
        this.#topic(topic),
        records,
        producerId,
        touched,
        this.#commits,
        this.#clock.now(),
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async sync(): Promise<void> {
    if (this.#readOnly) return;
    if (!this.#closed) this.#meta.journalHighWatermarks();
    const fds: number[] = [];
    for (const t of this.#meta.topics.values()) for (const p of t.parts) fds.push(...p.takeDirtyFds());
    const journal = this.#meta.journal;
    if (journal.dirty) {
      journal.markClean();
      fds.push(journal.fd);
    }
    await syncFds(fds);
  }

  // ---- Log -------------------------------------------------------------------------------------

  async createTopics(specs: readonly TopicSpec[]): Promise<void> {
    this.#assertWritable();
    const created: TopicState[] = [];
    for (const spec of specs) {
      const desc = topicDescription(spec);
      const existing = this.#meta.topics.get(desc.name);
      if (existing !== undefined) {
        if (existing.desc.partitions !== desc.partitions) {
          throw new AppError(
            ErrorCode.LOG_TOPIC_MISMATCH,
            `topic ${desc.name} exists with ${existing.desc.partitions} partitions, not ${desc.partitions}`,
            {
              context: { topic: desc.name, partitions: existing.desc.partitions, requested: desc.partitions },
            },
          );
        }
        continue;
      }
      created.push(
        await openTopic(this.#meta, desc, (p) => this.#partitionDir(desc.name, p), this.#partitionOptions),
      );
    }
    if (created.length > 0) {
      if (this.#fsync !== 'never') this.#meta.journal.syncNow();
      const names = new Set(created.map((t) => t.desc.name));
      for (const g of this.#groups.values()) {
        const subscribed = [...g.members.values()].some((m) => m.subscription.some((s) => names.has(s)));
        if (subscribed) g.startRebalance();
      }
    }
  }

  async listTopics(): Promise<TopicDescription[]> {
    this.assertOpen();
    return [...this.#meta.topics.values()]
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
    return this.#transactions.producer(transactionalId);
  }

  consumer(options: ConsumerOptions): Consumer {
    this.assertOpen();
    const c = new EmbeddedConsumer(this, options);
    this.#consumers.add(c);
    return c;
  }

  async listGroups(): Promise<GroupDescription[]> {
    this.assertOpen();
    return groupDescriptions(this.#meta, this.#groups);
  }

  async setGroupOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.commitGroupOffsets(groupId, offsets);
  }

  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<void> {
    this.#assertWritable();
    const t = this.#topic(topic);
    const p = this.partitionOf(topic, partition);
    checkDeleteRecords(t.desc, p.highWatermark, partition, beforeOffset);
    if (beforeOffset <= p.logStartOffset) return;
    // Readers stop seeing the records at once; files go only once the new start offset is durable.
    p.advanceLogStartOffset(beforeOffset);
    this.#meta.append({ t: 'start', topic, p: partition, o: beforeOffset });
    if (this.#fsync !== 'never') {
      // Our own fdatasync: a concurrent one may have marked the journal clean before it finished.
      this.#meta.journal.markClean();
      await syncFds([this.#meta.journal.fd]);
    }
    if (this.#closed) return;
    p.deleteSegmentsBelowStart();
  }

  async runMaintenance(options: { rollActiveSegments?: boolean } = {}): Promise<MaintenanceReport> {
    this.assertOpen();
    if (this.#readOnly) return { deletedSegments: 0, compactedRecords: 0 };
    while (this.#maintenanceRunning !== undefined) await this.#maintenanceRunning.catch(() => undefined);
    const run = maintenancePass(this.#meta.topics.values(), {
      nowMs: this.#clock.now(),
      tombstoneRetentionMs: this.#tombstoneRetentionMs,
      rollActiveSegments: options.rollActiveSegments === true,
      stopped: () => this.#closed,
    });
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
    const run = scrubPartitions(this.#allParts(), {
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
    if (!this.#readOnly) await this.#transactions.abortOpen(this.#allParts());
    // Let queued flushes settle, then write and fsync everything.
    this.#commits.flushIfScheduled();
    if (!this.#readOnly) this.#meta.journalHighWatermarks();
    this.#closed = true;
    closeFiles(this.#meta, this.#lock, this.#fsync !== 'never', this.#root, this.dataDir);
  }
}

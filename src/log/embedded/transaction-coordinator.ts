/**
 * The log's side of transactions (./transactions.ts is the producer's side): producer ids (the
 * session counter, journaled, times 2^22), one live producer per transactional id (a new one fences the
 * previous), the commit decision journaled as the commit point (with the group offsets it commits),
 * then the markers; at close, what is still open is aborted as a crash would.
 */

import type { Clock } from '../../clock/index.ts';
import type {
  ConsumerGroupMetadata,
  ProducerRecord,
  RecordMetadata,
  TopicPartitionOffset,
  TransactionalProducer,
} from '../types.ts';
import type { FsyncPolicy } from './embedded-types.ts';
import { type GroupCommit, syncFds } from './group-commit.ts';
import type { JournalEntry, LogMetadata, OffsetsTuple } from './log-metadata.ts';
import type { PartitionLog } from './partition-log.ts';
import { EmbeddedTransactionalProducer, type TransactionHost } from './transactions.ts';

const PID_SEQ_BITS = 4194304; // 2^22 transactions per session

/** What the coordinator needs of the log. */
export interface CoordinatorHost extends Pick<TransactionHost, 'assertOpen' | 'append' | 'checkGroupMember'> {
  /** Offsets to commit, checked (LOG_INVALID_ARGUMENT, an unknown or refused partition). */
  validateOffsets(offsets: readonly TopicPartitionOffset[]): OffsetsTuple[];
  /** The log is closed: nothing more is written. */
  closed(): boolean;
}

export class TransactionCoordinator implements TransactionHost {
  readonly #meta: LogMetadata;
  readonly #commits: GroupCommit;
  readonly #clock: Clock;
  readonly #fsync: FsyncPolicy;
  readonly #host: CoordinatorHost;
  readonly #owners = new Map<string, EmbeddedTransactionalProducer>();
  #pidSeq = 0;

  constructor(
    meta: LogMetadata,
    commits: GroupCommit,
    clock: Clock,
    fsync: FsyncPolicy,
    host: CoordinatorHost,
  ) {
    this.#meta = meta;
    this.#commits = commits;
    this.#clock = clock;
    this.#fsync = fsync;
    this.#host = host;
  }

  /** A producer for `transactionalId`; the previous one with that id is fenced. */
  async producer(transactionalId: string): Promise<TransactionalProducer> {
    const previous = this.#owners.get(transactionalId);
    const producer = new EmbeddedTransactionalProducer(transactionalId, this);
    this.#owners.set(transactionalId, producer);
    if (previous !== undefined) await previous.fence();
    return producer;
  }

  assertOpen(): void {
    this.#host.assertOpen();
  }

  append(
    topic: string,
    records: readonly ProducerRecord[],
    producerId: number,
    touched: Set<PartitionLog> | undefined,
  ): Promise<RecordMetadata[]> {
    return this.#host.append(topic, records, producerId, touched);
  }

  checkGroupMember(meta: ConsumerGroupMetadata): void {
    this.#host.checkGroupMember(meta);
  }

  allocateProducerId(): number {
    if (++this.#pidSeq >= PID_SEQ_BITS) {
      this.#meta.session++;
      this.#pidSeq = 1;
      this.#meta.append({ t: 'session', n: this.#meta.session });
      if (this.#fsync !== 'never') this.#meta.journal.syncNow();
    }
    return this.#meta.session * PID_SEQ_BITS + this.#pidSeq;
  }

  async decideCommit(
    producerId: number,
    partitions: readonly PartitionLog[],
    offsets: readonly { groupId: string; offsets: readonly TopicPartitionOffset[] }[],
  ): Promise<void> {
    this.#host.assertOpen();
    const entry: JournalEntry = {
      t: 'commit',
      pid: producerId,
      parts: partitions.map((p) => [p.topic, p.partition]),
      offsets: offsets.map((o) => ({ g: o.groupId, o: this.#host.validateOffsets(o.offsets) })),
    };
    if (this.#fsync === 'always') {
      // The records must be durable before the decision that makes them visible.
      await Promise.all(partitions.map((p) => syncFds(p.takeDirtyFds())));
    }
    this.#meta.append(entry);
    this.#meta.inflightDecisions.set(producerId, entry);
    for (const o of entry.offsets) this.#meta.applyOffsets(o.g, o.o);
    if (this.#fsync === 'always') await this.#meta.syncJournal();
  }

  async writeMarkers(
    producerId: number,
    partitions: readonly PartitionLog[],
    commit: boolean,
  ): Promise<void> {
    if (this.#host.closed()) return;
    const now = this.#clock.now();
    for (const p of partitions) if (p.appendMarker(producerId, commit, now)) this.#commits.add(p);
    await this.#commits.schedule();
  }

  commitDone(producerId: number): void {
    if (!this.#meta.inflightDecisions.delete(producerId) || this.#host.closed()) return;
    this.#meta.append({ t: 'done', pid: producerId });
  }

  releaseTransactionalId(id: string, producer: EmbeddedTransactionalProducer): void {
    if (this.#owners.get(id) === producer) this.#owners.delete(id);
  }

  /** At close: fence every producer and queue abort markers for what is open and undecided. */
  async abortOpen(parts: Iterable<PartitionLog>): Promise<void> {
    const now = this.#clock.now();
    for (const producer of this.#owners.values()) await producer.fence().catch(() => undefined);
    this.#owners.clear();
    for (const p of parts) {
      if (p.failure !== undefined) continue;
      for (const pid of [...p.openTxns.keys()]) {
        if (!this.#meta.inflightDecisions.has(pid)) p.appendMarker(pid, false, now);
      }
    }
  }
}

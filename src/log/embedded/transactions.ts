/**
 * The transactional producer of the embedded log.
 *
 * Every transaction gets a fresh producer id (`session * 2^22 + sequence`, the session counter is
 * durable in the journal, so ids never repeat across restarts). Its records are appended to the
 * partitions as transactional batches tagged with that id: invisible to read_committed readers, and
 * they hold the partition's LSO at their first offset until a marker closes them.
 *
 * commit():
 * 1. wait for the transaction's sends (under fsync 'always' they are durable);
 * 2. append the decision `{commit, pid, partitions, group offsets}` to the journal (fsynced under
 *    'always'): this is the commit point;
 * 3. apply the group offsets in memory, append a commit marker to every partition written, flush
 *    (and fsync under 'always'), then journal `done`.
 * Recovery: a partition with records of a pid and no marker gets a commit marker if the journal holds
 * that pid's decision, else an abort marker. So a crash before (2) aborts, after (2) commits fully.
 * abort() appends abort markers (no decision needed: no decision means abort).
 */

import { AppError, ErrorCode } from '../../errors/index.ts';
import type {
  ConsumerGroupMetadata,
  ProducerRecord,
  RecordMetadata,
  TopicPartitionOffset,
  TransactionalProducer,
} from '../types.ts';
import type { PartitionLog } from './partition-log.ts';

/** What a transactional producer needs from the log. */
export interface TransactionHost {
  assertOpen(): void;
  allocateProducerId(): number;
  /** Append records (transactional when `producerId` > 0); resolves after flush (+fsync policy). */
  append(
    topic: string,
    records: readonly ProducerRecord[],
    producerId: number,
    touched: Set<PartitionLog> | undefined,
  ): Promise<RecordMetadata[]>;
  checkGroupMember(meta: ConsumerGroupMetadata): void;
  /** Journal the commit decision (the commit point) and apply the group offsets. */
  decideCommit(
    producerId: number,
    partitions: readonly PartitionLog[],
    offsets: readonly { groupId: string; offsets: readonly TopicPartitionOffset[] }[],
  ): Promise<void>;
  /** Append markers to the partitions, flush, fsync per policy. */
  writeMarkers(producerId: number, partitions: readonly PartitionLog[], commit: boolean): Promise<void>;
  commitDone(producerId: number): void;
  releaseTransactionalId(id: string, producer: EmbeddedTransactionalProducer): void;
}

type State = 'ready' | 'in_txn' | 'completing' | 'fenced' | 'closed';

export class EmbeddedTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string;
  readonly #host: TransactionHost;
  #state: State = 'ready';
  #pid = 0;
  #touched = new Set<PartitionLog>();
  #offsets: { groupId: string; offsets: readonly TopicPartitionOffset[] }[] = [];
  #inflight: Promise<unknown>[] = [];
  #failed: unknown;

  constructor(transactionalId: string, host: TransactionHost) {
    this.transactionalId = transactionalId;
    this.#host = host;
  }

  #check(expected: State, op: string): void {
    this.#host.assertOpen();
    if (this.#state === 'fenced') {
      throw new AppError(
        ErrorCode.LOG_FENCED,
        `transactional producer ${this.transactionalId} was fenced by a newer producer with the same id`,
        { context: { transactionalId: this.transactionalId } },
      );
    }
    if (this.#state === 'closed') {
      throw new AppError(ErrorCode.LOG_CLOSED, `transactional producer ${this.transactionalId} is closed`, {
        context: { transactionalId: this.transactionalId },
      });
    }
    if (this.#state !== expected) {
      throw new AppError(
        ErrorCode.LOG_TXN_STATE,
        `${op}() is not allowed in state ${this.#state} of transactional producer ${this.transactionalId}`,
        { context: { transactionalId: this.transactionalId, state: this.#state } },
      );
    }
  }

  begin(): void {
    this.#check('ready', 'begin');
    this.#pid = this.#host.allocateProducerId();
    this.#touched = new Set();
    this.#offsets = [];
    this.#inflight = [];
    this.#failed = undefined;
    this.#state = 'in_txn';
  }

  async send(topic: string, records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    this.#check('in_txn', 'send');
    const p = this.#host.append(topic, records, this.#pid, this.#touched);
    this.#inflight.push(
      p.catch((err: unknown) => {
        this.#failed ??= err;
      }),
    );
    return p;
  }

  async sendOffsets(
    group: ConsumerGroupMetadata | string,
    offsets: readonly TopicPartitionOffset[],
  ): Promise<void> {
    this.#check('in_txn', 'sendOffsets');
    const meta = typeof group === 'string' ? { groupId: group, generationId: -1, memberId: '' } : group;
    this.#host.checkGroupMember(meta);
    this.#offsets.push({ groupId: meta.groupId, offsets: offsets.map((o) => ({ ...o })) });
  }

  async commit(): Promise<void> {
    this.#check('in_txn', 'commit');
    this.#state = 'completing';
    const pid = this.#pid;
    const touched = [...this.#touched];
    try {
      await Promise.all(this.#inflight);
      if (this.#failed !== undefined) throw this.#failed;
      if (this.#fencedWhileCompleting) throw this.#fencedError();
      await this.#host.decideCommit(pid, touched, this.#offsets);
    } catch (err) {
      // Not decided: abort what was written, unless the log is gone (recovery aborts it then).
      await this.#host.writeMarkers(pid, touched, false).catch(() => undefined);
      this.#state = this.#fencedWhileCompleting ? 'fenced' : 'ready';
      throw err;
    }
    // Decided: from here the transaction commits, now or on recovery.
    await this.#host.writeMarkers(pid, touched, true);
    this.#host.commitDone(pid);
    this.#state = this.#fencedWhileCompleting ? 'fenced' : 'ready';
  }

  async abort(): Promise<void> {
    this.#check('in_txn', 'abort');
    this.#state = 'completing';
    await Promise.all(this.#inflight);
    await this.#host.writeMarkers(this.#pid, [...this.#touched], false);
    this.#state = this.#fencedWhileCompleting ? 'fenced' : 'ready';
  }

  #fencedWhileCompleting = false;

  #fencedError(): AppError {
    return new AppError(
      ErrorCode.LOG_FENCED,
      `transactional producer ${this.transactionalId} was fenced by a newer producer with the same id`,
      { context: { transactionalId: this.transactionalId } },
    );
  }

  /** A newer producer took the id: abort the open transaction; later calls fail with LOG_FENCED. */
  async fence(): Promise<void> {
    if (this.#state === 'in_txn') {
      this.#state = 'fenced';
      await Promise.all(this.#inflight);
      await this.#host.writeMarkers(this.#pid, [...this.#touched], false);
    } else if (this.#state === 'completing') {
      this.#fencedWhileCompleting = true;
    } else if (this.#state === 'ready') {
      this.#state = 'fenced';
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    if (this.#state === 'in_txn') {
      await Promise.all(this.#inflight);
      await this.#host.writeMarkers(this.#pid, [...this.#touched], false).catch(() => undefined);
    }
    const wasFenced = this.#state === 'fenced';
    this.#state = 'closed';
    if (!wasFenced) this.#host.releaseTransactionalId(this.transactionalId, this);
  }
}

/**
 * The commit step of the streams runtime: when a commit is due, and what one commit does.
 *
 * - Due: every `commitIntervalMs` (runtime clock), earlier when a sink wants a flush, the outputs
 *   since the last commit reach `maxBufferedRecords`, or one of them goes to an `eagerCommitTopics`
 *   topic.
 * - One commit (a transaction under exactly-once, ./guarantee.ts): every external sink of a task with
 *   progress is flushed (retried up to `sinkFlushRetries` times), then the outputs (in processing
 *   order), the changelog records and the input offsets of every task with progress are made durable
 *   together. The offset committed for a partition with nothing buffered is the consumer's position
 *   (past transaction markers), otherwise the next offset after the last processed record. After it:
 *   the tasks remember their committed offsets, the latency is recorded, a `commit` event is
 *   published, and the repartition purge runs when due (./purge.ts).
 */
import type { Clock } from '../clock/index.ts';
import type { Consumer } from '../log/index.ts';
import { retry } from '../retry/index.ts';
import { collectCommitBatch } from './commit-batch.ts';
import type { Committer } from './guarantee.ts';
import type { PartitionGroup } from './partition-group.ts';
import type { RepartitionPurger } from './purge.ts';
import type { CommitLatency } from './runtime-metrics.ts';
import type { OutgoingRecord, StreamTask } from './task.ts';
import type { TaskManager } from './task-manager.ts';
import type { ExternalSink } from './types.ts';

export interface CommitCycleOptions {
  readonly clock: Clock;
  readonly commitIntervalMs: number;
  readonly maxBufferedRecords: number;
  readonly eagerCommitTopics: ReadonlySet<string>;
  readonly sinkFlushRetries: number;
  readonly tasks: TaskManager;
  readonly buffer: PartitionGroup;
  /** Outputs and dead letters of all tasks since the last commit (emptied by a commit). */
  readonly outputs: OutgoingRecord[];
  readonly changelogTopic: (store: string) => string;
  readonly purger: RepartitionPurger;
  readonly latency: CommitLatency;
  /** Aborts sink-flush retries when the runtime stops or fails. */
  readonly signal: AbortSignal;
  readonly publish: (event: Record<string, unknown>) => void;
}

export class CommitCycle {
  readonly #o: CommitCycleOptions;
  #consumer: Consumer | undefined;
  #committer: Committer | undefined;
  #lastCommit = 0;
  /** Outputs before this index were looked at for eager-commit topics (reset by a commit). */
  #scanned = 0;

  constructor(options: CommitCycleOptions) {
    this.#o = options;
  }

  /** The consumer and committer of the started runtime; the interval counts from `now`. */
  open(consumer: Consumer, committer: Committer, now: number): void {
    this.#consumer = consumer;
    this.#committer = committer;
    this.#lastCommit = now;
  }

  /** The commit interval has passed, or something asks for an early commit. */
  due(now: number): boolean {
    return now - this.#lastCommit >= this.#o.commitIntervalMs || this.#needsEarlyCommit();
  }

  #needsEarlyCommit(): boolean {
    for (const task of this.#o.tasks.values()) {
      for (const sink of task.sinks) if (sink.wantsFlush?.() === true) return true;
    }
    const { outputs, eagerCommitTopics } = this.#o;
    if (outputs.length >= this.#o.maxBufferedRecords) return true;
    if (eagerCommitTopics.size > 0) {
      for (; this.#scanned < outputs.length; this.#scanned++) {
        if (eagerCommitTopics.has((outputs[this.#scanned] as OutgoingRecord).topic)) return true;
      }
    }
    return false;
  }

  async #flushSink(sink: ExternalSink<unknown, unknown>): Promise<void> {
    await retry(() => sink.flush(), {
      deadlineMs: Number.POSITIVE_INFINITY,
      maxAttempts: this.#o.sinkFlushRetries + 1,
      initialDelayMs: 100,
      maxDelayMs: 5_000,
      signal: this.#o.signal,
      onRetry: (err, attempt) =>
        this.#o.publish({ type: 'error', stage: 'sink-flush', retry: attempt, error: String(err) }),
    });
  }

  /** Forget the outputs since the last commit (their inputs are read again). */
  dropOutputs(): void {
    this.#o.outputs.length = 0;
    this.#scanned = 0;
  }

  /** One commit (see the file comment). Throws when it failed: nothing of it is committed. */
  async commit(): Promise<void> {
    const o = this.#o;
    const started = performance.now();
    this.#lastCommit = o.clock.now();
    // Also tasks whose consumer position moved past transaction markers since their last commit, so
    // committed offsets reach the end of the partition (consumer lag 0).
    const tasks = [...o.tasks.values()].filter((t) => t.hasProgress || this.#positionAhead(t));
    if (tasks.length === 0) return;
    for (const task of tasks) for (const sink of task.sinks) await this.#flushSink(sink);
    const { records, offsets, count } = collectCommitBatch(
      o.outputs,
      tasks,
      o.changelogTopic,
      (task, topic, processed) =>
        o.buffer.isDrained({ topic, partition: task.partition })
          ? this.#position(topic, task.partition, processed)
          : processed,
    );
    this.#scanned = 0;
    await (this.#committer as Committer).commit(records, offsets);
    for (const off of offsets) o.tasks.taskOf(off)?.committedOffsets.set(off.topic, off.offset);
    const ms = performance.now() - started;
    o.latency.record(ms);
    o.publish({
      type: 'commit',
      durationMs: ms,
      records: count,
      offsets: offsets.length,
      counters: o.tasks.counters(),
    });
    await o.purger.committed(offsets);
  }

  #positionAhead(task: StreamTask): boolean {
    for (const topic of task.sub.sourceTopics) {
      if (!this.#o.buffer.isDrained({ topic, partition: task.partition })) continue;
      const committed = task.committedOffsets.get(topic) ?? -1;
      if (this.#position(topic, task.partition, -1) > committed) return true;
    }
    return false;
  }

  /**
   * The offset to commit for a consumed partition: the consumer's position (past transaction markers
   * after the last processed record), or the processed offset + 1 when the partition is gone.
   */
  #position(topic: string, partition: number, processed: number): number {
    try {
      return Math.max(processed, (this.#consumer as Consumer).position({ topic, partition }));
    } catch {
      return processed;
    }
  }
}

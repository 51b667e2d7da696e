/**
 * The tasks of one runtime instance (Kafka Streams' TaskManager): created per (sub-topology,
 * partition) from the consumer's assignment, restored, looked up by input partition, closed.
 *
 * - Assignment: a task exists for partition p of a sub-topology when the instance is assigned p of
 *   every one of its (co-partitioned) source topics; being assigned only some of them is a topology
 *   error (the range assignment gives one member the same partition numbers of each topic).
 * - Restore: a new task restores its stores from `<applicationId>-<store>-changelog` (read_committed,
 *   from the beginning up to the last stable offset) with the restore consumer before it processes
 *   anything; a restore failing with a retriable error starts over under the runtime's retry policy.
 * - Close: `close()` closes the tasks and their sinks and keeps their counters in the instance's
 *   totals; `release()` (on failure or after stop) closes them ignoring sink errors, without adding
 *   their counters.
 */
import type { Clock } from '../clock/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { type Consumer, type Log, type TopicPartition, tpKey } from '../log/index.ts';
import type { Topology } from './node.ts';
import { newCounters, type OutgoingRecord, StreamTask, type TaskCounters } from './task.ts';
import type { ErrorPolicies } from './types.ts';

export interface TaskManagerOptions {
  readonly log: Log;
  readonly applicationId: string;
  readonly topology: Topology;
  readonly clock: Clock;
  readonly errorPolicies: Required<ErrorPolicies>;
  readonly idleAdvanceMs: number | null;
  /** Where every task appends its outputs and dead letters (processing order across tasks). */
  readonly outputs: OutgoingRecord[];
  /** Runs a restore under the runtime's retry policy for retriable errors. */
  readonly withRetry: <T>(stage: string, fn: () => Promise<T>) => Promise<T>;
}

export class TaskManager {
  readonly #options: TaskManagerOptions;
  readonly #tasks = new Map<string, StreamTask>();
  readonly #byTp = new Map<string, StreamTask>();
  readonly #closedCounters: TaskCounters = newCounters();
  #restoreConsumer: Consumer | undefined;

  constructor(options: TaskManagerOptions) {
    this.#options = options;
  }

  /** Create the restore consumer (group `<applicationId>-restore`, assigned manually). */
  openRestoreConsumer(): void {
    this.#restoreConsumer = this.#options.log.consumer({
      groupId: `${this.#options.applicationId}-restore`,
      isolationLevel: 'read_committed',
      autoOffsetReset: 'earliest',
      maxPollRecords: 10_000,
    });
  }

  async closeRestoreConsumer(): Promise<void> {
    await this.#restoreConsumer?.close().catch(() => {});
  }

  get size(): number {
    return this.#tasks.size;
  }

  values(): IterableIterator<StreamTask> {
    return this.#tasks.values();
  }

  /** Task ids in creation order. */
  ids(): string[] {
    return [...this.#tasks.keys()];
  }

  /** The task consuming `tp`, if this instance has one. */
  taskOf(tp: TopicPartition): StreamTask | undefined {
    return this.#byTp.get(tpKey(tp));
  }

  /** Create and restore the tasks of the assigned partitions `tps` (`subPartitions`: see ensureTopics). */
  async assign(tps: readonly TopicPartition[], subPartitions: ReadonlyMap<number, number>): Promise<void> {
    const { topology, clock, errorPolicies, idleAdvanceMs, outputs, withRetry } = this.#options;
    const assigned = new Set(tps.map(tpKey));
    for (const sub of topology.subtopologies) {
      const n = subPartitions.get(sub.id) as number;
      for (let p = 0; p < n; p++) {
        const have = sub.sourceTopics.filter((topic) => assigned.has(tpKey({ topic, partition: p })));
        if (have.length === 0) continue;
        if (have.length !== sub.sourceTopics.length) {
          throw new AppError(
            ErrorCode.STREAMS_TOPOLOGY,
            `partition ${p} of co-partitioned topics ${sub.sourceTopics.join(', ')} was split across members`,
          );
        }
        const task = new StreamTask({
          topology,
          sub,
          partition: p,
          clock,
          errorPolicies,
          idleAdvanceMs,
          outputs,
        });
        await withRetry('restore', () => this.#restore(task));
        this.#tasks.set(task.id, task);
        for (const topic of sub.sourceTopics) this.#byTp.set(tpKey({ topic, partition: p }), task);
      }
    }
  }

  /** Restore a task's stores from their changelogs (from the beginning: a retry starts over). */
  async #restore(task: StreamTask): Promise<void> {
    const consumer = this.#restoreConsumer as Consumer;
    for (const store of task.sub.stores) {
      const tp = { topic: this.#options.topology.changelogTopic(store), partition: task.partition };
      const end = (await this.#options.log.partitionOffsets(tp.topic, tp.partition)).lastStable;
      consumer.assign([tp]);
      await consumer.seekToBeginning([tp]);
      let idle = 0;
      while (consumer.position(tp) < end && idle < 100) {
        const records = await consumer.poll(100);
        if (records.length === 0) idle++;
        for (const r of records) task.restore(store, r.key, r.value);
      }
    }
    consumer.assign([]);
    task.finishRestore();
  }

  /** Close every task and its sinks (a sink's close error propagates); their counters are kept. */
  async close(): Promise<void> {
    for (const task of this.#tasks.values()) {
      task.close();
      for (const sink of task.sinks) await sink.close?.();
      for (const k of Object.keys(this.#closedCounters) as Array<keyof TaskCounters>) {
        this.#closedCounters[k] += task.counters[k];
      }
    }
    this.#clear();
  }

  /** Close every task and its sinks, ignoring sink errors (the runtime is failing or stopped). */
  async release(): Promise<void> {
    for (const task of this.#tasks.values()) {
      task.close();
      for (const sink of task.sinks) await sink.close?.().catch(() => {});
    }
    this.#clear();
  }

  #clear(): void {
    this.#tasks.clear();
    this.#byTp.clear();
  }

  /** Counters of closed tasks plus those of the current ones. */
  counters(): TaskCounters {
    const total = { ...this.#closedCounters };
    for (const task of this.#tasks.values()) {
      for (const k of Object.keys(total) as Array<keyof TaskCounters>) total[k] += task.counters[k];
    }
    return total;
  }

  /** Entries held by the stores of the current tasks. */
  stateEntries(): number {
    let n = 0;
    for (const task of this.#tasks.values()) n += task.stateSize();
    return n;
  }

  /** Stream time per task id. */
  streamTimes(): Record<string, number> {
    return Object.fromEntries([...this.#tasks].map(([id, t]) => [id, t.streamTimeMs]));
  }
}

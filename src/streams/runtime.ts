/**
 * `StreamsRuntime`: runs a topology on a `Log` with exactly-once semantics (or at-least-once:
 * `processingGuarantee`, see ./guarantee.ts).
 *
 * - One consumer per instance in the group `<applicationId>` (read_committed), subscribed to every
 *   source topic (user and repartition). Tasks are created per (sub-topology, partition) from the
 *   assignment; co-partitioned sources of a sub-topology must have equal partition counts, and the
 *   range assignment gives one member the same partition numbers of each.
 *   Topic setup: ./topic-setup.ts; tasks and their restore: ./task-manager.ts.
 * - Processing order (Kafka Streams' PartitionGroup, partition-group.ts): polled records are buffered
 *   per partition and processed head by head in event-time order across all of the instance's tasks;
 *   a partition whose last fetch returned records is fetched again before anything newer is
 *   processed, and a partition holding `maxPollRecords` buffered records is paused. Outputs of all
 *   tasks are written in processing order. So a backlog goes through in event-time order, and
 *   re-keyed records reach their repartition topic in about timestamp order.
 * - Sharing a process: records are processed in slices of 1,000, and the runtime yields to the event
 *   loop (a macrotask) after each slice, so that several runtimes in one process (`msgtrack start`)
 *   interleave with each other's I/O (a sink's insert completing), timers and producers. Slices are
 *   counted in records, not time: under a backlog every runtime then advances at the same record
 *   rate, and the costliest per record (anomaly-detection) is not left behind. (Measured: slices
 *   also capped at 5 ms let anomaly-detection fall seconds behind the others on a loaded machine.)
 * - A new task restores its stores from `<applicationId>-<store>-changelog` (read_committed, up to
 *   the last stable offset) before it processes anything.
 * - Commit (./commit-cycle.ts; every `commitIntervalMs`, default 100 ms; earlier when outputs pile
 *   up, a sink wants a flush, or an output goes to one of `eagerCommitTopics`): await every external sink's `flush()`, then one transaction of the instance's
 *   transactional producer `<applicationId>-<instanceId>` carries all outputs, dead letters,
 *   changelog records and the input offsets (`sendOffsets` with the consumer's group metadata, so a
 *   member fenced by a rebalance cannot commit). A crash before the commit point leaves nothing
 *   visible, after it everything: a restart resumes from the last commit with the state of that
 *   commit. With `processingGuarantee: 'at_least_once'` the outputs and changelog records are sent
 *   without a transaction and acknowledged before the consumer commits the offsets (./guarantee.ts).
 * - Purge (Kafka Streams' repartition purge, ./purge.ts): after a successful commit, at most every
 *   `purgeIntervalMs`, repartition records below the committed offsets are deleted; a failed purge
 *   is reported on the diagnostics channel and retried at the next one; it never fails the runtime.
 * - Faults (Kafka Streams' "task migrated" path): a commit refused because the member is no longer
 *   part of its group's generation (LOG_FENCED from the group), or failing with a retriable or
 *   transaction-state error (a broker restarting), aborts the transaction, closes the tasks without
 *   commit, and re-creates the tasks of the current assignment from the committed offsets with their
 *   state restored from the changelogs; the runtime goes on. Partitions lost by the consumer
 *   (`onPartitionsLost`: session expired, poll interval exceeded) are closed without commit the same
 *   way; the consumer rejoins and assigns again. Polls and restores ride out retriable errors under
 *   the one retry policy. Only a fenced producer (another process runs with this instance id) and
 *   non-retriable errors fail the runtime.
 * - Static membership (`staticMembership`): the instance id is the consumer's `group.instance.id`,
 *   so a restart within the session timeout gets its tasks back without a rebalance.
 * - Lifecycle: created → running → draining → stopped (or failed). `stop()` is idempotent: stop
 *   fetching, commit (sinks flushed first), close tasks and sinks, leave the group, close.
 * - Observability: `metrics()` (./runtime-metrics.ts) and events on the diagnostics channel
 *   `STREAMS_DIAGNOSTICS_CHANNEL`.
 * - Options, units and defaults: ./runtime-options.ts.
 */
import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { AppError, ErrorCode, isAppError } from '../errors/index.ts';
import { type Consumer, type Log, type TopicPartition, tpKey } from '../log/index.ts';
import { isRetriable, retry } from '../retry/index.ts';
import { BackPressure } from './back-pressure.ts';
import { CommitCycle } from './commit-cycle.ts';
import { type Committer, openCommitter } from './guarantee.ts';
import type { Topology } from './node.ts';
import { PartitionGroup } from './partition-group.ts';
import { RepartitionPurger } from './purge.ts';
import { CommitLatency, LagMonitor, type RuntimeMetrics, type RuntimeState } from './runtime-metrics.ts';
import {
  type ResolvedRuntimeOptions,
  resolveRuntimeOptions,
  type StreamsRuntimeOptions,
} from './runtime-options.ts';
import type { OutgoingRecord } from './task.ts';
import { TaskManager } from './task-manager.ts';
import { ensureTopics } from './topic-setup.ts';
import { buildTopology } from './topology.ts';

/** Events: `{ type: 'state' | 'commit' | 'purge' | 'error' | 'metrics', applicationId, instanceId, … }`. */
export const STREAMS_DIAGNOSTICS_CHANNEL = 'msgtrack:streams';

const channel = diagnostics.channel(STREAMS_DIAGNOSTICS_CHANNEL);
/** Records processed between two commit checks. */
const PROCESS_SLICE = 1_000;

/**
 * Errors after which the runtime recovers by the "task migrated" path instead of failing: the group
 * refused the member (LOG_FENCED: a fenced producer is told apart by its abort), a transaction in a
 * bad state, or anything retriable (a broker restarting, a connection cut).
 */
function isTaskMigration(err: unknown): boolean {
  return (
    isAppError(err, ErrorCode.LOG_FENCED) || isAppError(err, ErrorCode.LOG_TXN_STATE) || isRetriable(err)
  );
}

export class StreamsRuntime {
  readonly applicationId: string;
  readonly instanceId: string;
  readonly topology: Topology;
  readonly #log: Log;
  readonly #options: ResolvedRuntimeOptions;
  readonly #stopSignal = new AbortController();
  #subPartitions = new Map<number, number>();
  #migrations = 0;
  readonly #purger: RepartitionPurger;
  #state: RuntimeState = 'created';
  #consumer: Consumer | undefined;
  #committer: Committer | undefined;
  readonly #tasks: TaskManager;
  /** Fetched records not processed yet, and the choice of the next one (timestamp order). */
  readonly #buffer: PartitionGroup;
  /** Pauses partitions the buffer holds enough of. */
  readonly #backPressure = new BackPressure();
  /** Outputs and dead letters of all tasks since the last commit, in processing order. */
  readonly #outputs: OutgoingRecord[] = [];
  #loop: Promise<void> | undefined;
  #stopping = false;
  #stopPromise: Promise<void> | undefined;
  readonly #commits: CommitCycle;
  readonly #lag: LagMonitor;
  readonly #commitLatency = new CommitLatency();
  #failure: unknown;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;
  #rejectDone!: (err: unknown) => void;

  constructor(options: StreamsRuntimeOptions) {
    this.#log = options.log;
    this.applicationId = options.applicationId;
    this.instanceId = options.instanceId ?? randomUUID();
    this.topology = buildTopology(options.applicationId, options.topology);
    this.#options = resolveRuntimeOptions(options);
    const { clock, errorPolicies, idleAdvanceMs, maxPollRecords, purgeIntervalMs } = this.#options;
    this.#buffer = new PartitionGroup(maxPollRecords);
    this.#tasks = new TaskManager({
      log: this.#log,
      applicationId: this.applicationId,
      topology: this.topology,
      clock,
      errorPolicies,
      idleAdvanceMs,
      outputs: this.#outputs,
      withRetry: (stage, fn) => this.#withRetry(stage, fn),
    });
    const publish = (event: Record<string, unknown>): void => this.#publish(event);
    this.#purger = new RepartitionPurger({
      log: this.#log,
      clock,
      intervalMs: purgeIntervalMs,
      repartitionTopics: new Set(this.topology.repartitionTopics.map((r) => r.topic)),
      publish,
    });
    this.#commits = new CommitCycle({
      ...this.#options,
      tasks: this.#tasks,
      buffer: this.#buffer,
      outputs: this.#outputs,
      changelogTopic: this.topology.changelogTopic,
      purger: this.#purger,
      latency: this.#commitLatency,
      signal: this.#stopSignal.signal,
      publish,
    });
    this.#lag = new LagMonitor({
      log: this.#log,
      publish,
      onRefreshed: () => this.#publish({ type: 'metrics', ...this.metrics() }),
    });
    this.#done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    this.#done.catch(() => {});
  }

  get state(): RuntimeState {
    return this.#state;
  }

  /** Settles when the runtime has stopped (resolves) or failed (rejects with the cause). */
  get done(): Promise<void> {
    return this.#done;
  }

  #setState(to: RuntimeState): void {
    const from = this.#state;
    this.#state = to;
    this.#publish({ type: 'state', from, to });
  }

  #publish(event: Record<string, unknown>): void {
    if (channel.hasSubscribers) {
      channel.publish({ ...event, applicationId: this.applicationId, instanceId: this.instanceId });
    }
  }

  /** Create internal topics, join the group and start processing (in the background). */
  async start(): Promise<void> {
    if (this.#state !== 'created') {
      throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `start() in state ${this.#state}`);
    }
    this.#setState('running');
    const o = this.#options;
    try {
      const subPartitions = await ensureTopics(this.#log, this.topology);
      this.#subPartitions = subPartitions;
      this.#consumer = this.#log.consumer({
        groupId: this.applicationId,
        isolationLevel: 'read_committed',
        autoOffsetReset: 'earliest',
        maxPollRecords: o.maxPollRecords,
        clientId: `${this.applicationId}-${this.instanceId}`,
        ...(o.staticMembership ? { groupInstanceId: this.instanceId } : {}),
        ...(o.maxPollIntervalMs === undefined ? {} : { maxPollIntervalMs: o.maxPollIntervalMs }),
        ...(o.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: o.sessionTimeoutMs }),
      });
      this.#tasks.openRestoreConsumer();
      this.#committer = await openCommitter(
        o.processingGuarantee,
        this.#log,
        this.#consumer,
        `${this.applicationId}-${this.instanceId}`,
      );
      const topics = this.topology.subtopologies.flatMap((s) => s.sourceTopics);
      await this.#consumer.subscribe(topics, {
        onPartitionsRevoked: (tps) => this.#onRevoked(tps),
        onPartitionsLost: (tps) => this.#onLost(tps),
        onPartitionsAssigned: (tps) => this.#onAssigned(tps, subPartitions),
      });
      const now = o.clock.now();
      this.#commits.open(this.#consumer, this.#committer, now);
      this.#purger.start(now);
      this.#loop = this.#run();
    } catch (err) {
      await this.#fail(err);
      throw err;
    }
  }

  async #onAssigned(tps: readonly TopicPartition[], subPartitions: Map<number, number>): Promise<void> {
    await this.#tasks.assign(tps, subPartitions);
    this.#publish({ type: 'assigned', tasks: this.#tasks.ids() });
  }

  /** `fn`, retried on retriable errors until `faultDeadlineMs` (or stop). */
  #withRetry<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    return retry(fn, {
      deadlineMs: this.#options.faultDeadlineMs,
      initialDelayMs: 100,
      maxDelayMs: 2_000,
      signal: this.#stopSignal.signal,
      onRetry: (err, attempt) => this.#publish({ type: 'error', stage, retry: attempt, error: String(err) }),
    });
  }

  async #onRevoked(_tps: readonly TopicPartition[]): Promise<void> {
    if (this.#tasks.size === 0) return;
    try {
      await this.#commits.commit();
    } catch (err) {
      // A member kicked out of the group cannot commit: its tasks now belong to someone else, who
      // resumes from the last commit. The same when the commit failed for a retriable reason.
      if (!isTaskMigration(err)) throw err;
      await this.#abortOrFail(err);
    }
    await this.#closeTasks();
  }

  /** The member was removed from the group: close the tasks without commit (no zombie commit). */
  async #onLost(tps: readonly TopicPartition[]): Promise<void> {
    this.#publish({ type: 'partitions-lost', partitions: tps.map(tpKey) });
    await this.#closeTasks();
  }

  /**
   * After a failed commit (its transaction aborted): a producer that is fenced (another process runs
   * with this instance's transactional id) cannot go on: fail with `err`.
   */
  async #abortOrFail(err: unknown): Promise<void> {
    await (this.#committer as Committer).recover(err);
  }

  /**
   * "Task migrated": the commit failed (the transaction is aborted). Close the tasks without commit,
   * then re-create those of the current assignment from the committed offsets, restored from the
   * changelogs. A consumer that lost its membership rejoins in its next poll instead.
   */
  async #recover(err: unknown): Promise<void> {
    await this.#abortOrFail(err);
    this.#migrations++;
    this.#publish({ type: 'task-migrated', error: String(err), migrations: this.#migrations });
    await this.#closeTasks();
    const consumer = this.#consumer as Consumer;
    const assigned = consumer.assignment();
    if (assigned.length === 0) return;
    const committed = await this.#withRetry('recover', () => consumer.committed(assigned));
    const reset: TopicPartition[] = [];
    for (const tp of assigned) {
      const offset = committed.get(tpKey(tp));
      if (offset === undefined) reset.push(tp);
      else consumer.seek(tp, offset);
    }
    if (reset.length > 0) await this.#withRetry('recover', () => consumer.seekToBeginning(reset));
    await this.#onAssigned(assigned, this.#subPartitions);
  }

  async #closeTasks(): Promise<void> {
    await this.#tasks.close();
    this.#purger.clear();
    this.#dropBuffered();
  }

  /** Forget fetched records not processed (they are read again from the committed offsets). */
  #dropBuffered(): void {
    this.#buffer.clear();
    this.#commits.dropOutputs();
    this.#backPressure.resumeAll(this.#consumer);
  }

  async #run(): Promise<void> {
    const consumer = this.#consumer as Consumer;
    try {
      while (!this.#stopping) {
        // With records buffered, a poll only tops up (no waiting): see PartitionGroup.
        const timeoutMs = this.#buffer.size > 0 ? 0 : this.#options.pollTimeoutMs;
        const records = await this.#withRetry('poll', () => consumer.poll(timeoutMs));
        this.#buffer.add(records, consumer.assignment(), this.#backPressure.paused, (tp) =>
          this.#tasks.taskOf(tp),
        );
        this.#backPressure.apply(consumer, this.#buffer.overfull());
        // Processed in slices, with commits (and back-pressure) between slices, until the buffer is
        // empty or must be topped up.
        for (;;) {
          const n = this.#processSome(PROCESS_SLICE);
          for (const task of this.#tasks.values()) task.tick();
          const now = this.#options.clock.now();
          if (this.#commits.due(now)) {
            try {
              await this.#commits.commit();
            } catch (err) {
              if (!isTaskMigration(err) || this.#stopping) throw err;
              await this.#recover(err);
              break; // the buffered records are read again from the committed offsets
            }
          }
          this.#lag.maybeRefresh(now, consumer);
          if (n === 0 || this.#stopping) break;
          // Let the event loop run between slices: a poll of buffered data resolves without ever
          // leaving the microtask queue, so without this a busy runtime starves I/O callbacks (a
          // sink's insert completing) and timers of every other runtime in the process.
          await nextMacrotask();
        }
      }
    } catch (err) {
      await this.#fail(err);
    }
  }

  /**
   * Process up to `max` buffered records in timestamp order; stops early after a record that made a
   * sink want a flush, or when the buffer must be topped up. Returns the number processed.
   */
  #processSome(max: number): number {
    let n = 0;
    while (n < max) {
      const r = this.#buffer.next();
      if (r === undefined) break;
      n++;
      const task = this.#buffer.nextTask;
      task.processPrepared(r);
      if (task.sinks.length > 0 && task.sinks.some((sink) => sink.wantsFlush?.() === true)) break;
    }
    return n;
  }

  metrics(): RuntimeMetrics {
    return {
      state: this.#state,
      tasks: this.#tasks.ids().sort(),
      counters: this.#tasks.counters(),
      commits: this.#commitLatency.commits,
      commitLatencyMs: this.#commitLatency.snapshot(),
      stateEntries: this.#tasks.stateEntries(),
      lag: this.#lag.snapshot(),
    };
  }

  /** Stream time per task (tests, diagnostics). */
  streamTimes(): Record<string, number> {
    return this.#tasks.streamTimes();
  }

  async #fail(err: unknown): Promise<void> {
    if (this.#state === 'failed' || this.#state === 'stopped') return;
    this.#failure = err;
    this.#stopping = true;
    this.#stopSignal.abort();
    this.#publish({ type: 'error', stage: 'runtime', error: String(err) });
    await this.#release();
    this.#setState('failed');
    this.#rejectDone(err);
  }

  async #release(): Promise<void> {
    await this.#tasks.release();
    await this.#committer?.close().catch(() => {});
    await this.#consumer?.close().catch(() => {});
    await this.#tasks.closeRestoreConsumer();
  }

  /** Drain and stop: stop fetching, flush sinks, commit, close tasks, leave the group. Idempotent. */
  stop(): Promise<void> {
    this.#stopPromise ??= this.#stop();
    return this.#stopPromise;
  }

  async #stop(): Promise<void> {
    if (this.#state === 'created') {
      this.#setState('stopped');
      this.#resolveDone();
      return;
    }
    if (this.#state !== 'running') {
      await this.#done.catch(() => {});
      return;
    }
    this.#setState('draining');
    this.#stopping = true;
    await this.#loop;
    if ((this.#state as RuntimeState) === 'failed') return;
    try {
      try {
        await this.#commits.commit();
      } catch (err) {
        // The next owner of the tasks resumes from the last commit.
        if (!isTaskMigration(err)) throw err;
        await this.#abortOrFail(err);
      }
      this.#stopSignal.abort();
      await this.#closeTasks();
      await this.#consumer?.close();
      await this.#release();
    } catch (err) {
      await this.#fail(err);
      return;
    }
    this.#setState('stopped');
    this.#resolveDone();
  }

  /** The failure that stopped the runtime, if any. */
  get failure(): unknown {
    return this.#failure;
  }
}

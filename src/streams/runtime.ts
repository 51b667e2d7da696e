/**
 * `StreamsRuntime`: runs a topology on a `Log` with exactly-once semantics (or at-least-once:
 * `processingGuarantee`, see ./guarantee.ts).
 *
 * - One consumer per instance in the group `<applicationId>` (read_committed), subscribed to every
 *   source topic (user and repartition). Tasks are created per (sub-topology, partition) from the
 *   assignment; co-partitioned sources of a sub-topology must have equal partition counts, and the
 *   range assignment gives one member the same partition numbers of each.
 * - Processing order (Kafka Streams' PartitionGroup, partition-group.ts): polled records are buffered
 *   per partition and processed head by head in event-time order across all of the instance's tasks;
 *   a partition whose last fetch returned records is fetched again before anything newer is
 *   processed, and a partition holding `maxPollRecords` buffered records is paused. Outputs of all
 *   tasks are written in processing order. So a backlog goes through in event-time order, and
 *   re-keyed records reach their repartition topic in about timestamp order.
 * - A new task restores its stores from `<applicationId>-<store>-changelog` (read_committed, up to
 *   the last stable offset) before it processes anything.
 * - Commit (every `commitIntervalMs`, default 100 ms; earlier when outputs pile up or a sink wants a
 *   flush): await every external sink's `flush()`, then one transaction of the instance's
 *   transactional producer `<applicationId>-<instanceId>` carries all outputs, dead letters,
 *   changelog records and the input offsets (`sendOffsets` with the consumer's group metadata, so a
 *   member fenced by a rebalance cannot commit). A crash before the commit point leaves nothing
 *   visible, after it everything: a restart resumes from the last commit with the state of that
 *   commit. With `processingGuarantee: 'at_least_once'` the outputs and changelog records are sent
 *   without a transaction and acknowledged before the consumer commits the offsets (./guarantee.ts).
 * - Purge (Kafka Streams' repartition purge): after a successful commit, at most every
 *   `purgeIntervalMs`, the records of each repartition partition this instance's tasks consume are
 *   deleted below the offset committed for it (`Log.deleteRecords`): the group never reads below its
 *   committed offsets, so repartition topics (kept without retention) stay bounded. A failed purge is
 *   reported on the diagnostics channel and retried at the next one; it never fails the runtime.
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
 * - Observability: `metrics()` and events on the diagnostics channel `STREAMS_DIAGNOSTICS_CHANNEL`.
 */
import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { type Clock, systemClock } from '../clock/index.ts';
import { AppError, ErrorCode, isAppError } from '../errors/index.ts';
import {
  CleanupPolicy,
  type Consumer,
  type Log,
  type ProducerRecord,
  type TopicPartition,
  type TopicPartitionOffset,
  type TopicSpec,
  tpKey,
} from '../log/index.ts';
import { isRetriable, retry } from '../retry/index.ts';
import { dlqTopicOf } from './dead-letter.ts';
import { type Committer, openCommitter, ProcessingGuarantee } from './guarantee.ts';
import type { SubTopology, Topology } from './node.ts';
import { PartitionGroup } from './partition-group.ts';
import { newCounters, type OutgoingRecord, StreamTask, type TaskCounters } from './task.ts';
import { buildTopology, type StreamsBuilder } from './topology.ts';
import type { ErrorPolicies, ExternalSink } from './types.ts';

/** Events: `{ type: 'state' | 'commit' | 'purge' | 'error' | 'metrics', applicationId, instanceId, … }`. */
export const STREAMS_DIAGNOSTICS_CHANNEL = 'msgtrack:streams';

export type RuntimeState = 'created' | 'running' | 'draining' | 'stopped' | 'failed';

export interface StreamsRuntimeOptions {
  readonly log: Log;
  /** Names the consumer group, the transactional id and the internal topics. */
  readonly applicationId: string;
  readonly topology: (builder: StreamsBuilder) => void;
  /** Identifies this instance (transactional id suffix); default a random UUID. */
  readonly instanceId?: string;
  readonly clock?: Clock;
  /** Default 100 ms. */
  readonly commitIntervalMs?: number;
  /** Stream-time idle advance (see task.ts); default 2 000 ms; null disables. */
  readonly idleAdvanceMs?: number | null;
  readonly errorPolicies?: ErrorPolicies;
  /**
   * Records per poll. Default 10 000 (processed in slices, with a commit check between slices).
   */
  readonly maxPollRecords?: number;
  /** Poll wait when there is nothing to read (also the wall-clock tick). Default 50 ms. */
  readonly pollTimeoutMs?: number;
  /** Commit early when this many output records are buffered. Default 20 000. */
  readonly maxBufferedRecords?: number;
  /** Retries of a sink flush failing with a retriable error (back-off 100 ms doubling to 5 s). Default 5. */
  readonly sinkFlushRetries?: number;
  /**
   * Least time between two purges of the repartition topics (after a commit), ms, on the runtime's
   * clock. Default 30 000 (Kafka Streams' repartition.purge.interval.ms); 0 purges after every commit.
   */
  readonly purgeIntervalMs?: number;
  /** Use the instance id as the consumer's `group.instance.id` (static membership). Default false. */
  readonly staticMembership?: boolean;
  /** The consumer's `max.poll.interval.ms` (see the Log port). Default: the adapter's (300 000). */
  readonly maxPollIntervalMs?: number;
  /** The consumer's `session.timeout.ms` (see the Log port). Default: the adapter's (10 000). */
  readonly sessionTimeoutMs?: number;
  /** How long (ms) polls and restores retry retriable errors before the runtime fails. Default 300 000. */
  readonly faultDeadlineMs?: number;
  /** `exactly_once` (default) or `at_least_once` (no transactions; see ./guarantee.ts). */
  readonly processingGuarantee?: ProcessingGuarantee;
}

export interface RuntimeMetrics {
  readonly state: RuntimeState;
  readonly tasks: readonly string[];
  readonly counters: TaskCounters;
  readonly commits: number;
  readonly commitLatencyMs: { readonly last: number; readonly max: number; readonly avg: number };
  /** Entries held by the stores of this instance's tasks. */
  readonly stateEntries: number;
  /** Per `topic:partition`: last stable offset − position, refreshed about every second. */
  readonly lag: Readonly<Record<string, number>>;
}

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
  readonly #clock: Clock;
  readonly #commitIntervalMs: number;
  readonly #idleAdvanceMs: number | null;
  readonly #errorPolicies: Required<ErrorPolicies>;
  readonly #maxPollRecords: number;
  readonly #pollTimeoutMs: number;
  readonly #maxBuffered: number;
  readonly #sinkRetries: number;
  readonly #purgeIntervalMs: number;
  readonly #staticMembership: boolean;
  readonly #maxPollIntervalMs: number | undefined;
  readonly #sessionTimeoutMs: number | undefined;
  readonly #faultDeadlineMs: number;
  readonly #guarantee: ProcessingGuarantee;
  readonly #stopSignal = new AbortController();
  #subPartitions = new Map<number, number>();
  #migrations = 0;
  readonly #repartitionTopics: ReadonlySet<string>;
  /** Offsets committed for repartition partitions of this instance's tasks, not purged yet. */
  readonly #toPurge = new Map<string, TopicPartitionOffset>();
  #lastPurge = 0;
  #state: RuntimeState = 'created';
  #consumer: Consumer | undefined;
  #restoreConsumer: Consumer | undefined;
  #committer: Committer | undefined;
  readonly #tasks = new Map<string, StreamTask>();
  readonly #taskByTp = new Map<string, StreamTask>();
  /** Fetched records not processed yet, and the choice of the next one (timestamp order). */
  #buffer: PartitionGroup;
  /** Partitions paused because the buffer holds enough of their records. */
  readonly #paused = new Set<string>();
  /** Outputs and dead letters of all tasks since the last commit, in processing order. */
  readonly #outputs: OutgoingRecord[] = [];
  #loop: Promise<void> | undefined;
  #stopping = false;
  #stopPromise: Promise<void> | undefined;
  #lastCommit = 0;
  #lastLag = 0;
  #lagRefresh: Promise<void> | undefined;
  #lag: Record<string, number> = {};
  readonly #closedCounters: TaskCounters = newCounters();
  #commits = 0;
  #commitLast = 0;
  #commitMax = 0;
  #commitTotal = 0;
  #failure: unknown;
  readonly #done: Promise<void>;
  #resolveDone!: () => void;
  #rejectDone!: (err: unknown) => void;

  constructor(options: StreamsRuntimeOptions) {
    this.#log = options.log;
    this.applicationId = options.applicationId;
    this.instanceId = options.instanceId ?? randomUUID();
    this.topology = buildTopology(options.applicationId, options.topology);
    this.#clock = options.clock ?? systemClock;
    this.#commitIntervalMs = options.commitIntervalMs ?? 100;
    this.#idleAdvanceMs = options.idleAdvanceMs === undefined ? 2_000 : options.idleAdvanceMs;
    this.#errorPolicies = {
      deserialization: options.errorPolicies?.deserialization ?? 'dead-letter',
      processing: options.errorPolicies?.processing ?? 'dead-letter',
      late: options.errorPolicies?.late ?? 'drop',
    };
    this.#maxPollRecords = options.maxPollRecords ?? 10_000;
    this.#buffer = new PartitionGroup(this.#maxPollRecords);
    this.#pollTimeoutMs = options.pollTimeoutMs ?? 50;
    this.#maxBuffered = options.maxBufferedRecords ?? 20_000;
    this.#sinkRetries = options.sinkFlushRetries ?? 5;
    this.#purgeIntervalMs = options.purgeIntervalMs ?? 30_000;
    if (!(Number.isFinite(this.#purgeIntervalMs) && this.#purgeIntervalMs >= 0)) {
      throw new AppError(
        ErrorCode.CONFIG_INVALID,
        `purgeIntervalMs must be a finite number >= 0 (ms), got ${String(options.purgeIntervalMs)}`,
        { context: { key: 'purgeIntervalMs' } },
      );
    }
    this.#staticMembership = options.staticMembership ?? false;
    this.#maxPollIntervalMs = options.maxPollIntervalMs;
    this.#sessionTimeoutMs = options.sessionTimeoutMs;
    this.#faultDeadlineMs = options.faultDeadlineMs ?? 300_000;
    this.#guarantee = options.processingGuarantee ?? ProcessingGuarantee.EXACTLY_ONCE;
    this.#repartitionTopics = new Set(this.topology.repartitionTopics.map((r) => r.topic));
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
    try {
      const subPartitions = await this.#ensureTopics();
      this.#subPartitions = subPartitions;
      this.#consumer = this.#log.consumer({
        groupId: this.applicationId,
        isolationLevel: 'read_committed',
        autoOffsetReset: 'earliest',
        maxPollRecords: this.#maxPollRecords,
        clientId: `${this.applicationId}-${this.instanceId}`,
        ...(this.#staticMembership ? { groupInstanceId: this.instanceId } : {}),
        ...(this.#maxPollIntervalMs === undefined ? {} : { maxPollIntervalMs: this.#maxPollIntervalMs }),
        ...(this.#sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: this.#sessionTimeoutMs }),
      });
      this.#restoreConsumer = this.#log.consumer({
        groupId: `${this.applicationId}-restore`,
        isolationLevel: 'read_committed',
        autoOffsetReset: 'earliest',
        maxPollRecords: 10_000,
      });
      this.#committer = await openCommitter(
        this.#guarantee,
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
      this.#lastCommit = this.#clock.now();
      this.#lastPurge = this.#lastCommit;
      this.#loop = this.#run();
    } catch (err) {
      await this.#fail(err);
      throw err;
    }
  }

  /** Partitions per sub-topology; creates repartition, changelog and dead-letter topics. */
  async #ensureTopics(): Promise<Map<number, number>> {
    const t = this.topology;
    const repartition = new Set(t.repartitionTopics.map((r) => r.topic));
    const partitionsOf = new Map<string, number>();
    for (const sub of t.subtopologies) {
      for (const topic of sub.sourceTopics) {
        if (repartition.has(topic)) continue;
        partitionsOf.set(topic, (await this.#log.describeTopic(topic)).partitions);
      }
    }
    // Repartition topics: explicit count, or the most partitions among the writer's sources.
    let pending = [...t.repartitionTopics];
    while (pending.length > 0) {
      const next = pending.filter((r) => {
        if (r.partitions !== undefined) {
          partitionsOf.set(r.topic, r.partitions);
          return false;
        }
        const writer = t.subtopologies[r.writer] as SubTopology;
        const counts = writer.sourceTopics.map((s) => partitionsOf.get(s));
        if (counts.some((c) => c === undefined)) return true;
        partitionsOf.set(r.topic, Math.max(...(counts as number[])));
        return false;
      });
      if (next.length === pending.length) {
        throw new AppError(ErrorCode.STREAMS_TOPOLOGY, 'cannot size repartition topics (cycle)');
      }
      pending = next;
    }
    const subPartitions = new Map<number, number>();
    for (const sub of t.subtopologies) {
      const counts = new Set(sub.sourceTopics.map((s) => partitionsOf.get(s) as number));
      if (counts.size !== 1) {
        throw new AppError(
          ErrorCode.STREAMS_TOPOLOGY,
          `co-partitioned topics ${sub.sourceTopics.join(', ')} have different partition counts`,
        );
      }
      subPartitions.set(sub.id, [...counts][0] as number);
    }
    const specs: TopicSpec[] = [];
    for (const r of t.repartitionTopics) {
      // Kept until explicitly purged: event-time timestamps must not make retention drop unread data.
      specs.push({ name: r.topic, partitions: partitionsOf.get(r.topic) as number, retentionMs: null });
    }
    for (const sub of t.subtopologies) {
      const n = subPartitions.get(sub.id) as number;
      for (const store of sub.stores) {
        specs.push({
          name: t.changelogTopic(store),
          partitions: n,
          retentionMs: null,
          cleanupPolicy: CleanupPolicy.COMPACT,
        });
      }
      for (const topic of sub.sourceTopics) specs.push({ name: dlqTopicOf(topic), partitions: n });
    }
    await this.#log.createTopics(specs);
    const missing: string[] = [];
    for (const topic of t.outputTopics) {
      try {
        await this.#log.describeTopic(topic);
      } catch (err) {
        if (isAppError(err, ErrorCode.LOG_UNKNOWN_TOPIC)) missing.push(topic);
        else throw err;
      }
    }
    if (missing.length > 0) {
      throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `output topics do not exist: ${missing.join(', ')}`);
    }
    return subPartitions;
  }

  async #onAssigned(tps: readonly TopicPartition[], subPartitions: Map<number, number>): Promise<void> {
    const assigned = new Set(tps.map(tpKey));
    for (const sub of this.topology.subtopologies) {
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
          topology: this.topology,
          sub,
          partition: p,
          clock: this.#clock,
          errorPolicies: this.#errorPolicies,
          idleAdvanceMs: this.#idleAdvanceMs,
          outputs: this.#outputs,
        });
        await this.#withRetry('restore', () => this.#restore(task));
        this.#tasks.set(task.id, task);
        for (const topic of sub.sourceTopics) this.#taskByTp.set(tpKey({ topic, partition: p }), task);
      }
    }
    this.#publish({ type: 'assigned', tasks: [...this.#tasks.keys()] });
  }

  /** `fn`, retried on retriable errors until `faultDeadlineMs` (or stop). */
  #withRetry<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    return retry(fn, {
      deadlineMs: this.#faultDeadlineMs,
      initialDelayMs: 100,
      maxDelayMs: 2_000,
      signal: this.#stopSignal.signal,
      onRetry: (err, attempt) => this.#publish({ type: 'error', stage, retry: attempt, error: String(err) }),
    });
  }

  /** Restore a task's stores from their changelogs (from the beginning: a retry starts over). */
  async #restore(task: StreamTask): Promise<void> {
    const consumer = this.#restoreConsumer as Consumer;
    for (const store of task.sub.stores) {
      const tp = { topic: this.topology.changelogTopic(store), partition: task.partition };
      const end = (await this.#log.partitionOffsets(tp.topic, tp.partition)).lastStable;
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

  async #onRevoked(_tps: readonly TopicPartition[]): Promise<void> {
    if (this.#tasks.size === 0) return;
    try {
      await this.#commit();
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
    for (const task of this.#tasks.values()) {
      task.close();
      for (const sink of task.sinks) await sink.close?.();
      for (const k of Object.keys(this.#closedCounters) as Array<keyof TaskCounters>) {
        this.#closedCounters[k] += task.counters[k];
      }
    }
    this.#tasks.clear();
    this.#taskByTp.clear();
    this.#toPurge.clear();
    this.#dropBuffered();
  }

  /** Forget fetched records not processed (they are read again from the committed offsets). */
  #dropBuffered(): void {
    this.#buffer.clear();
    this.#outputs.length = 0;
    if (this.#paused.size === 0) return;
    const consumer = this.#consumer as Consumer;
    const resume = consumer.assignment().filter((tp) => this.#paused.has(tpKey(tp)));
    this.#paused.clear();
    if (resume.length > 0) consumer.resume(resume);
  }

  async #run(): Promise<void> {
    const consumer = this.#consumer as Consumer;
    try {
      while (!this.#stopping) {
        // With records buffered, a poll only tops up (no waiting): see PartitionGroup.
        const timeoutMs = this.#buffer.size > 0 ? 0 : this.#pollTimeoutMs;
        const records = await this.#withRetry('poll', () => consumer.poll(timeoutMs));
        this.#buffer.add(records, consumer.assignment(), this.#paused, (tp) => this.#taskByTp.get(tpKey(tp)));
        this.#applyPauses(consumer);
        // Processed in slices, with commits (and back-pressure) between slices, until the buffer is
        // empty or must be topped up.
        for (;;) {
          const n = this.#processSome(PROCESS_SLICE);
          for (const task of this.#tasks.values()) task.tick();
          const now = this.#clock.now();
          if (now - this.#lastCommit >= this.#commitIntervalMs || this.#needsEarlyCommit()) {
            try {
              await this.#commit();
            } catch (err) {
              if (!isTaskMigration(err) || this.#stopping) throw err;
              await this.#recover(err);
              break; // the buffered records are read again from the committed offsets
            }
          }
          // In the background: on Kafka a lag refresh is a few round trips per partition.
          if (now - this.#lastLag >= 1_000 && this.#lagRefresh === undefined) {
            this.#lagRefresh = this.#refreshLag(now).finally(() => {
              this.#lagRefresh = undefined;
            });
          }
          if (n === 0 || this.#stopping) break;
        }
      }
    } catch (err) {
      await this.#fail(err);
    }
  }

  /** Pause the partitions the buffer holds enough of, resume the others (Kafka Streams' back-pressure). */
  #applyPauses(consumer: Consumer): void {
    const full = new Set(this.#buffer.overfull().map(tpKey));
    const pause: TopicPartition[] = [];
    const resume: TopicPartition[] = [];
    for (const tp of consumer.assignment()) {
      const key = tpKey(tp);
      if (full.has(key) && !this.#paused.has(key)) {
        pause.push(tp);
        this.#paused.add(key);
      } else if (!full.has(key) && this.#paused.has(key)) {
        resume.push(tp);
        this.#paused.delete(key);
      }
    }
    if (pause.length > 0) consumer.pause(pause);
    if (resume.length > 0) consumer.resume(resume);
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

  #needsEarlyCommit(): boolean {
    for (const task of this.#tasks.values()) {
      for (const sink of task.sinks) if (sink.wantsFlush?.() === true) return true;
    }
    return this.#outputs.length >= this.#maxBuffered;
  }

  async #flushSink(sink: ExternalSink<unknown, unknown>): Promise<void> {
    await retry(() => sink.flush(), {
      deadlineMs: Number.POSITIVE_INFINITY,
      maxAttempts: this.#sinkRetries + 1,
      initialDelayMs: 100,
      maxDelayMs: 5_000,
      signal: this.#stopSignal.signal,
      onRetry: (err, attempt) =>
        this.#publish({ type: 'error', stage: 'sink-flush', retry: attempt, error: String(err) }),
    });
  }

  /**
   * One commit (a transaction under exactly-once): sinks flushed, outputs (in processing order) +
   * changelogs + offsets of every task with progress. The offset committed for a partition with
   * nothing buffered is the consumer's position (past transaction markers), otherwise the next offset
   * after the last processed record.
   */
  async #commit(): Promise<void> {
    const started = performance.now();
    this.#lastCommit = this.#clock.now();
    // Also tasks whose consumer position moved past transaction markers since their last commit, so
    // committed offsets reach the end of the partition (consumer lag 0).
    const tasks = [...this.#tasks.values()].filter((t) => t.hasProgress || this.#positionAhead(t));
    if (tasks.length === 0) return;
    for (const task of tasks) for (const sink of task.sinks) await this.#flushSink(sink);
    const byTopic = new Map<string, ProducerRecord[]>();
    const add = (r: OutgoingRecord): void => {
      let list = byTopic.get(r.topic);
      if (list === undefined) {
        list = [];
        byTopic.set(r.topic, list);
      }
      list.push(r); // an OutgoingRecord is a ProducerRecord (its `topic` is not read): no copy per record
    };
    const offsets: TopicPartitionOffset[] = [];
    let records = 0;
    for (const r of this.#outputs) add(r);
    this.#outputs.length = 0;
    for (const task of tasks) {
      for (const r of task.takeChangelog(this.topology.changelogTopic)) add(r);
      const consumed = new Map(task.takeOffsets().map((o) => [o.topic, o.offset]));
      for (const topic of task.sub.sourceTopics) {
        const processed = consumed.get(topic);
        const tp = { topic, partition: task.partition };
        const offset = this.#buffer.isDrained(tp)
          ? this.#position(topic, task.partition, processed ?? -1)
          : (processed ?? -1);
        if (offset >= 0 && offset !== task.committedOffsets.get(topic)) {
          offsets.push({ topic, partition: task.partition, offset });
        }
      }
    }
    for (const list of byTopic.values()) records += list.length;
    await (this.#committer as Committer).commit(byTopic, offsets);
    for (const o of offsets) this.#taskByTp.get(tpKey(o))?.committedOffsets.set(o.topic, o.offset);
    const ms = performance.now() - started;
    this.#commits++;
    this.#commitLast = ms;
    this.#commitTotal += ms;
    if (ms > this.#commitMax) this.#commitMax = ms;
    this.#publish({
      type: 'commit',
      durationMs: ms,
      records,
      offsets: offsets.length,
      counters: this.#counters(),
    });
    for (const o of offsets) if (this.#repartitionTopics.has(o.topic)) this.#toPurge.set(tpKey(o), o);
    if (this.#toPurge.size > 0 && this.#clock.now() - this.#lastPurge >= this.#purgeIntervalMs) {
      await this.#purge();
    }
  }

  /**
   * Delete the repartition records below the committed offsets (they are never read again). Failures
   * are reported and the partitions retried at the next purge.
   */
  async #purge(): Promise<void> {
    this.#lastPurge = this.#clock.now();
    const started = performance.now();
    const pending = [...this.#toPurge];
    const done = await Promise.all(
      pending.map(async ([key, o]) => {
        try {
          await this.#log.deleteRecords(o.topic, o.partition, o.offset);
          // A newer commit may have replaced the entry meanwhile: keep that one.
          if (this.#toPurge.get(key) === o) this.#toPurge.delete(key);
          return true;
        } catch (err) {
          this.#publish({
            type: 'error',
            stage: 'purge',
            topic: o.topic,
            partition: o.partition,
            offset: o.offset,
            error: String(err),
          });
          return false;
        }
      }),
    );
    this.#publish({
      type: 'purge',
      durationMs: performance.now() - started,
      partitions: done.filter(Boolean).length,
      failed: done.filter((ok) => !ok).length,
    });
  }

  #positionAhead(task: StreamTask): boolean {
    for (const topic of task.sub.sourceTopics) {
      if (!this.#buffer.isDrained({ topic, partition: task.partition })) continue;
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

  async #refreshLag(now: number): Promise<void> {
    this.#lastLag = now;
    const consumer = this.#consumer as Consumer;
    const lag: Record<string, number> = {};
    await Promise.all(
      consumer.assignment().map(async (tp) => {
        try {
          const { lastStable } = await this.#log.partitionOffsets(tp.topic, tp.partition);
          lag[tpKey(tp)] = Math.max(0, lastStable - consumer.position(tp));
        } catch (err) {
          // revoked meanwhile, or the broker is unreachable for a moment: lag is a metric, not a reason to stop
          this.#publish({ type: 'error', stage: 'lag', partition: tpKey(tp), error: String(err) });
        }
      }),
    );
    this.#lag = lag;
    this.#publish({ type: 'metrics', ...this.metrics() });
  }

  #counters(): TaskCounters {
    const total = { ...this.#closedCounters };
    for (const task of this.#tasks.values()) {
      for (const k of Object.keys(total) as Array<keyof TaskCounters>) total[k] += task.counters[k];
    }
    return total;
  }

  metrics(): RuntimeMetrics {
    let stateEntries = 0;
    for (const task of this.#tasks.values()) stateEntries += task.stateSize();
    return {
      state: this.#state,
      tasks: [...this.#tasks.keys()].sort(),
      counters: this.#counters(),
      commits: this.#commits,
      commitLatencyMs: {
        last: this.#commitLast,
        max: this.#commitMax,
        avg: this.#commits === 0 ? 0 : this.#commitTotal / this.#commits,
      },
      stateEntries,
      lag: { ...this.#lag },
    };
  }

  /** Stream time per task (tests, diagnostics). */
  streamTimes(): Record<string, number> {
    return Object.fromEntries([...this.#tasks].map(([id, t]) => [id, t.streamTimeMs]));
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
    for (const task of this.#tasks.values()) {
      task.close();
      for (const sink of task.sinks) await sink.close?.().catch(() => {});
    }
    this.#tasks.clear();
    this.#taskByTp.clear();
    await this.#committer?.close().catch(() => {});
    await this.#consumer?.close().catch(() => {});
    await this.#restoreConsumer?.close().catch(() => {});
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
        await this.#commit();
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

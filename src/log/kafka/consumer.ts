/**
 * A `Consumer` of the `Log` port on Apache Kafka.
 *
 * Fetching goes through `@platformatic/kafka`'s `Consumer.fetch` (fetch sessions, retries, leader
 * routing); everything above it is ours, because the port is pull-based (`poll`) while the library's
 * consumer is a push stream that owns offsets and rebalances:
 * - Group membership is Kafka's classic protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) with
 *   the eager "range" assignor, driven from `poll` as the Java client does. A heartbeat answered with
 *   REBALANCE_IN_PROGRESS marks the member for rejoin; its next `poll` calls `onPartitionsRevoked`
 *   with everything it owns (offsets committed there still belong to the current generation), then
 *   rejoins; when the join completes a later `poll` starts each partition at the group's committed
 *   offset (or `autoOffsetReset`) and calls `onPartitionsAssigned`. A `poll` waits for a pending join
 *   at most its timeout, so members polling side by side never block each other.
 * - Records are fetched only inside `poll`, and only once no unpaused partition has buffered records:
 *   the buffer holds what one fetch returned beyond `maxPollRecords` (bounded by `FETCH_MAX_BYTES`).
 * - A subscribed topic that is created (or grows) after the join triggers a rebalance: members check
 *   partition counts every `METADATA_CHECK_MS`.
 * - read_committed filtering is done here as the Java client does (aborted-transaction list plus
 *   abort markers), and control batches (transaction markers) are skipped: their offsets are never
 *   returned, but positions move past them.
 */

import {
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
  FetchIsolationLevels,
  FindCoordinatorKeyTypes,
  type fetchV17,
  type joinGroupV9,
  Consumer as LibConsumer,
  type RecordsBatch,
  type syncGroupV5,
} from '@platformatic/kafka';
import { AppError, ErrorCode } from '../../errors/index.ts';
import {
  type Consumer,
  type ConsumerGroupMetadata,
  type ConsumerOptions,
  type LogRecord,
  type OffsetReset,
  type RebalanceListener,
  type TopicPartition,
  type TopicPartitionOffset,
  tpKey,
} from '../types.ts';
import { hasApiId, isUnknownTopicError, toAppError } from './errors.ts';
import { callApi, callBootstrap, getMetadata, sleep, within } from './wire.ts';

type FetchRequestTopic = fetchV17.FetchRequestTopic;
type FetchResponse = fetchV17.FetchResponse;
type FetchResponsePartition = fetchV17.FetchResponsePartition;
type JoinGroupResponse = joinGroupV9.JoinGroupResponse;
type SyncGroupResponse = syncGroupV5.SyncGroupResponse;

/** Session timeout (ms): a member that stops heartbeating for this long leaves the group. */
const SESSION_TIMEOUT_MS = 10_000;
/** Rebalance timeout (ms): how long a rebalance waits for members to rejoin (their `poll`). */
const REBALANCE_TIMEOUT_MS = 30_000;
/** Heartbeat interval (ms): also how quickly a member learns that a rebalance started. */
const HEARTBEAT_INTERVAL_MS = 300;
/** Longest broker-side wait (ms) of one fetch inside `poll`. */
const FETCH_MAX_WAIT_MS = 500;
const FETCH_MAX_BYTES = 16 * 1024 * 1024;
const PARTITION_MAX_BYTES = 1024 * 1024;
/** Record batch attribute bits (Kafka's RecordBatch). */
const ATTR_LOG_APPEND_TIME = 0x08;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;
const ASSIGNOR = 'range';
/** How often (ms) a member checks its subscribed topics' partition counts. */
const METADATA_CHECK_MS = 3_000;

const COORDINATOR_MOVED = ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS'];
const MEMBER_GONE = ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID'];

export interface KafkaClientSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

interface PartitionState {
  readonly tp: TopicPartition;
  /** Next offset to fetch; undefined until resolved from the committed offset or the reset policy. */
  fetchPosition: number | undefined;
  paused: boolean;
  /** Fetched records not yet returned by `poll`, in offset order. */
  buffer: LogRecord[];
}

interface JoinResult {
  readonly generationId: number;
  readonly memberId: string;
  readonly assignment: TopicPartition[];
  /** Partition counts of the subscribed topics right after the join (undefined: no such topic). */
  readonly partitionCounts: Map<string, number | undefined>;
}

export class KafkaConsumer implements Consumer {
  readonly groupId: string;
  readonly #client: LibConsumer;
  readonly #readCommitted: boolean;
  readonly #reset: OffsetReset;
  readonly #maxPoll: number;
  readonly #onClosed: (c: KafkaConsumer) => void;
  #mode: 'none' | 'subscribe' | 'assign' = 'none';
  #subscription: string[] = [];
  #listener: RebalanceListener | undefined;
  #memberId = '';
  #generationId = -1;
  #coordinator: number | undefined;
  #rejoinNeeded = false;
  #join: Promise<JoinResult | AppError> | undefined;
  #joinedCounts = new Map<string, number | undefined>();
  #countsCheckedAt = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #partitions = new Map<string, PartitionState>();
  /** Resolving start positions (after assign() or a rebalance); awaited by poll. */
  #resolving: Promise<void> | undefined;
  #rr = 0;
  #polling = false;
  #closed = false;

  constructor(settings: KafkaClientSettings, options: ConsumerOptions, onClosed: (c: KafkaConsumer) => void) {
    if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'consumer groupId must be a non-empty string');
    }
    this.groupId = options.groupId;
    this.#readCommitted = (options.isolationLevel ?? 'read_committed') === 'read_committed';
    this.#reset = options.autoOffsetReset ?? 'earliest';
    this.#maxPoll = options.maxPollRecords ?? 500;
    if (!Number.isInteger(this.#maxPoll) || this.#maxPoll <= 0) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'maxPollRecords must be a positive integer', {
        context: { maxPollRecords: this.#maxPoll },
      });
    }
    this.#onClosed = onClosed;
    this.#client = new LibConsumer({
      clientId: options.clientId ?? `${settings.clientId}-consumer`,
      bootstrapBrokers: [...settings.brokers],
      groupId: options.groupId,
      // A JoinGroup is answered only when the rebalance completes: allow for the rebalance timeout.
      timeout: REBALANCE_TIMEOUT_MS + 5_000,
      retries: 3,
      retryDelay: 200,
      metadataMaxAge: 30_000,
      isolationLevel: this.#readCommitted
        ? FetchIsolationLevels.READ_COMMITTED
        : FetchIsolationLevels.READ_UNCOMMITTED,
    });
  }

  // ---- subscription and assignment -------------------------------------------------------------

  async subscribe(topics: readonly string[], listener?: RebalanceListener): Promise<void> {
    this.#assertOpen();
    if (this.#mode === 'assign') {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'subscribe() after assign() on the same consumer');
    }
    this.#mode = 'subscribe';
    this.#subscription = [...new Set(topics)].sort();
    this.#listener = listener;
    this.#client.topics.trackAll(...this.#subscription);
    // Joining happens in poll (as Kafka's consumer does): a member that joins here would block the
    // caller until every other member rejoined.
    this.#rejoinNeeded = true;
  }

  assign(partitions: readonly TopicPartition[]): void {
    this.#assertOpen();
    if (this.#mode === 'subscribe') {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'assign() after subscribe() on the same consumer');
    }
    this.#mode = 'assign';
    this.#setAssignment(dedupe(partitions));
  }

  assignment(): TopicPartition[] {
    return [...this.#partitions.values()].map((s) => ({ ...s.tp }));
  }

  #setAssignment(tps: TopicPartition[]): void {
    const next = new Map<string, PartitionState>();
    for (const tp of tps) {
      const key = tpKey(tp);
      next.set(key, this.#partitions.get(key) ?? { tp, fetchPosition: undefined, paused: false, buffer: [] });
      this.#client.topics.track(tp.topic);
    }
    this.#partitions = next;
    if (tps.length > 0) this.#startResolving();
  }

  /** Resolve the start position of every partition that has none (committed, else the reset policy). */
  #startResolving(): void {
    const previous = this.#resolving ?? Promise.resolve();
    const run = previous.then(() => this.#resolvePositions());
    const tracked: Promise<void> = run.finally(() => {
      if (this.#resolving === tracked) this.#resolving = undefined;
    });
    this.#resolving = tracked;
    tracked.catch(() => {}); // surfaced by the next poll
  }

  async #resolvePositions(): Promise<void> {
    const unresolved = [...this.#partitions.values()].filter((s) => s.fetchPosition === undefined);
    if (unresolved.length === 0) return;
    const committed = await this.#fetchCommitted(
      unresolved.map((s) => s.tp),
      this.#readCommitted,
    );
    const toReset: PartitionState[] = [];
    for (const s of unresolved) {
      const c = committed.get(tpKey(s.tp));
      if (c === undefined) toReset.push(s);
      else if (s.fetchPosition === undefined) s.fetchPosition = c;
    }
    if (toReset.length > 0) {
      const offsets = await this.#listOffsets(
        toReset.map((s) => s.tp),
        this.#reset,
      );
      for (const s of toReset) if (s.fetchPosition === undefined) s.fetchPosition = offsets.get(tpKey(s.tp));
    }
  }

  // ---- poll ------------------------------------------------------------------------------------

  async poll(timeoutMs: number): Promise<LogRecord[]> {
    this.#assertOpen();
    if (this.#polling) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'poll() called while another poll() is running');
    }
    this.#polling = true;
    const deadline = performance.now() + Math.max(0, timeoutMs);
    try {
      for (;;) {
        if (this.#closed) return [];
        if (this.#mode === 'subscribe' && !(await this.#groupStep(deadline))) {
          if (this.#closed || performance.now() >= deadline) return [];
          continue;
        }
        if (this.#resolving !== undefined) {
          try {
            await this.#resolving;
          } catch (err) {
            throw toAppError(err, 'resolving start offsets', { groupId: this.groupId });
          }
        }
        const ready = this.#drainBuffers();
        if (ready.length > 0) return ready;
        const left = deadline - performance.now();
        const fetchable = [...this.#partitions.values()].filter(
          (s) => !s.paused && s.fetchPosition !== undefined,
        );
        if (fetchable.length === 0) {
          if (left <= 0) return [];
          await sleep(Math.min(left, 50));
          continue;
        }
        try {
          await this.#fetch(fetchable, Math.max(0, Math.min(left, FETCH_MAX_WAIT_MS)));
        } catch (err) {
          // A broker restarting or a leader moving is not the caller's problem: poll again later.
          if (!(err instanceof AppError) || !err.retriable) throw err;
          await sleep(Math.min(200, Math.max(0, deadline - performance.now())));
        }
        const got = this.#drainBuffers();
        if (got.length > 0 || performance.now() >= deadline) return got;
      }
    } finally {
      this.#polling = false;
    }
  }

  /** Take up to maxPollRecords buffered records of unpaused partitions, round-robin over partitions. */
  #drainBuffers(): LogRecord[] {
    const states = [...this.#partitions.values()];
    const out: LogRecord[] = [];
    const n = states.length;
    for (let k = 0; k < n && out.length < this.#maxPoll; k++) {
      const s = states[(this.#rr + k) % n]!;
      if (s.paused || s.buffer.length === 0) continue;
      out.push(...s.buffer.splice(0, this.#maxPoll - out.length));
    }
    this.#rr = n === 0 ? 0 : (this.#rr + 1) % n;
    return out;
  }

  async #fetch(states: PartitionState[], maxWaitMs: number): Promise<void> {
    const topics = [...new Set(states.map((s) => s.tp.topic))];
    let md: Awaited<ReturnType<typeof getMetadata>>;
    try {
      md = await getMetadata(this.#client, topics);
    } catch (err) {
      throw toAppError(err, 'fetching metadata', { groupId: this.groupId });
    }
    const byLeader = new Map<number, Map<string, FetchRequestTopic>>();
    const names = new Map<string, string>();
    for (const s of states) {
      const topic = md.topics.get(s.tp.topic);
      const partition = topic?.partitions[s.tp.partition];
      if (topic === undefined || partition === undefined) continue;
      if (partition.leader < 0) {
        this.#client.clearMetadata(); // a leader election is running: ask again next time
        continue;
      }
      names.set(topic.id, s.tp.topic);
      let req = byLeader.get(partition.leader);
      if (req === undefined) byLeader.set(partition.leader, (req = new Map()));
      let t = req.get(topic.id);
      if (t === undefined) req.set(topic.id, (t = { topicId: topic.id, partitions: [] }));
      t.partitions.push({
        partition: s.tp.partition,
        currentLeaderEpoch: -1,
        fetchOffset: BigInt(s.fetchPosition!),
        lastFetchedEpoch: -1,
        partitionMaxBytes: PARTITION_MAX_BYTES,
      });
    }
    await Promise.all(
      [...byLeader].map(async ([node, req]) => {
        let response: FetchResponse | undefined;
        try {
          response = await this.#client.fetch({
            node,
            topics: [...req.values()],
            maxWaitTime: maxWaitMs,
            minBytes: 1,
            maxBytes: FETCH_MAX_BYTES,
            isolationLevel: this.#readCommitted
              ? FetchIsolationLevels.READ_COMMITTED
              : FetchIsolationLevels.READ_UNCOMMITTED,
          });
        } catch (err) {
          // A partition-level error fails the whole response; the other partitions' data is in it.
          response = findResponse<FetchResponse>(err);
          if (response === undefined) {
            if (this.#closed) return;
            this.#client.clearMetadata();
            throw toAppError(err, 'fetching records', { groupId: this.groupId });
          }
        }
        for (const t of response.responses) {
          const topic = names.get(t.topicId) ?? t.topicId;
          for (const p of t.partitions) await this.#absorb(topic, p);
        }
      }),
    );
  }

  /** Put one partition's fetched records into its buffer and move its fetch position. */
  async #absorb(topic: string, p: FetchResponsePartition): Promise<void> {
    const state = this.#partitions.get(tpKey({ topic, partition: p.partitionIndex }));
    if (state === undefined || state.fetchPosition === undefined) return;
    if (p.errorCode === 1) {
      // OFFSET_OUT_OF_RANGE: the position is before the log start (retention) or past the end.
      const offsets = await this.#listOffsets([state.tp], this.#reset);
      state.fetchPosition = offsets.get(tpKey(state.tp));
      state.buffer = [];
      return;
    }
    if (p.errorCode !== 0) {
      this.#client.clearMetadata();
      return; // leadership moved, or the like: the next fetch retries with fresh metadata
    }
    const from = state.fetchPosition;
    const { records, next } = decodeBatches(topic, p, from, this.#readCommitted);
    if (next > from) state.fetchPosition = next;
    state.buffer.push(...records);
  }

  // ---- positions -------------------------------------------------------------------------------

  #state(tp: TopicPartition): PartitionState {
    const s = this.#partitions.get(tpKey(tp));
    if (s === undefined) {
      throw new AppError(
        ErrorCode.LOG_INVALID_ARGUMENT,
        `partition ${tpKey(tp)} is not assigned to this consumer`,
        {
          context: { topic: tp.topic, partition: tp.partition, groupId: this.groupId },
        },
      );
    }
    return s;
  }

  position(tp: TopicPartition): number {
    const s = this.#state(tp);
    const first = s.buffer[0];
    if (first !== undefined) return first.offset;
    if (s.fetchPosition === undefined) {
      throw new AppError(
        ErrorCode.LOG_INVALID_ARGUMENT,
        `the position of ${tpKey(tp)} is not known yet (it is resolved from the broker): poll first`,
        { retriable: true, context: { topic: tp.topic, partition: tp.partition, groupId: this.groupId } },
      );
    }
    return s.fetchPosition;
  }

  seek(tp: TopicPartition, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'seek offset must be a non-negative integer', {
        context: { topic: tp.topic, partition: tp.partition, offset },
      });
    }
    const s = this.#state(tp);
    s.fetchPosition = offset;
    s.buffer = [];
  }

  async seekToBeginning(tps: readonly TopicPartition[]): Promise<void> {
    await this.#seekTo(tps, 'earliest');
  }

  async seekToEnd(tps: readonly TopicPartition[]): Promise<void> {
    await this.#seekTo(tps, 'latest');
  }

  async #seekTo(tps: readonly TopicPartition[], where: OffsetReset): Promise<void> {
    const states = tps.map((tp) => this.#state(tp));
    const offsets = await this.#listOffsets(
      states.map((s) => s.tp),
      where,
    );
    for (const s of states) {
      s.fetchPosition = offsets.get(tpKey(s.tp));
      s.buffer = [];
    }
  }

  pause(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.#state(tp).paused = true;
  }

  resume(tps: readonly TopicPartition[]): void {
    for (const tp of tps) {
      const s = this.#partitions.get(tpKey(tp));
      if (s !== undefined) s.paused = false;
    }
  }

  /** Earliest, or latest (the LSO for read_committed, the high watermark otherwise). */
  async #listOffsets(tps: readonly TopicPartition[], where: OffsetReset): Promise<Map<string, number>> {
    const partitions: Record<string, number[]> = {};
    for (const tp of tps) (partitions[tp.topic] ??= []).push(tp.partition);
    try {
      const res = await this.#client.listOffsets({
        topics: Object.keys(partitions),
        partitions,
        timestamp: where === 'earliest' ? -2n : -1n,
        isolationLevel: this.#readCommitted
          ? FetchIsolationLevels.READ_COMMITTED
          : FetchIsolationLevels.READ_UNCOMMITTED,
      });
      const out = new Map<string, number>();
      for (const tp of tps) {
        const o = res.get(tp.topic)?.[tp.partition];
        if (o !== undefined) out.set(tpKey(tp), Number(o));
      }
      return out;
    } catch (err) {
      throw toAppError(err, `listing ${where} offsets`, { groupId: this.groupId });
    }
  }

  // ---- offsets ---------------------------------------------------------------------------------

  async commit(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    this.#assertOpen();
    const list =
      offsets ??
      [...this.#partitions.values()]
        .filter((s) => s.fetchPosition !== undefined)
        .map((s) => ({ ...s.tp, offset: this.position(s.tp) }));
    if (list.length === 0) return;
    const meta = this.groupMetadata();
    await this.#groupCall('committing offsets', 'OffsetCommit', [
      this.groupId,
      meta.generationId,
      meta.memberId,
      null,
      offsetTopics(list),
    ]).catch((err: unknown) => {
      if (err instanceof AppError && err.code === ErrorCode.LOG_FENCED && this.#mode === 'subscribe') {
        this.#rejoinNeeded = true;
      }
      throw err;
    });
  }

  async committed(tps: readonly TopicPartition[]): Promise<Map<string, number | undefined>> {
    this.#assertOpen();
    const got = await this.#fetchCommitted(tps, false);
    return new Map(tps.map((tp) => [tpKey(tp), got.get(tpKey(tp))]));
  }

  /** The group's committed offsets; `requireStable` waits out offsets pending in open transactions. */
  async #fetchCommitted(
    tps: readonly TopicPartition[],
    requireStable: boolean,
  ): Promise<Map<string, number>> {
    const topics = new Map<string, number[]>();
    for (const tp of tps) topics.set(tp.topic, [...(topics.get(tp.topic) ?? []), tp.partition]);
    const request = [
      {
        groupId: this.groupId,
        memberId: this.#memberId === '' ? null : this.#memberId,
        memberEpoch: -1,
        topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
      },
    ];
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.#groupCall<{
          groups?: {
            topics: { name: string; partitions: { partitionIndex: number; committedOffset: bigint }[] }[];
          }[];
          topics?: { name: string; partitions: { partitionIndex: number; committedOffset: bigint }[] }[];
        }>('fetching committed offsets', 'OffsetFetch', [request, requireStable]);
        const out = new Map<string, number>();
        for (const t of res.groups?.[0]?.topics ?? res.topics ?? []) {
          for (const p of t.partitions) {
            if (p.committedOffset >= 0n)
              out.set(tpKey({ topic: t.name, partition: p.partitionIndex }), Number(p.committedOffset));
          }
        }
        return out;
      } catch (err) {
        const unstable = err instanceof AppError && err.context.kafkaError === 'UNSTABLE_OFFSET_COMMIT';
        if (!unstable || attempt >= 150) throw err;
        await sleep(200);
      }
    }
  }

  groupMetadata(): ConsumerGroupMetadata {
    if (this.#mode !== 'subscribe' || this.#memberId === '' || this.#generationId < 0) {
      return { groupId: this.groupId, generationId: -1, memberId: '' };
    }
    return { groupId: this.groupId, generationId: this.#generationId, memberId: this.#memberId };
  }

  // ---- group protocol --------------------------------------------------------------------------

  /** Run the due group steps; true when the member has a stable assignment to fetch from. */
  async #groupStep(deadline: number): Promise<boolean> {
    if (this.#rejoinNeeded && this.#join === undefined) {
      this.#rejoinNeeded = false;
      this.#stopHeartbeat();
      const revoked = this.assignment();
      try {
        if (revoked.length > 0) await this.#listener?.onPartitionsRevoked?.(revoked);
      } finally {
        // Even when the listener failed: the partitions are going, and the group waits for us.
        this.#setAssignment([]);
        this.#join = this.#joinGroup().catch((err: unknown) =>
          toAppError(err, 'joining the group', { groupId: this.groupId }),
        );
      }
    }
    if (this.#join === undefined) {
      await this.#watchSubscribedTopics();
      return !this.#rejoinNeeded;
    }
    const done = await within(this.#join, deadline - performance.now());
    if (done === undefined) return false;
    this.#join = undefined;
    if (this.#closed) return false;
    if (done instanceof AppError) {
      this.#rejoinNeeded = true; // the next poll tries again
      if (!done.retriable && done.code !== ErrorCode.LOG_FENCED) throw done;
      await sleep(Math.min(200, Math.max(0, deadline - performance.now())));
      return false;
    }
    this.#generationId = done.generationId;
    this.#memberId = done.memberId;
    this.#joinedCounts = done.partitionCounts;
    this.#countsCheckedAt = performance.now();
    this.#setAssignment(done.assignment);
    this.#startHeartbeat();
    if (this.#resolving !== undefined) {
      await this.#resolving.catch((err: unknown) => {
        throw toAppError(err, 'resolving start offsets', { groupId: this.groupId });
      });
    }
    await this.#listener?.onPartitionsAssigned?.(this.assignment());
    return !this.#rejoinNeeded;
  }

  /**
   * A subscribed topic created, or given more partitions, after the join is assigned by a new
   * rebalance (as the Java consumer does): every `METADATA_CHECK_MS` compare partition counts with
   * those seen at the join.
   */
  async #watchSubscribedTopics(): Promise<void> {
    if (performance.now() - this.#countsCheckedAt < METADATA_CHECK_MS) return;
    this.#countsCheckedAt = performance.now();
    let now: Map<string, number | undefined>;
    try {
      now = await this.#partitionCounts(this.#subscription);
    } catch {
      return; // the cluster is unreachable for a moment: check again next time
    }
    for (const topic of this.#subscription) {
      if (now.get(topic) !== this.#joinedCounts.get(topic)) this.#rejoinNeeded = true;
    }
  }

  /** Partition counts of topics (undefined for a topic that does not exist). */
  async #partitionCounts(topics: readonly string[]): Promise<Map<string, number | undefined>> {
    const counts = new Map<string, number | undefined>();
    for (const topic of topics) {
      try {
        const md = await getMetadata(this.#client, [topic], { forceUpdate: true, retries: 0 });
        counts.set(topic, md.topics.get(topic)?.partitionsCount);
      } catch (err) {
        if (!isUnknownTopicError(err)) throw toAppError(err, `looking up topic ${topic}`, { topic });
        counts.set(topic, undefined);
      }
    }
    return counts;
  }

  async #joinGroup(): Promise<JoinResult> {
    const protocols = [
      {
        name: ASSIGNOR,
        metadata: encodeConsumerProtocolSubscription({ version: 0, topics: this.#subscription }),
      },
    ];
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new AppError(ErrorCode.LOG_CLOSED, 'the consumer is closed');
      let joined: JoinGroupResponse;
      try {
        joined = await this.#groupCall<JoinGroupResponse>('joining the group', 'JoinGroup', [
          this.groupId,
          SESSION_TIMEOUT_MS,
          REBALANCE_TIMEOUT_MS,
          this.#memberId,
          null,
          'consumer',
          protocols,
          null,
        ]);
      } catch (err) {
        const cause = err instanceof AppError ? err.cause : err;
        if (hasApiId(cause, 'MEMBER_ID_REQUIRED')) {
          // First join: the broker hands out a member id and wants it back.
          const response = findResponse<JoinGroupResponse>(cause);
          this.#memberId = response?.memberId ?? '';
          continue;
        }
        if (MEMBER_GONE.some((id) => hasApiId(cause, id)) && attempt < 5) {
          this.#memberId = '';
          continue;
        }
        if (hasApiId(cause, 'REBALANCE_IN_PROGRESS') && attempt < 50) continue;
        throw err;
      }
      this.#memberId = joined.memberId;
      let assignments: { memberId: string; assignment: Buffer }[] = [];
      if (joined.leader === joined.memberId) assignments = await this.#assign(joined);
      let synced: SyncGroupResponse;
      try {
        synced = await this.#groupCall<SyncGroupResponse>('syncing the group', 'SyncGroup', [
          this.groupId,
          joined.generationId,
          joined.memberId,
          null,
          'consumer',
          joined.protocolName,
          assignments,
        ]);
      } catch (err) {
        const cause = err instanceof AppError ? err.cause : err;
        if (
          (hasApiId(cause, 'REBALANCE_IN_PROGRESS') || MEMBER_GONE.some((id) => hasApiId(cause, id))) &&
          attempt < 50
        ) {
          if (hasApiId(cause, 'UNKNOWN_MEMBER_ID')) this.#memberId = '';
          continue;
        }
        throw err;
      }
      const assignment: TopicPartition[] = [];
      if (synced.assignment.length > 0) {
        for (const a of decodeConsumerProtocolAssignment(synced.assignment).assignedPartitions) {
          for (const partition of a.partitions) assignment.push({ topic: a.topic, partition });
        }
      }
      assignment.sort((x, y) =>
        x.topic === y.topic ? x.partition - y.partition : x.topic < y.topic ? -1 : 1,
      );
      const partitionCounts = await this.#partitionCounts(this.#subscription);
      return { generationId: joined.generationId, memberId: joined.memberId, assignment, partitionCounts };
    }
  }

  /** The leader's job: Kafka's RangeAssignor (per topic, contiguous ranges over members sorted by id). */
  async #assign(joined: JoinGroupResponse): Promise<{ memberId: string; assignment: Buffer }[]> {
    const subs = new Map<string, string[]>();
    for (const m of joined.members)
      subs.set(m.memberId, decodeConsumerProtocolSubscription(m.metadata).topics);
    const topics = [...new Set([...subs.values()].flat())].sort();
    const counts = await this.#partitionCounts(topics);
    const ids = [...subs.keys()].sort();
    const result = new Map<string, Map<string, number[]>>(ids.map((id) => [id, new Map()]));
    for (const topic of topics) {
      const n = counts.get(topic);
      if (n === undefined) continue;
      const members = ids.filter((id) => subs.get(id)!.includes(topic));
      const per = Math.floor(n / members.length);
      const extra = n % members.length;
      let p = 0;
      members.forEach((id, i) => {
        const count = per + (i < extra ? 1 : 0);
        const list: number[] = [];
        for (let k = 0; k < count; k++) list.push(p++);
        if (list.length > 0) result.get(id)!.set(topic, list);
      });
    }
    return ids.map((memberId) => ({
      memberId,
      assignment: encodeConsumerProtocolAssignment({
        version: 0,
        assignedPartitions: [...result.get(memberId)!].map(([topic, partitions]) => ({ topic, partitions })),
      }),
    }));
  }

  #startHeartbeat(): void {
    this.#stopHeartbeat();
    const beat = async (): Promise<void> => {
      if (this.#closed || this.#heartbeat === undefined) return;
      try {
        await this.#groupCall('heartbeat', 'Heartbeat', [
          this.groupId,
          this.#generationId,
          this.#memberId,
          null,
        ]);
      } catch (err) {
        const cause = err instanceof AppError ? err.cause : err;
        if (hasApiId(cause, 'REBALANCE_IN_PROGRESS')) {
          this.#rejoinNeeded = true;
          this.#stopHeartbeat();
          return;
        }
        if (MEMBER_GONE.some((id) => hasApiId(cause, id))) {
          // Our generation is over: the partitions are someone else's now. Rejoin from scratch.
          if (hasApiId(cause, 'UNKNOWN_MEMBER_ID')) this.#memberId = '';
          this.#generationId = -1;
          this.#rejoinNeeded = true;
          this.#stopHeartbeat();
          return;
        }
        // Network trouble: keep beating; the session timeout decides.
      }
      if (this.#heartbeat !== undefined) this.#heartbeat = setTimeout(beat, HEARTBEAT_INTERVAL_MS).unref();
    };
    this.#heartbeat = setTimeout(beat, HEARTBEAT_INTERVAL_MS).unref();
  }

  #stopHeartbeat(): void {
    clearTimeout(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  async #findCoordinator(): Promise<number> {
    if (this.#coordinator !== undefined) return this.#coordinator;
    const res = await callBootstrap<{ coordinators: { nodeId: number; errorCode: number }[] }>(
      this.#client,
      'FindCoordinator',
      FindCoordinatorKeyTypes.GROUP,
      [this.groupId],
    );
    const nodeId = res.coordinators[0]?.nodeId;
    if (nodeId === undefined || nodeId < 0) throw new Error(`no coordinator for group ${this.groupId}`);
    this.#coordinator = nodeId;
    return nodeId;
  }

  /** A request to the group coordinator; retried (bounded) when the coordinator moved or is loading. */
  async #groupCall<R>(doing: string, api: string, args: readonly unknown[]): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      try {
        const node = await this.#findCoordinator();
        return await callApi<R>(this.#client, node, api, ...args);
      } catch (err) {
        const moved = COORDINATOR_MOVED.some((id) => hasApiId(err, id));
        const network = err instanceof Error && (err as { code?: string }).code === 'PLT_KFK_NETWORK';
        if ((moved || network) && attempt < 20 && !this.#closed) {
          this.#coordinator = undefined;
          this.#client.clearMetadata();
          await sleep(100 * Math.min(attempt + 1, 5));
          continue;
        }
        throw toAppError(err, doing, { groupId: this.groupId });
      }
    }
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopHeartbeat();
    try {
      if (this.#mode === 'subscribe' && this.#memberId !== '') {
        const revoked = this.assignment();
        try {
          if (revoked.length > 0 && this.#generationId >= 0) {
            await this.#listener?.onPartitionsRevoked?.(revoked);
          }
        } finally {
          await this.#leave();
        }
      }
    } finally {
      this.#partitions = new Map();
      await this.#client.close(true).catch(() => {});
      this.#onClosed(this);
    }
  }

  async #leave(): Promise<void> {
    const memberId = this.#memberId;
    this.#memberId = '';
    this.#generationId = -1;
    try {
      const node = await this.#findCoordinator();
      await callApi(this.#client, node, 'LeaveGroup', this.groupId, [
        { memberId, reason: 'consumer closed' },
      ]);
    } catch {
      // The session timeout removes a member that could not say goodbye.
    }
  }

  /** Closed by the log: leave without listener callbacks. */
  async detach(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopHeartbeat();
    if (this.#mode === 'subscribe' && this.#memberId !== '') await this.#leave();
    await this.#client.close(true).catch(() => {});
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new AppError(ErrorCode.LOG_CLOSED, 'the consumer is closed', {
        context: { groupId: this.groupId },
      });
    }
  }
}

/** OffsetCommit / TxnOffsetCommit topics from port offsets. */
export function offsetTopics(offsets: readonly TopicPartitionOffset[]): {
  name: string;
  partitions: {
    partitionIndex: number;
    committedOffset: bigint;
    committedLeaderEpoch: number;
    committedMetadata: string | null;
  }[];
}[] {
  const topics = new Map<string, ReturnType<typeof offsetTopics>[number]>();
  for (const o of offsets) {
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw new AppError(
        ErrorCode.LOG_INVALID_ARGUMENT,
        'a committed offset must be a non-negative integer',
        {
          context: { topic: o.topic, partition: o.partition, offset: o.offset },
        },
      );
    }
    let t = topics.get(o.topic);
    if (t === undefined) topics.set(o.topic, (t = { name: o.topic, partitions: [] }));
    t.partitions.push({
      partitionIndex: o.partition,
      committedOffset: BigInt(o.offset),
      committedLeaderEpoch: -1,
      committedMetadata: o.metadata ?? null,
    });
  }
  return [...topics.values()];
}

function findResponse<R>(err: unknown): R | undefined {
  let e: unknown = err;
  while (e instanceof Error) {
    const r = (e as { response?: R }).response;
    if (r !== undefined) return r;
    const nested = (e as { errors?: unknown[] }).errors;
    const withResponse = nested?.find((x) => (x as { response?: R } | undefined)?.response !== undefined);
    if (withResponse !== undefined) return (withResponse as { response: R }).response;
    e = e.cause;
  }
  return undefined;
}

/**
 * Decode one partition's fetched batches from `from` on, as the Java client does: under
 * read_committed, batches of aborted transactions (known from the response's aborted-transaction
 * list and closed by their abort marker) are dropped; control batches are never returned. `next` is
 * the offset after the last batch seen (so positions move past markers and compacted gaps).
 */
export function decodeBatches(
  topic: string,
  p: FetchResponsePartition,
  from: number,
  readCommitted: boolean,
): { records: LogRecord[]; next: number } {
  const records: LogRecord[] = [];
  let next = from;
  const aborted = [...(p.abortedTransactions ?? [])].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  );
  const abortedProducers = new Set<bigint>();
  const partition = p.partitionIndex;
  for (const batch of (p.records ?? []) as RecordsBatch[]) {
    const base = Number(batch.firstOffset);
    const last = base + batch.lastOffsetDelta;
    if (last < from) continue;
    const control = (batch.attributes & ATTR_CONTROL) !== 0;
    if (readCommitted && (batch.attributes & ATTR_TRANSACTIONAL) !== 0) {
      while (aborted.length > 0 && Number(aborted[0]!.firstOffset) <= last) {
        abortedProducers.add(aborted.shift()!.producerId);
      }
      if (control) {
        // An abort marker (control key type 0) closes the producer's aborted range.
        const type = batch.records[0]?.key?.readInt16BE(2);
        if (type === 0) abortedProducers.delete(batch.producerId);
      } else if (abortedProducers.has(batch.producerId)) {
        next = Math.max(next, last + 1);
        continue;
      }
    }
    if (!control) {
      const logAppend = (batch.attributes & ATTR_LOG_APPEND_TIME) !== 0;
      for (const r of batch.records) {
        const offset = base + r.offsetDelta;
        if (offset < from) continue;
        records.push({
          topic,
          partition,
          offset,
          timestamp: Number(logAppend ? batch.maxTimestamp : batch.firstTimestamp + r.timestampDelta),
          key: r.key ?? null,
          value: r.value ?? null,
          headers: r.headers.map(
            ([k, v]) => [k === null ? '' : k.toString('utf8'), v ?? Buffer.alloc(0)] as const,
          ),
        });
      }
    }
    next = Math.max(next, last + 1);
  }
  return { records, next };
}

function dedupe(tps: readonly TopicPartition[]): TopicPartition[] {
  const seen = new Map<string, TopicPartition>();
  for (const tp of tps) seen.set(tpKey(tp), { topic: tp.topic, partition: tp.partition });
  return [...seen.values()];
}

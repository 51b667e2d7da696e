/**
 * A `Consumer` of the `Log` port on Apache Kafka.
 *
 * The port is pull-based (`poll`) while the library's consumer is a push stream that owns offsets
 * and rebalances, so everything above the library's connections is ours:
 * - Group membership is Kafka's classic protocol with the eager range assignor (./group.ts), its
 *   states in ./membership.ts, driven from `poll` by the group step (./group-member.ts) as the Java
 *   client does: revoke or lose, rejoin, then start each partition at the group's committed offset
 *   (or `autoOffsetReset`) and call `onPartitionsAssigned`. A lost member cannot commit.
 * - Fetching and buffering are ./fetcher.ts: a `poll` that returns records starts the next Fetch per
 *   leader (prefetch) while the buffered bytes are below the watermark (`fetch.bufferBytes`); each
 *   record batch is decoded once, straight into port records (./record-batch.ts), with Kafka's
 *   read_committed filter (./read-committed.ts).
 * - This module keeps the assignment, positions, seeks and pauses, and the group's offsets.
 */

import { FetchIsolationLevels, Consumer as LibConsumer } from '@platformatic/kafka';
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
import { toAppError } from './errors.ts';
import {
  DEFAULT_FETCH_SETTINGS,
  emptyState,
  Fetcher,
  isRetriableFetchError,
  type PartitionState,
} from './fetcher.ts';
import { GroupClient, REBALANCE_TIMEOUT_MS, SESSION_TIMEOUT_MS } from './group.ts';
import { GroupMember } from './group-member.ts';
import {
  committedOffsets,
  type OffsetFetchResponse,
  offsetFetchGroups,
  offsetTopics,
} from './group-offsets.ts';
import { GroupMembership } from './membership.ts';
import { clientOptions, type KafkaClientSettings } from './settings.ts';
import { sleep } from './wire.ts';

/** Java's `max.poll.interval.ms` default. */
const MAX_POLL_INTERVAL_MS = 300_000;

export type { KafkaClientSettings };

export class KafkaConsumer implements Consumer {
  readonly groupId: string;
  readonly #client: LibConsumer;
  readonly #readCommitted: boolean;
  readonly #reset: OffsetReset;
  readonly #maxPoll: number;
  readonly #onClosed: (c: KafkaConsumer) => void;
  #mode: 'none' | 'subscribe' | 'assign' = 'none';
  readonly #group: GroupClient;
  readonly #member: GroupMember;
  readonly #closing = new AbortController();
  #partitions = new Map<string, PartitionState>();
  /** Resolving start positions (after assign() or a rebalance); awaited by poll. */
  #resolving: Promise<void> | undefined;
  readonly #fetcher: Fetcher;
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
    const maxPollIntervalMs = options.maxPollIntervalMs ?? MAX_POLL_INTERVAL_MS;
    if (!Number.isInteger(maxPollIntervalMs) || maxPollIntervalMs <= 0) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'maxPollIntervalMs must be a positive integer', {
        context: { maxPollIntervalMs },
      });
    }
    const sessionMs = options.sessionTimeoutMs ?? SESSION_TIMEOUT_MS;
    if (!Number.isInteger(sessionMs) || sessionMs <= 0) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'sessionTimeoutMs must be a positive integer', {
        context: { sessionTimeoutMs: sessionMs },
      });
    }
    const rebalanceMs = Math.min(maxPollIntervalMs, REBALANCE_TIMEOUT_MS);
    this.#client = new LibConsumer({
      ...clientOptions(settings, options.clientId ?? `${settings.clientId}-consumer`),
      groupId: options.groupId,
      // A JoinGroup is answered only when the rebalance completes: allow for the rebalance timeout.
      timeout: rebalanceMs + 5_000,
      retries: 3,
      retryDelay: 200,
      metadataMaxAge: 30_000,
      isolationLevel: this.#readCommitted
        ? FetchIsolationLevels.READ_COMMITTED
        : FetchIsolationLevels.READ_UNCOMMITTED,
    });
    const membership = new GroupMembership({
      groupId: options.groupId,
      groupInstanceId: options.groupInstanceId,
      maxPollIntervalMs,
    });
    this.#group = new GroupClient(this.#client, membership, this.#closing.signal, () => this.#polling, {
      sessionMs,
      rebalanceMs,
    });
    this.#member = new GroupMember(this.#group, {
      assignment: () => this.assignment(),
      setAssignment: (tps) => this.#setAssignment(tps),
      positionsResolved: () => this.#resolving ?? Promise.resolve(),
      closed: () => this.#closed,
    });
    this.#fetcher = new Fetcher({
      client: this.#client,
      settings: settings.fetch ?? DEFAULT_FETCH_SETTINGS,
      readCommitted: this.#readCommitted,
      groupId: options.groupId,
      partitions: () => this.#partitions,
      resetPosition: async (tp) => (await this.#listOffsets([tp], this.#reset)).get(tpKey(tp)),
      closed: () => this.#closed,
    });
  }

  get #membership(): GroupMembership {
    return this.#member.membership;
  }

  // ---- subscription and assignment -------------------------------------------------------------

  async subscribe(topics: readonly string[], listener?: RebalanceListener): Promise<void> {
    this.#assertOpen();
    if (this.#mode === 'assign') {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'subscribe() after assign() on the same consumer');
    }
    this.#mode = 'subscribe';
    this.#member.subscribe(topics, listener);
    this.#client.topics.trackAll(...this.#member.subscription);
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
      next.set(key, this.#partitions.get(key) ?? emptyState(tp));
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
    this.#membership.polled(performance.now());
    try {
      for (;;) {
        if (this.#closed) return [];
        if (this.#mode === 'subscribe' && !(await this.#member.step(deadline))) {
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
        const fetcher = this.#fetcher;
        const ready = fetcher.drain(this.#maxPoll);
        if (ready.length > 0) {
          fetcher.prefetch(); // the next records travel while the caller processes these
          return ready;
        }
        const failed = fetcher.takeError();
        if (failed !== undefined) {
          // A broker restarting or a leader moving is not the caller's problem: poll again later.
          if (!isRetriableFetchError(failed)) throw failed;
          await sleep(Math.min(200, Math.max(0, deadline - performance.now())));
        }
        const left = deadline - performance.now();
        if (!fetcher.hasFetchable()) {
          if (left <= 0) return [];
          await sleep(Math.min(left, 50));
          continue;
        }
        await fetcher.fill(Math.max(0, left));
        const got = fetcher.drain(this.#maxPoll);
        if (got.length > 0) fetcher.prefetch();
        if (got.length > 0 || performance.now() >= deadline) return got;
      }
    } finally {
      this.#polling = false;
      this.#membership.polled(performance.now());
    }
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
    const first = s.buffer[s.head];
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
    Fetcher.seek(this.#state(tp), offset);
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
    for (const s of states) Fetcher.seek(s, offsets.get(tpKey(s.tp)));
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
    const m = this.#membership;
    if (this.#mode === 'subscribe' && !m.canCommit()) throw this.#lostError('commit offsets');
    const meta = this.groupMetadata();
    await this.#group
      .call('committing offsets', 'OffsetCommit', [
        this.groupId,
        meta.generationId,
        meta.memberId,
        meta.groupInstanceId ?? null,
        offsetTopics(list),
      ])
      .catch((err: unknown) => {
        if (err instanceof AppError && this.#mode === 'subscribe') {
          const id = err.context.kafkaError;
          m.answered(typeof id === 'string' ? id : undefined);
        }
        throw err;
      });
  }

  #lostError(what: string): AppError {
    const m = this.#membership;
    return new AppError(
      ErrorCode.LOG_FENCED,
      `member ${m.memberId} of group ${this.groupId} (generation ${m.generationId}) cannot ${what}: ${m.reason || m.state}`,
      { context: { groupId: this.groupId, generationId: m.generationId, memberId: m.memberId } },
    );
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
    // UNSTABLE_OFFSET_COMMIT (an open transaction holds offsets) is retriable: retried until the
    // deadline, longer than the broker's transaction timeout.
    const res = await this.#group.call<OffsetFetchResponse>('fetching committed offsets', 'OffsetFetch', [
      offsetFetchGroups(this.groupId, tps),
      requireStable,
    ]);
    return committedOffsets(res);
  }

  /**
   * The generation and member id of the last successful join, kept until the next one (also while
   * the member is lost: the broker then refuses a commit that carries them). -1 / '' before the
   * first join and for assign().
   */
  groupMetadata(): ConsumerGroupMetadata {
    if (this.#mode !== 'subscribe') return { groupId: this.groupId, generationId: -1, memberId: '' };
    return this.#membership.groupMetadata();
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /**
   * Give the partitions up (revoked, or lost when the member was removed), leave the group (a static
   * member stays until its session times out, so that a restart keeps its assignment) and close.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#shut(true);
    } finally {
      this.#onClosed(this);
    }
  }

  /** Closed by the log: leave without listener callbacks. */
  async detach(): Promise<void> {
    await this.#shut(false);
  }

  async #shut(callListener: boolean): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#mode === 'subscribe') await this.#member.close(callListener);
    } finally {
      this.#membership.close();
      this.#closing.abort();
      this.#partitions = new Map();
      await this.#client.close(true).catch(() => {});
    }
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new AppError(ErrorCode.LOG_CLOSED, 'the consumer is closed', {
        context: { groupId: this.groupId },
      });
    }
  }
}

function dedupe(tps: readonly TopicPartition[]): TopicPartition[] {
  const seen = new Map<string, TopicPartition>();
  for (const tp of tps) seen.set(tpKey(tp), { topic: tp.topic, partition: tp.partition });
  return [...seen.values()];
}

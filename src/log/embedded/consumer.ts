/**
 * Consumers and the in-process group coordinator of the embedded log.
 *
 * Group protocol (Kafka's eager rebalance, run inside `poll` as Kafka does, so listener callbacks
 * never interleave with a member's processing between polls):
 * 1. A member joining (`subscribe`) or leaving (`close`), a subscription change, or a topic created
 *    that a member subscribes to, starts a rebalance and wakes every member's `poll`.
 * 2. In its next `poll`, each member calls `onPartitionsRevoked` with everything it owns, drops its
 *    assignment and rejoins. Commits made in that callback still belong to the current generation.
 * 3. When every member has rejoined, the coordinator bumps the generation and computes the
 *    assignment (Kafka's RangeAssignor, ../assignor.ts, the one both adapters use).
 * 4. In its next `poll`, each member takes its partitions, starts each at the group's committed
 *    offset (or `autoOffsetReset`) and calls `onPartitionsAssigned`, then fetches.
 * A member that does not come back to `poll` within `REBALANCE_TIMEOUT_MS` is removed from the group
 * (like Kafka's max.poll.interval.ms); when it polls again it rejoins as a new member, and its
 * commits from the old generation are refused with LOG_FENCED.
 */

import { AppError, ErrorCode } from '../../errors/index.ts';
import { rangeAssign } from '../assignor.ts';
import {
  type Consumer,
  type ConsumerGroupMetadata,
  type ConsumerOptions,
  type LogRecord,
  type RebalanceListener,
  type TopicPartition,
  type TopicPartitionOffset,
  tpKey,
} from '../types.ts';
import type { PartitionLog } from './partition-log.ts';
import { emptyResume, type ReadResume } from './partition-read.ts';

const REBALANCE_TIMEOUT_MS = 60_000;

/** What a consumer needs from the log. */
export interface ConsumerHost {
  assertOpen(): void;
  partitionCount(topic: string): number | undefined;
  partitionOf(topic: string, partition: number): PartitionLog;
  group(groupId: string): GroupCoordinator;
  commitGroupOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  committedOffset(groupId: string, tp: TopicPartition): number | undefined;
  consumerClosed(consumer: EmbeddedConsumer): void;
}

export class GroupCoordinator {
  readonly groupId: string;
  readonly #host: ConsumerHost;
  generation = 0;
  readonly members = new Map<string, EmbeddedConsumer>();
  #rebalancing = false;
  readonly #rejoined = new Set<string>();
  #nextMember = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(groupId: string, host: ConsumerHost) {
    this.groupId = groupId;
    this.#host = host;
  }

  get rebalancing(): boolean {
    return this.#rebalancing;
  }

  join(member: EmbeddedConsumer): string {
    const memberId = `${member.clientId}-${String(++this.#nextMember).padStart(6, '0')}`;
    this.members.set(memberId, member);
    this.startRebalance();
    return memberId;
  }

  leave(memberId: string): void {
    if (!this.members.delete(memberId)) return;
    this.#rejoined.delete(memberId);
    if (this.members.size === 0) {
      this.#finish();
      return;
    }
    this.startRebalance();
  }

  startRebalance(): void {
    this.#rebalancing = true;
    this.#rejoined.clear();
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#expire(), REBALANCE_TIMEOUT_MS);
    this.#timer.unref();
    for (const m of this.members.values()) m.wake();
  }

  /** Called by a member (in poll) after it revoked its partitions. */
  rejoined(memberId: string): void {
    if (!this.members.has(memberId)) return;
    this.#rejoined.add(memberId);
    if (this.#rebalancing && this.#rejoined.size >= this.members.size) this.#complete();
  }

  hasRejoined(memberId: string): boolean {
    return this.#rejoined.has(memberId);
  }

  #expire(): void {
    if (!this.#rebalancing) return;
    for (const [id, m] of this.members) {
      if (!this.#rejoined.has(id)) {
        this.members.delete(id);
        m.kicked();
      }
    }
    if (this.members.size === 0) this.#finish();
    else this.#complete();
  }

  #finish(): void {
    this.#rebalancing = false;
    this.#rejoined.clear();
    clearTimeout(this.#timer);
  }

  #complete(): void {
    this.#finish();
    this.generation++;
    const subscriptions = new Map([...this.members].map(([id, m]) => [id, m.subscription] as const));
    const counts = new Map<string, number | undefined>();
    for (const topics of subscriptions.values()) {
      for (const t of topics) counts.set(t, this.#host.partitionCount(t));
    }
    for (const [id, tps] of rangeAssign(subscriptions, counts))
      this.members.get(id)!.deliver(this.generation, tps);
  }

  /** A commit from a group member must come from a live member of the current generation. */
  checkMember(meta: ConsumerGroupMetadata): void {
    if (meta.generationId < 0) return; // a consumer without membership (assign(), admin)
    if (!this.members.has(meta.memberId) || meta.generationId !== this.generation) {
      throw new AppError(
        ErrorCode.LOG_FENCED,
        `member ${meta.memberId} of group ${this.groupId} (generation ${meta.generationId}) is no longer ` +
          `part of generation ${this.generation}: its commit is refused`,
        { context: { groupId: this.groupId, generationId: meta.generationId, memberId: meta.memberId } },
      );
    }
  }

  close(): void {
    clearTimeout(this.#timer);
  }
}

export class EmbeddedConsumer implements Consumer {
  readonly groupId: string;
  readonly clientId: string;
  readonly #host: ConsumerHost;
  readonly #readCommitted: boolean;
  readonly #reset: 'earliest' | 'latest';
  readonly #maxPoll: number;
  #mode: 'none' | 'subscribe' | 'assign' = 'none';
  subscription: readonly string[] = [];
  #listener: RebalanceListener | undefined;
  #memberId = '';
  #generation = -1;
  #isKicked = false;
  #assigned: TopicPartition[] = [];
  #logs: PartitionLog[] = [];
  /** Per assigned partition: where its last read stopped inside a batch (./partition-read.ts). */
  #resumes: ReadResume[] = [];
  readonly #positions = new Map<string, number>();
  readonly #paused = new Set<string>();
  #pendingAssignment: { generation: number; tps: TopicPartition[] } | undefined;
  #rr = 0;
  #wakeCurrent: (() => void) | undefined;
  #closed = false;
  #polling = false;

  constructor(host: ConsumerHost, options: ConsumerOptions) {
    if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'consumer groupId must be a non-empty string');
    }
    this.#host = host;
    this.groupId = options.groupId;
    this.clientId = options.clientId ?? 'consumer';
    this.#readCommitted = (options.isolationLevel ?? 'read_committed') === 'read_committed';
    this.#reset = options.autoOffsetReset ?? 'earliest';
    this.#maxPoll = options.maxPollRecords ?? 500;
    if (!Number.isInteger(this.#maxPoll) || this.#maxPoll <= 0) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, `maxPollRecords must be a positive integer`, {
        context: { maxPollRecords: this.#maxPoll },
      });
    }
  }

  async subscribe(topics: readonly string[], listener?: RebalanceListener): Promise<void> {
    this.#assertOpen();
    if (this.#mode === 'assign') {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'subscribe() after assign() on the same consumer');
    }
    this.subscription = [...new Set(topics)];
    this.#listener = listener;
    const group = this.#host.group(this.groupId);
    if (this.#mode === 'subscribe' && !this.#isKicked) {
      group.startRebalance();
    } else {
      this.#mode = 'subscribe';
      this.#isKicked = false;
      this.#memberId = group.join(this);
    }
  }

  assign(partitions: readonly TopicPartition[]): void {
    this.#assertOpen();
    if (this.#mode === 'subscribe') {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'assign() after subscribe() on the same consumer');
    }
    this.#mode = 'assign';
    const tps = dedupe(partitions);
    for (const tp of tps) this.#host.partitionOf(tp.topic, tp.partition); // validates
    this.#setAssignment(tps);
  }

  assignment(): TopicPartition[] {
    return this.#assigned.map((tp) => ({ ...tp }));
  }

  #setAssignment(tps: TopicPartition[]): void {
    const keep = new Set(tps.map(tpKey));
    for (const k of [...this.#positions.keys()]) if (!keep.has(k)) this.#positions.delete(k);
    for (const k of [...this.#paused]) if (!keep.has(k)) this.#paused.delete(k);
    this.#assigned = tps;
    this.#logs = tps.map((tp) => this.#host.partitionOf(tp.topic, tp.partition));
    this.#resumes = tps.map(() => emptyResume());
    for (let i = 0; i < tps.length; i++) {
      const tp = tps[i]!;
      if (this.#positions.has(tpKey(tp))) continue;
      const committed = this.#host.committedOffset(this.groupId, tp);
      this.#positions.set(tpKey(tp), committed ?? this.#resetOffset(this.#logs[i]!));
    }
  }

  #resetOffset(log: PartitionLog): number {
    return this.#reset === 'earliest' ? log.logStartOffset : this.#endOffset(log);
  }

  #endOffset(log: PartitionLog): number {
    return this.#readCommitted ? log.lastStableOffset : log.highWatermark;
  }

  /** Wake a waiting poll (records appended, group changed, closed). */
  wake(): void {
    const w = this.#wakeCurrent;
    this.#wakeCurrent = undefined;
    w?.();
  }

  /** Removed from the group by the coordinator (did not rejoin in time). */
  kicked(): void {
    this.#isKicked = true;
    this.wake();
  }

  deliver(generation: number, tps: TopicPartition[]): void {
    this.#pendingAssignment = { generation, tps };
    this.wake();
  }

  /** Run the group protocol steps that are due; true when the member has a stable assignment. */
  async #groupStep(): Promise<boolean> {
    const group = this.#host.group(this.groupId);
    if (this.#isKicked) {
      // Our partitions were given away: tell the listener, then rejoin as a new member.
      const lost = this.#assigned;
      this.#setAssignment([]);
      this.#generation = -1;
      if (lost.length > 0) await this.#listener?.onPartitionsRevoked?.(lost);
      this.#isKicked = false;
      this.#memberId = group.join(this);
      return false;
    }
    if (this.#pendingAssignment !== undefined) {
      const { generation, tps } = this.#pendingAssignment;
      this.#pendingAssignment = undefined;
      this.#generation = generation;
      this.#setAssignment(tps);
      await this.#listener?.onPartitionsAssigned?.(this.assignment());
      return !group.rebalancing;
    }
    if (group.rebalancing) {
      if (!group.hasRejoined(this.#memberId)) {
        const revoked = this.#assigned;
        if (revoked.length > 0) await this.#listener?.onPartitionsRevoked?.(revoked.map((tp) => ({ ...tp })));
        this.#setAssignment([]);
        group.rejoined(this.#memberId);
        return this.#pendingAssignment === undefined ? false : this.#groupStep();
      }
      return false;
    }
    return true;
  }

  async poll(timeoutMs: number): Promise<LogRecord[]> {
    this.#assertOpen();
    if (this.#polling) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'poll() called while another poll() is running');
    }
    this.#polling = true;
    let timedOut = timeoutMs <= 0;
    const onTimeout = (): void => {
      timedOut = true;
      this.wake();
    };
    const timer = timeoutMs > 0 ? setTimeout(onTimeout, timeoutMs) : undefined;
    try {
      for (;;) {
        if (this.#closed) return [];
        let stable = true;
        if (this.#mode === 'subscribe') stable = await this.#groupStep();
        if (this.#closed) return [];
        if (stable) {
          const out: LogRecord[] = [];
          const moved = this.#fetch(out);
          if (out.length > 0) return out;
          if (moved) continue;
        } else if (this.#pendingAssignment !== undefined || this.#isKicked) {
          continue;
        }
        if (timedOut) return [];
        await this.#waitForWake();
      }
    } finally {
      clearTimeout(timer);
      this.#polling = false;
    }
  }

  #waitForWake(): Promise<void> {
    return new Promise<void>((resolve) => {
      const removers: (() => void)[] = [];
      const done = (): void => {
        for (const r of removers) r();
        if (this.#wakeCurrent === done) this.#wakeCurrent = undefined;
        resolve();
      };
      this.#wakeCurrent = done;
      for (let i = 0; i < this.#logs.length; i++) {
        if (!this.#paused.has(tpKey(this.#assigned[i]!))) removers.push(this.#logs[i]!.onAppend(done));
      }
    });
  }

  /**
   * Read from the assigned partitions into `out`; true if any position moved.
   *
   * Fair across partitions (as Kafka's fetcher is, bounded per partition): the poll's budget
   * (`maxPollRecords`) is split evenly over the unpaused partitions that have records to read, and
   * the partition served first rotates from poll to poll. So one poll of a backlog carries about the
   * same number of records of every partition, and no partition runs ahead of the others because it
   * alone filled a poll.
   */
  #fetch(out: LogRecord[]): boolean {
    const n = this.#logs.length;
    let moved = false;
    const ready: number[] = [];
    for (let k = 0; k < n; k++) {
      const i = (this.#rr + k) % n;
      const key = tpKey(this.#assigned[i]!);
      if (this.#paused.has(key)) continue;
      const log = this.#logs[i]!;
      const pos = this.#positions.get(key)!;
      if (pos < log.logStartOffset || pos > log.highWatermark) {
        this.#positions.set(key, this.#resetOffset(log));
        moved = true;
      }
      if (this.#positions.get(key)! < this.#endOffset(log)) ready.push(i);
    }
    this.#rr = n === 0 ? 0 : (this.#rr + 1) % n;
    for (let k = 0; k < ready.length && out.length < this.#maxPoll; k++) {
      const i = ready[k]!;
      const key = tpKey(this.#assigned[i]!);
      const log = this.#logs[i]!;
      const pos = this.#positions.get(key)!;
      // An even share of what is left of the budget over the partitions not served yet.
      const share = Math.ceil((this.#maxPoll - out.length) / (ready.length - k));
      const next = log.read(pos, this.#endOffset(log), share, this.#readCommitted, out, this.#resumes[i]);
      if (next !== pos) moved = true;
      this.#positions.set(key, next);
    }
    return moved;
  }

  #assignedKey(tp: TopicPartition): string {
    const key = tpKey(tp);
    if (!this.#positions.has(key)) {
      throw new AppError(
        ErrorCode.LOG_INVALID_ARGUMENT,
        `partition ${key} is not assigned to this consumer`,
        {
          context: { topic: tp.topic, partition: tp.partition, groupId: this.groupId },
        },
      );
    }
    return key;
  }

  position(tp: TopicPartition): number {
    return this.#positions.get(this.#assignedKey(tp))!;
  }

  seek(tp: TopicPartition, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, `seek offset must be a non-negative integer`, {
        context: { topic: tp.topic, partition: tp.partition, offset },
      });
    }
    this.#positions.set(this.#assignedKey(tp), offset);
  }

  async seekToBeginning(tps: readonly TopicPartition[]): Promise<void> {
    for (const tp of tps) {
      const key = this.#assignedKey(tp);
      this.#positions.set(key, this.#host.partitionOf(tp.topic, tp.partition).logStartOffset);
    }
  }

  async seekToEnd(tps: readonly TopicPartition[]): Promise<void> {
    for (const tp of tps) {
      const key = this.#assignedKey(tp);
      this.#positions.set(key, this.#endOffset(this.#host.partitionOf(tp.topic, tp.partition)));
    }
  }

  pause(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.#paused.add(this.#assignedKey(tp));
  }

  resume(tps: readonly TopicPartition[]): void {
    for (const tp of tps) this.#paused.delete(tpKey(tp));
    this.wake();
  }

  async commit(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    this.#assertOpen();
    const list = offsets ?? this.#assigned.map((tp) => ({ ...tp, offset: this.#positions.get(tpKey(tp))! }));
    if (this.#mode === 'subscribe') this.#host.group(this.groupId).checkMember(this.groupMetadata());
    await this.#host.commitGroupOffsets(this.groupId, list);
  }

  async committed(tps: readonly TopicPartition[]): Promise<Map<string, number | undefined>> {
    return new Map(tps.map((tp) => [tpKey(tp), this.#host.committedOffset(this.groupId, tp)]));
  }

  groupMetadata(): ConsumerGroupMetadata {
    if (this.#mode !== 'subscribe' || this.#isKicked) {
      return { groupId: this.groupId, generationId: -1, memberId: '' };
    }
    return { groupId: this.groupId, generationId: this.#generation, memberId: this.#memberId };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.wake();
    if (this.#mode === 'subscribe' && !this.#isKicked) {
      const revoked = this.#assigned;
      try {
        if (revoked.length > 0) await this.#listener?.onPartitionsRevoked?.(revoked.map((tp) => ({ ...tp })));
      } finally {
        this.#host.group(this.groupId).leave(this.#memberId);
      }
    }
    this.#assigned = [];
    this.#logs = [];
    this.#host.consumerClosed(this);
  }

  /** Closed by the log: leave without callbacks. */
  detach(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#mode === 'subscribe' && !this.#isKicked) this.#host.group(this.groupId).leave(this.#memberId);
    this.wake();
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new AppError(ErrorCode.LOG_CLOSED, 'the consumer is closed', {
        context: { groupId: this.groupId },
      });
    this.#host.assertOpen();
  }
}

function dedupe(tps: readonly TopicPartition[]): TopicPartition[] {
  const seen = new Map<string, TopicPartition>();
  for (const tp of tps) seen.set(tpKey(tp), { topic: tp.topic, partition: tp.partition });
  return [...seen.values()];
}

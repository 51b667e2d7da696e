/**
 * The group step of a subscribed Kafka consumer (Java's `ConsumerCoordinator.poll`), run at the start
 * of every `poll`: it decides from the membership state machine (./membership.ts) when to give the
 * partitions up and rejoin, runs the join (./group.ts) in the background, and installs the new
 * assignment in the consumer when it completes.
 * - A member marked for rejoin (REBALANCE_IN_PROGRESS, a subscribed topic changed) calls the
 *   listener's `onPartitionsRevoked` with everything it owns (offsets committed there still belong
 *   to the current generation), then sends JoinGroup; heartbeats run until then.
 * - A lost member (removed, fenced, session expired, poll interval exceeded) calls
 *   `onPartitionsLost` instead (`onPartitionsRevoked` when the listener has none): it cannot commit.
 * - When the join completes, the consumer resolves each partition's start position (the group's
 *   committed offset or the reset policy) and `onPartitionsAssigned` is called.
 * - A step waits for a pending join at most until the poll's deadline, so members polling side by
 *   side never block each other.
 * - A subscribed topic that is created (or grows) after the join triggers a rebalance: members
 *   compare partition counts with those seen at the join every `METADATA_CHECK_MS`.
 */
import { AppError, ErrorCode } from '../../errors/index.ts';
import type { RebalanceListener, TopicPartition } from '../types.ts';
import { toAppError } from './errors.ts';
import type { GroupClient, JoinResult } from './group.ts';
import type { GroupMembership } from './membership.ts';
import { sleep, within } from './wire.ts';

/** How often (ms) a member checks its subscribed topics' partition counts. */
const METADATA_CHECK_MS = 3_000;

/** What the group step needs of its consumer. */
export interface AssignmentHost {
  /** The partitions the consumer owns now. */
  assignment(): TopicPartition[];
  /** Replace the assignment; new partitions' start positions start resolving. */
  setAssignment(tps: TopicPartition[]): void;
  /** Settles when the start positions being resolved are known (rejects as the resolution failed). */
  positionsResolved(): Promise<void>;
  closed(): boolean;
}

export class GroupMember {
  readonly #group: GroupClient;
  readonly #host: AssignmentHost;
  #subscription: string[] = [];
  #listener: RebalanceListener | undefined;
  #join: Promise<JoinResult | AppError> | undefined;
  #joinedCounts = new Map<string, number | undefined>();
  #countsCheckedAt = 0;

  constructor(group: GroupClient, host: AssignmentHost) {
    this.#group = group;
    this.#host = host;
  }

  get membership(): GroupMembership {
    return this.#group.membership;
  }

  get #groupId(): string {
    return this.#group.groupId;
  }

  /** Record the subscription: the member (re)joins at the next step. */
  subscribe(topics: readonly string[], listener: RebalanceListener | undefined): void {
    this.#subscription = [...new Set(topics)].sort();
    this.#listener = listener;
    // Joining happens in poll (as Kafka's consumer does): a member that joins here would block the
    // caller until every other member rejoined.
    this.membership.requestRejoin('subscribed');
  }

  get subscription(): readonly string[] {
    return this.#subscription;
  }

  /** Run the due group steps; true when the member has a stable assignment to fetch from. */
  async step(deadline: number): Promise<boolean> {
    const m = this.membership;
    if (m.isFailed()) {
      throw new AppError(ErrorCode.LOG_FENCED, `group ${this.#groupId}: ${m.reason}`, {
        context: { groupId: this.#groupId, groupInstanceId: m.groupInstanceId },
      });
    }
    if (m.needsJoin() && this.#join === undefined) {
      const how = m.giveUp();
      const owned = this.#host.assignment();
      try {
        if (owned.length > 0 && how !== 'none') await this.#giveUp(how, owned);
      } finally {
        // Even when the listener failed: the partitions are going, and the group waits for us.
        this.#host.setAssignment([]);
        m.joinSent();
        this.#group.stopHeartbeat();
        this.#join = this.#group
          .join(this.#subscription)
          .catch((err: unknown) => toAppError(err, 'joining the group', { groupId: this.#groupId }));
      }
    }
    if (this.#join === undefined) {
      await this.#watchSubscribedTopics();
      return !m.needsJoin();
    }
    const done = await within(this.#join, deadline - performance.now());
    if (done === undefined) return false;
    this.#join = undefined;
    if (this.#host.closed()) return false;
    if (done instanceof AppError) {
      m.joinAbandoned(); // the next poll tries again
      if (m.isFailed() || (!done.retriable && done.code !== ErrorCode.LOG_FENCED)) throw done;
      await sleep(Math.min(200, Math.max(0, deadline - performance.now())));
      return false;
    }
    m.joined(done.memberId, done.generationId, performance.now());
    this.#joinedCounts = done.partitionCounts;
    this.#countsCheckedAt = performance.now();
    this.#host.setAssignment(done.assignment);
    this.#group.startHeartbeat();
    await this.#host.positionsResolved().catch((err: unknown) => {
      throw toAppError(err, 'resolving start offsets', { groupId: this.#groupId });
    });
    await this.#listener?.onPartitionsAssigned?.(this.#host.assignment());
    return !m.needsJoin();
  }

  /**
   * Closing: give the partitions up (revoked, or lost when the member was removed; no listener call
   * when `callListener` is false) and leave the group (a static member stays until its session
   * times out, so that a restart keeps its assignment).
   */
  async close(callListener: boolean): Promise<void> {
    const m = this.membership;
    this.#group.stopHeartbeat();
    try {
      if (callListener && m.generationId >= 0) {
        const owned = this.#host.assignment();
        if (owned.length > 0) await this.#giveUp(m.canCommit() ? 'revoke' : 'lose', owned);
      }
    } finally {
      if (m.leaveOnClose()) await this.#group.leave(m.memberId, 'consumer closed');
    }
  }

  /** Revoked (the member may commit them) or lost (it may not: someone else may own them now). */
  async #giveUp(how: 'revoke' | 'lose', owned: TopicPartition[]): Promise<void> {
    const listener = this.#listener;
    if (listener === undefined) return;
    if (how === 'lose' && listener.onPartitionsLost !== undefined) await listener.onPartitionsLost(owned);
    else await listener.onPartitionsRevoked?.(owned);
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
      now = await this.#group.partitionCounts(this.#subscription);
    } catch {
      return; // the cluster is unreachable for a moment: check again next time
    }
    for (const topic of this.#subscription) {
      if (now.get(topic) !== this.#joinedCounts.get(topic))
        this.membership.requestRejoin(`topic ${topic} changed`);
    }
  }
}

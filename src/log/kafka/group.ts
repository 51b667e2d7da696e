/**
 * The classic group protocol's requests for one consumer (JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup), driven by the state machine in ./membership.ts. The leader assigns with the shared
 * range assignor (src/log/assignor.ts), ordering static members by their instance id so that an
 * assignment survives restarts.
 *
 * Rebalancing is eager (everything revoked, then assigned), not cooperative: our tasks' state is
 * committed with the offsets in one transaction, so a revoked task is closed clean and reopened by
 * a restore from its changelog; cooperative rebalancing would save that restore for the partitions
 * that stay, but needs a second rebalance and per-partition revocation that the port's listener does
 * not express. Static membership removes the common case (a restart) instead.
 */
import {
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
  type joinGroupV9,
  type Consumer as LibConsumer,
  type syncGroupV5,
} from '@platformatic/kafka';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { rangeAssign } from '../assignor.ts';
import type { TopicPartition } from '../types.ts';
import { Coordinators } from './coordinator.ts';
import { apiIdOf, isUnknownTopicError, toAppError } from './errors.ts';
import type { GroupMembership } from './membership.ts';
import { getMetadata } from './wire.ts';

type JoinGroupResponse = joinGroupV9.JoinGroupResponse;
type SyncGroupResponse = syncGroupV5.SyncGroupResponse;

/** Default session timeout (ms): a member that stops heartbeating for this long leaves the group. */
export const SESSION_TIMEOUT_MS = 10_000;
/**
 * Longest rebalance timeout (ms): how long a rebalance waits for members to rejoin (their `poll`).
 * A member's is its poll interval (as Java's), at most this.
 */
export const REBALANCE_TIMEOUT_MS = 30_000;

/** A member's group timeouts, ms. */
export interface GroupTimeouts {
  readonly sessionMs: number;
  readonly rebalanceMs: number;
}
/** Heartbeat interval (ms): also how quickly a member learns that a rebalance started. */
const HEARTBEAT_INTERVAL_MS = 300;
const ASSIGNOR = 'range';
/** JoinGroup/SyncGroup rounds (each answered with a retriable group error) before giving up. */
const JOIN_ROUNDS = 50;

export interface JoinResult {
  readonly generationId: number;
  readonly memberId: string;
  readonly assignment: TopicPartition[];
  /** Partition counts of the subscribed topics right after the join (undefined: no such topic). */
  readonly partitionCounts: Map<string, number | undefined>;
}

export class GroupClient {
  readonly groupId: string;
  readonly membership: GroupMembership;
  readonly #client: LibConsumer;
  readonly #coordinators: Coordinators;
  readonly #isPolling: () => boolean;
  readonly #timeouts: GroupTimeouts;
  #beat: NodeJS.Timeout | undefined;
  /** Bumped by every start/stop: a heartbeat in flight from an older loop does not reschedule. */
  #beatLoop = 0;
  #closed = false;

  constructor(
    client: LibConsumer,
    membership: GroupMembership,
    signal: AbortSignal,
    isPolling: () => boolean,
    timeouts: GroupTimeouts,
  ) {
    this.groupId = membership.groupId;
    this.#timeouts = timeouts;
    this.membership = membership;
    this.#client = client;
    this.#coordinators = new Coordinators(client, 'group', signal);
    this.#isPolling = isPolling;
    signal.addEventListener('abort', () => {
      this.#closed = true;
      this.stopHeartbeat();
    });
  }

  /** A request to the group coordinator, retried while the coordinator moves or is unreachable. */
  call<R>(doing: string, api: string, args: readonly unknown[]): Promise<R> {
    return this.#coordinators.call<R>(this.groupId, doing, { groupId: this.groupId }, api, args);
  }

  /** JoinGroup then SyncGroup, again while the group answers with retriable member errors. */
  async join(subscription: readonly string[]): Promise<JoinResult> {
    const m = this.membership;
    const protocols = [
      {
        name: ASSIGNOR,
        metadata: encodeConsumerProtocolSubscription({ version: 0, topics: [...subscription] }),
      },
    ];
    for (let round = 0; ; round++) {
      if (this.#closed) throw new AppError(ErrorCode.LOG_CLOSED, 'the consumer is closed');
      let joined: JoinGroupResponse;
      try {
        joined = await this.call<JoinGroupResponse>('joining the group', 'JoinGroup', [
          this.groupId,
          this.#timeouts.sessionMs,
          this.#timeouts.rebalanceMs,
          m.joinMemberId,
          m.groupInstanceId,
          'consumer',
          protocols,
          null,
        ]);
      } catch (err) {
        const cause = err instanceof AppError ? err.cause : err;
        if (
          round < JOIN_ROUNDS &&
          m.joinFailed(apiIdOf(cause), findResponse<JoinGroupResponse>(cause)?.memberId)
        ) {
          continue;
        }
        throw this.#failure(err, 'joining the group');
      }
      m.joinAnswered(joined.memberId);
      const assignments =
        joined.leader === joined.memberId && !joined.skipAssignment ? await this.#assign(joined) : [];
      let synced: SyncGroupResponse;
      try {
        synced = await this.call<SyncGroupResponse>('syncing the group', 'SyncGroup', [
          this.groupId,
          joined.generationId,
          joined.memberId,
          m.groupInstanceId,
          'consumer',
          joined.protocolName,
          assignments,
        ]);
      } catch (err) {
        const cause = err instanceof AppError ? err.cause : err;
        if (round < JOIN_ROUNDS && m.joinFailed(apiIdOf(cause))) continue;
        throw this.#failure(err, 'syncing the group');
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
      const partitionCounts = await this.partitionCounts(subscription);
      return { generationId: joined.generationId, memberId: joined.memberId, assignment, partitionCounts };
    }
  }

  #failure(err: unknown, doing: string): AppError {
    if (this.membership.state === 'failed') {
      return new AppError(ErrorCode.LOG_FENCED, `group ${this.groupId}: ${this.membership.reason}`, {
        context: { groupId: this.groupId, groupInstanceId: this.membership.groupInstanceId },
        cause: err,
      });
    }
    return toAppError(err, doing, { groupId: this.groupId });
  }

  /** The leader's job: the range assignor over the members' subscriptions. */
  async #assign(joined: JoinGroupResponse): Promise<{ memberId: string; assignment: Buffer }[]> {
    const subs = new Map<string, string[]>();
    const memberOf = new Map<string, string>();
    for (const member of joined.members) {
      // Static members are ordered by instance id (stable across restarts), as Kafka's assignors do.
      const key = member.groupInstanceId ?? member.memberId;
      memberOf.set(key, member.memberId);
      subs.set(key, decodeConsumerProtocolSubscription(member.metadata).topics);
    }
    const counts = await this.partitionCounts([...new Set([...subs.values()].flat())].sort());
    const result = rangeAssign(subs, counts);
    return [...result].map(([key, tps]) => {
      const byTopic = new Map<string, number[]>();
      for (const tp of tps) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
      return {
        memberId: memberOf.get(key) as string,
        assignment: encodeConsumerProtocolAssignment({
          version: 0,
          assignedPartitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
        }),
      };
    });
  }

  /** Partition counts of topics (undefined for a topic that does not exist). */
  async partitionCounts(topics: readonly string[]): Promise<Map<string, number | undefined>> {
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

  /**
   * Heartbeat every HEARTBEAT_INTERVAL_MS while the membership wants it (from the join until the
   * next JoinGroup), and run the poll-interval watchdog. A heartbeat without answer is simply
   * repeated: the session timeout decides.
   */
  startHeartbeat(): void {
    this.stopHeartbeat();
    const loop = ++this.#beatLoop;
    const m = this.membership;
    const beat = async (): Promise<void> => {
      if (this.#closed || loop !== this.#beatLoop || !m.heartbeatWanted()) return;
      if (!this.#isPolling() && m.pollExpired(performance.now())) {
        if (!m.leaveOnExpiry()) return;
        await this.leave(m.memberId, 'poll interval exceeded');
        return;
      }
      let answer: string | undefined;
      try {
        await this.#coordinators.callOnce(this.groupId, 'heartbeat', { groupId: this.groupId }, 'Heartbeat', [
          this.groupId,
          m.generationId,
          m.memberId,
          m.groupInstanceId,
        ]);
      } catch (err) {
        const cause = err instanceof AppError ? err.cause : err;
        answer = apiIdOf(cause) ?? 'NETWORK';
      }
      if (loop !== this.#beatLoop) return;
      if (m.answered(answer) === 'continue') this.#beat = setTimeout(beat, HEARTBEAT_INTERVAL_MS).unref();
    };
    this.#beat = setTimeout(beat, HEARTBEAT_INTERVAL_MS).unref();
  }

  stopHeartbeat(): void {
    this.#beatLoop++;
    clearTimeout(this.#beat);
    this.#beat = undefined;
  }

  /** LeaveGroup for `memberId` (best effort: the session timeout removes a member that cannot). */
  async leave(memberId: string, reason: string): Promise<void> {
    if (memberId === '') return;
    try {
      await this.#coordinators.callOnce(
        this.groupId,
        'leaving the group',
        { groupId: this.groupId },
        'LeaveGroup',
        [this.groupId, [{ memberId, groupInstanceId: this.membership.groupInstanceId, reason }]],
      );
    } catch {
      // the session timeout removes it
    }
  }
}

/** The response carried by a client error (a partition-level error fails a whole response). */
export function findResponse<R>(err: unknown): R | undefined {
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

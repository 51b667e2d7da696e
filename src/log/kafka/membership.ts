/**
 * Membership of one consumer in a Kafka consumer group (the classic protocol: JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup), as an explicit state machine with no I/O: the group step
 * (group-member.ts) and the protocol requests (group.ts) feed the answers in; this module decides
 * what they mean.
 *
 *   unjoined ──join sent──▶ joining ──joined──▶ stable ──REBALANCE_IN_PROGRESS──▶ rebalancing
 *       ▲                      │ ▲                │  ▲                               │
 *       │                      │ └──join sent─────┼──┼───────────────────────────────┘
 *       │                      │                  │  │
 *       │               member errors      member errors / poll interval exceeded
 *       │                      ▼                  ▼
 *       │                     lost ◀──────────────┘           (lost ──join sent──▶ joining)
 *       └── close ──▶ closed   FENCED_INSTANCE_ID anywhere ──▶ failed
 *
 * Contracts:
 * - The generation and member id of the last successful join are kept (and reported by
 *   `groupMetadata()`) until the next successful join, whatever happens meanwhile: a transactional
 *   offset commit always carries them, so the broker refuses a commit of a member that is no longer
 *   part of the group (ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID) instead of skipping the check, as it
 *   does for generation -1.
 * - A lost member (removed by the coordinator, its generation over, or its poll interval exceeded)
 *   never commits: `canCommit()` is false, and its partitions are given up as "lost" (the listener's
 *   `onPartitionsLost`: close without commit) before it rejoins.
 * - Heartbeats continue from the join until the next JoinGroup is sent, through a rebalance too:
 *   a member busy in `onPartitionsRevoked` stays in the group while it commits.
 * - Poll-interval watchdog (Java's `max.poll.interval.ms`): a member whose processing loop has not
 *   called `poll` for `maxPollIntervalMs` leaves the group (LeaveGroup for a dynamic member; a static
 *   member stops heartbeating and the session timeout removes it) and is lost.
 * - Static membership (`groupInstanceId`): the member id is still the broker's, but a restart within
 *   the session timeout rejoins as the same member (no rebalance); a static member closing does not
 *   leave the group. FENCED_INSTANCE_ID (another process joined with our instance id) is fatal.
 */

export type MemberState = 'unjoined' | 'joining' | 'stable' | 'rebalancing' | 'lost' | 'failed' | 'closed';

/** What the consumer does after a heartbeat answer. */
export type HeartbeatOutcome = 'continue' | 'stop';

export interface MembershipOptions {
  readonly groupId: string;
  /** Static membership: Kafka's `group.instance.id`. */
  readonly groupInstanceId?: string | undefined;
  /** Java's `max.poll.interval.ms`. */
  readonly maxPollIntervalMs: number;
}

/** Kafka error ids that end a member's generation. */
const MEMBER_LOST = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION']);

export class GroupMembership {
  readonly groupId: string;
  readonly groupInstanceId: string | null;
  readonly maxPollIntervalMs: number;
  #state: MemberState = 'unjoined';
  /** The member id to send in the next JoinGroup ('' asks the broker for a new one). */
  #joinMemberId = '';
  /** The last successful join's generation and member id. */
  #generationId = -1;
  #memberId = '';
  #lastPollAt: number | undefined;
  #why = '';

  constructor(options: MembershipOptions) {
    this.groupId = options.groupId;
    this.groupInstanceId = options.groupInstanceId ?? null;
    this.maxPollIntervalMs = options.maxPollIntervalMs;
  }

  get state(): MemberState {
    return this.#state;
  }

  /** Why the member is lost, failed or rebalancing (for errors and diagnostics). */
  get reason(): string {
    return this.#why;
  }

  /** The member id to put in JoinGroup. */
  get joinMemberId(): string {
    return this.#joinMemberId;
  }

  /** The member id and generation to heartbeat with (those of the last join). */
  get memberId(): string {
    return this.#memberId;
  }

  get generationId(): number {
    return this.#generationId;
  }

  /** Kept from the last successful join until the next one (-1 / '' before the first). */
  groupMetadata(): { groupId: string; generationId: number; memberId: string; groupInstanceId?: string } {
    return {
      groupId: this.groupId,
      generationId: this.#generationId,
      memberId: this.#memberId,
      ...(this.groupInstanceId === null ? {} : { groupInstanceId: this.groupInstanceId }),
    };
  }

  /** Another process took our instance id: fatal. */
  isFailed(): boolean {
    return this.#state === 'failed';
  }

  /** Whether the member must (re)join before it may fetch. */
  needsJoin(): boolean {
    return this.#state === 'unjoined' || this.#state === 'rebalancing' || this.#state === 'lost';
  }

  /** Whether offsets may be committed for the current assignment. */
  canCommit(): boolean {
    return this.#state === 'stable' || this.#state === 'rebalancing';
  }

  /** Heartbeats run in these states only: from the join until the next JoinGroup is sent. */
  heartbeatWanted(): boolean {
    return this.#state === 'stable' || this.#state === 'rebalancing';
  }

  /** How the partitions owned now are given up before the next join. */
  giveUp(): 'revoke' | 'lose' | 'none' {
    if (this.#state === 'rebalancing') return 'revoke';
    if (this.#state === 'lost') return 'lose';
    return 'none';
  }

  /** A rebalance is wanted by us (subscription or partition counts changed). */
  requestRejoin(why: string): void {
    if (this.#state === 'stable') {
      this.#state = 'rebalancing';
      this.#why = why;
    } else if (this.#state === 'unjoined' || this.#state === 'joining') {
      this.#why = why;
    }
  }

  /** JoinGroup is about to be sent: heartbeats stop. */
  joinSent(): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    this.#state = 'joining';
  }

  /**
   * An error answered to JoinGroup or SyncGroup. MEMBER_ID_REQUIRED hands out the member id to use;
   * member errors start over with a new member id. Returns whether to send JoinGroup again now.
   */
  joinFailed(apiId: string | undefined, memberIdFromBroker?: string): boolean {
    if (apiId === 'MEMBER_ID_REQUIRED') {
      this.#joinMemberId = memberIdFromBroker ?? '';
      return true;
    }
    if (apiId === 'FENCED_INSTANCE_ID') {
      this.#fail(`another process joined group ${this.groupId} as instance ${this.groupInstanceId}`);
      return false;
    }
    if (apiId === 'UNKNOWN_MEMBER_ID') {
      this.#joinMemberId = '';
      return true;
    }
    return apiId === 'ILLEGAL_GENERATION' || apiId === 'REBALANCE_IN_PROGRESS';
  }

  /** JoinGroup answered with our member id (before SyncGroup). */
  joinAnswered(memberId: string): void {
    this.#joinMemberId = memberId;
  }

  /** SyncGroup answered: the member is part of `generationId` with its assignment. */
  joined(memberId: string, generationId: number, now: number): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    this.#joinMemberId = memberId;
    this.#memberId = memberId;
    this.#generationId = generationId;
    this.#state = 'stable';
    this.#why = '';
    this.#lastPollAt = now;
  }

  /** The join failed for good or for now (network): try again at the next poll. */
  joinAbandoned(): void {
    if (this.#state === 'joining') this.#state = this.#generationId < 0 ? 'unjoined' : 'lost';
  }

  /**
   * The coordinator's answer to a heartbeat or an offset commit (`apiId` undefined: no error;
   * 'NETWORK': no answer).
   */
  answered(apiId: string | undefined): HeartbeatOutcome {
    if (!this.heartbeatWanted()) return 'stop';
    if (apiId === undefined || apiId === 'NETWORK') return 'continue'; // the session timeout decides
    if (apiId === 'REBALANCE_IN_PROGRESS') {
      if (this.#state === 'stable') {
        this.#state = 'rebalancing';
        this.#why = 'the coordinator started a rebalance';
      }
      return 'continue';
    }
    if (MEMBER_LOST.has(apiId)) {
      this.#lose(`the coordinator answered ${apiId} (generation ${this.#generationId})`);
      if (apiId === 'UNKNOWN_MEMBER_ID') this.#joinMemberId = '';
      return 'stop';
    }
    if (apiId === 'FENCED_INSTANCE_ID') {
      this.#fail(`another process joined group ${this.groupId} as instance ${this.groupInstanceId}`);
      return 'stop';
    }
    return 'continue'; // coordinator moved or loading: re-discovered by the caller
  }

  /** The processing loop called poll. */
  polled(now: number): void {
    this.#lastPollAt = now;
  }

  /**
   * The watchdog, checked with each heartbeat: true when the poll interval was exceeded just now
   * (the member is lost; the caller sends LeaveGroup when `leaveOnExpiry()`).
   */
  pollExpired(now: number): boolean {
    if (!this.heartbeatWanted() || this.#lastPollAt === undefined) return false;
    if (now - this.#lastPollAt <= this.maxPollIntervalMs) return false;
    this.#lose(`poll() was not called for ${now - this.#lastPollAt} ms (max ${this.maxPollIntervalMs} ms)`);
    if (this.leaveOnExpiry()) this.#joinMemberId = ''; // the member id dies with the LeaveGroup
    return true;
  }

  /** A dynamic member says goodbye; a static one keeps its place until the session timeout. */
  leaveOnExpiry(): boolean {
    return this.groupInstanceId === null;
  }

  /** Whether close() sends LeaveGroup. */
  leaveOnClose(): boolean {
    return this.groupInstanceId === null && this.#memberId !== '';
  }

  close(): void {
    this.#state = 'closed';
  }

  #lose(why: string): void {
    this.#state = 'lost';
    this.#why = why;
  }

  #fail(why: string): void {
    this.#state = 'failed';
    this.#why = why;
  }
}

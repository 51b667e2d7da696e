import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GroupMembership } from '../../../src/log/kafka/membership.ts';

// The answers below are those a 4.1 broker gives (the error ids of Heartbeat, JoinGroup, SyncGroup);
// the fault tests (test/streams/kafka-faults.test.ts) drive the same transitions on a real broker.
const member = (groupInstanceId?: string) =>
  new GroupMembership({ groupId: 'g', groupInstanceId, maxPollIntervalMs: 1_000 });

/** The observable state after each step. */
const snap = (m: GroupMembership) => ({
  state: m.state,
  meta: m.groupMetadata(),
  join: m.joinMemberId,
  commit: m.canCommit(),
  beat: m.heartbeatWanted(),
});

test('first join: MEMBER_ID_REQUIRED hands out the member id; joined → stable', () => {
  const m = member();
  const steps = [snap(m)];
  m.joinSent();
  assert.equal(m.joinFailed('MEMBER_ID_REQUIRED', 'm-1'), true);
  m.joinAnswered('m-1');
  m.joined('m-1', 1, 0);
  steps.push(snap(m));
  assert.deepStrictEqual(steps, [
    {
      state: 'unjoined',
      meta: { groupId: 'g', generationId: -1, memberId: '' },
      join: '',
      commit: false,
      beat: false,
    },
    {
      state: 'stable',
      meta: { groupId: 'g', generationId: 1, memberId: 'm-1' },
      join: 'm-1',
      commit: true,
      beat: true,
    },
  ]);
});

test('a rebalance: heartbeats and commits go on with the current generation until JoinGroup is sent', () => {
  const m = member();
  m.joined('m-1', 4, 0);
  const outcome = m.answered('REBALANCE_IN_PROGRESS');
  const during = { outcome, ...snap(m), giveUp: m.giveUp() };
  m.joinSent();
  const joining = snap(m);
  m.joined('m-1', 5, 10);
  assert.deepStrictEqual(
    { during, joining, after: snap(m).meta },
    {
      during: {
        outcome: 'continue',
        state: 'rebalancing',
        meta: { groupId: 'g', generationId: 4, memberId: 'm-1' },
        join: 'm-1',
        commit: true,
        beat: true,
        giveUp: 'revoke',
      },
      joining: {
        state: 'joining',
        meta: { groupId: 'g', generationId: 4, memberId: 'm-1' },
        join: 'm-1',
        commit: false,
        beat: false,
      },
      after: { groupId: 'g', generationId: 5, memberId: 'm-1' },
    },
  );
});

test('removed (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION): lost, never commits, keeps generation and member id', () => {
  const results = ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION'].map((id) => {
    const m = member();
    m.joined('m-1', 7, 0);
    const outcome = m.answered(id);
    const lost = { outcome, ...snap(m), giveUp: m.giveUp(), needsJoin: m.needsJoin() };
    m.joinSent();
    m.joinAbandoned(); // the coordinator is unreachable: still lost, still no commit
    return { lost, retry: { state: m.state, commit: m.canCommit(), meta: m.groupMetadata() } };
  });
  assert.deepStrictEqual(results, [
    {
      lost: {
        outcome: 'stop',
        state: 'lost',
        meta: { groupId: 'g', generationId: 7, memberId: 'm-1' },
        join: '',
        commit: false,
        beat: false,
        giveUp: 'lose',
        needsJoin: true,
      },
      retry: { state: 'lost', commit: false, meta: { groupId: 'g', generationId: 7, memberId: 'm-1' } },
    },
    {
      lost: {
        outcome: 'stop',
        state: 'lost',
        meta: { groupId: 'g', generationId: 7, memberId: 'm-1' },
        join: 'm-1',
        commit: false,
        beat: false,
        giveUp: 'lose',
        needsJoin: true,
      },
      retry: { state: 'lost', commit: false, meta: { groupId: 'g', generationId: 7, memberId: 'm-1' } },
    },
  ]);
});

test('network trouble and a moving coordinator do not end the membership (the session timeout decides)', () => {
  const m = member();
  m.joined('m-1', 2, 0);
  const outcomes = ['NETWORK', 'NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS', undefined].map((id) =>
    m.answered(id),
  );
  assert.deepStrictEqual(
    { outcomes, state: m.state },
    { outcomes: ['continue', 'continue', 'continue', 'continue'], state: 'stable' },
  );
});

test('poll-interval watchdog: a dynamic member leaves (new member id), a static one keeps its id', () => {
  const run = (instance?: string) => {
    const m = member(instance);
    m.joined('m-1', 3, 0);
    m.polled(500);
    const early = m.pollExpired(1_400);
    const late = m.pollExpired(1_600);
    return {
      early,
      late,
      state: m.state,
      leave: m.leaveOnExpiry(),
      join: m.joinMemberId,
      commit: m.canCommit(),
    };
  };
  assert.deepStrictEqual(
    [run(), run('i-1')],
    [
      { early: false, late: true, state: 'lost', leave: true, join: '', commit: false },
      { early: false, late: true, state: 'lost', leave: false, join: 'm-1', commit: false },
    ],
  );
});

test('static membership: the instance id is reported, close does not leave, FENCED_INSTANCE_ID is fatal', () => {
  const m = member('i-1');
  m.joined('m-1', 9, 0);
  const meta = m.groupMetadata();
  const leaveOnClose = m.leaveOnClose();
  const outcome = m.answered('FENCED_INSTANCE_ID');
  const dynamic = member();
  dynamic.joined('m-2', 1, 0);
  dynamic.joinSent();
  const retryJoin = dynamic.joinFailed('FENCED_INSTANCE_ID');
  assert.deepStrictEqual(
    {
      meta,
      leaveOnClose,
      outcome,
      failed: m.isFailed(),
      commit: m.canCommit(),
      retryJoin,
      dynamicFailed: dynamic.isFailed(),
      dynamicLeaves: member().leaveOnClose(),
    },
    {
      meta: { groupId: 'g', generationId: 9, memberId: 'm-1', groupInstanceId: 'i-1' },
      leaveOnClose: false,
      outcome: 'stop',
      failed: true,
      commit: false,
      retryJoin: false,
      dynamicFailed: true,
      dynamicLeaves: false,
    },
  );
});

test('join errors: UNKNOWN_MEMBER_ID starts over with a new id, REBALANCE_IN_PROGRESS and ILLEGAL_GENERATION retry', () => {
  const m = member();
  m.joined('m-1', 1, 0);
  m.answered('UNKNOWN_MEMBER_ID');
  m.joinSent();
  const answers = [
    'REBALANCE_IN_PROGRESS',
    'ILLEGAL_GENERATION',
    'UNKNOWN_MEMBER_ID',
    'INVALID_GROUP_ID',
  ].map((id) => m.joinFailed(id));
  assert.deepStrictEqual({ answers, join: m.joinMemberId }, { answers: [true, true, true, false], join: '' });
});

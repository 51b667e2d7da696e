/** user-activity through TopologyTestDriver: a worked example, and oracle tests on generated traffic. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type ChatMessageWire,
  formatRfc3339,
  type MessageViewWire,
  Topics,
  UserActivityMetricSchema,
} from '../../../src/events/index.ts';
import { userActivityTopology } from '../../../src/processors/user-activity/index.ts';
import { Codecs, TopologyTestDriver } from '../../../src/streams/index.ts';
import { wireOf } from '../delivery.ts';
import { activityTraffic, type Event, joinUnits, sortMetrics, viewWireOf, windowsOf } from './oracle.ts';

const key = Codecs.nullable(Codecs.string);
const FAR = Date.UTC(2030, 0, 1);

function driverFor() {
  const driver = new TopologyTestDriver(userActivityTopology({ windowMs: 60_000, graceMs: 5_000 }), {
    applicationId: 'ua-test',
  });
  return {
    driver,
    messages: driver.createInputTopic(Topics.chatMessages.name, {
      key,
      value: Codecs.json<ChatMessageWire>(),
    }),
    views: driver.createInputTopic(Topics.messageViews.name, { key, value: Codecs.json<MessageViewWire>() }),
    output: driver.createOutputTopic(Topics.userActivityMetrics.name, {
      key: Codecs.string,
      value: Codecs.schema(UserActivityMetricSchema),
    }),
  };
}

const flushMessage: ChatMessageWire = {
  message_id: 'flush',
  content: '',
  timestamp: formatRfc3339(FAR),
  conversation_id: 'zz',
  sender_id: 'zz-flush',
  receiver_id: 'zz-flush',
};

function run(events: readonly Event[]) {
  const { driver, messages, views, output } = driverFor();
  for (const e of events) {
    if (e.kind === 'm') messages.pipe(e.m.conversation, wireOf(e.m), e.m.arrival);
    else views.pipe(e.v.viewer, viewWireOf(e.v), e.v.arrival);
  }
  messages.pipe('zz', flushMessage, FAR);
  const records = output.readRecords();
  return {
    metrics: records.map((r) => r.value),
    keys: records.every((r) => r.key === r.value.user_id),
    late: driver.metrics().lateRecords,
    stateEntries: driver.metrics().stateEntries,
  };
}

test('worked example: sent, received, reads by the receiver only (also when the receipt comes first), conversations', () => {
  const { driver, messages, views, output } = driverFor();
  const t0 = Date.UTC(2025, 10, 8, 14, 0, 0);
  const m = (id: string, s: number, from: string, to: string, conv: string): ChatMessageWire => ({
    message_id: id,
    content: 'hi',
    timestamp: formatRfc3339(t0 + s * 1000),
    conversation_id: conv,
    sender_id: from,
    receiver_id: to,
  });
  const v = (id: string, s: number, user: string): MessageViewWire => ({
    message_id: id,
    user_id: user,
    viewed_at: formatRfc3339(t0 + s * 1000),
  });
  views.pipe('bob', v('m2', 21, 'bob')); // before its message
  messages.pipe('c1', m('m1', 10, 'alice', 'bob', 'c1'));
  messages.pipe('c2', m('m2', 20, 'alice', 'bob', 'c2'));
  messages.pipe('c1', m('m3', 30, 'bob', 'alice', 'c1'));
  views.pipe('bob', v('m1', 40, 'bob'));
  views.pipe('bob', v('m1', 45, 'bob')); // a second device: another read
  views.pipe('carol', v('m1', 46, 'carol')); // not the receiver: no read
  views.pipe('bob', v('m3', 50, 'bob')); // the sender viewing their own message: no read
  messages.pipe('c3', m('m4', 70, 'alice', 'carol', 'c3')); // next minute
  messages.pipe('c1', m('m5', 54, 'alice', 'bob', 'c1')); // the first minute closed at 14:01:05: late
  // m4 moved stream time to 14:01:10, past the first minute's end + grace: it closed and was emitted.
  const closedByM4 = output.readValues();
  messages.pipe('zz', flushMessage);
  assert.deepStrictEqual(
    { closedByM4, afterFlush: sortMetrics(output.readValues()), late: driver.metrics().lateRecords },
    {
      closedByM4: [
        {
          user_id: 'alice',
          window_start: '2025-11-08T14:00:00.000Z',
          window_end: '2025-11-08T14:01:00.000Z',
          messages_sent: 2,
          messages_received: 1,
          reads: 0,
          active_conversations: 2,
        },
        {
          user_id: 'bob',
          window_start: '2025-11-08T14:00:00.000Z',
          window_end: '2025-11-08T14:01:00.000Z',
          messages_sent: 1,
          messages_received: 2,
          reads: 3,
          active_conversations: 2,
        },
      ],
      afterFlush: [
        {
          user_id: 'alice',
          window_start: '2025-11-08T14:01:00.000Z',
          window_end: '2025-11-08T14:02:00.000Z',
          messages_sent: 1,
          messages_received: 0,
          reads: 0,
          active_conversations: 1,
        },
        {
          user_id: 'carol',
          window_start: '2025-11-08T14:01:00.000Z',
          window_end: '2025-11-08T14:02:00.000Z',
          messages_sent: 0,
          messages_received: 1,
          reads: 0,
          active_conversations: 1,
        },
      ],
      // m5 counts late twice: its sent (alice) and its received (bob).
      late: 2,
    },
  );
});

test('oracle: per user per minute, each window once, out of order within grace and late beyond it', () => {
  for (const seed of [1, 2]) {
    const events = activityTraffic({
      seed,
      users: 25,
      minutes: 15,
      disorderP: 0.3,
      disorderMs: 4_000,
      lateP: 0.02,
    });
    const got = run(events);
    const want = windowsOf([joinUnits(events)], 60_000, 5_000);
    assert.deepStrictEqual(
      {
        metrics: sortMetrics(got.metrics.filter((m) => m.user_id !== 'zz-flush')),
        keys: got.keys,
        late: got.late,
        stateEntries: got.stateEntries,
      },
      // Left in state: the flush message's receiver entry and its open window.
      { metrics: want.metrics, keys: true, late: want.late, stateEntries: 2 },
    );
    // Every window at most once (sortMetrics keeps duplicates, so the equality above shows it too).
    assert.ok(want.late > 20 && want.metrics.some((m) => m.reads > 0), `seed ${seed}: late and reads`);
  }
});

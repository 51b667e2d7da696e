import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeChatMessage, decodeMessageView } from '../../src/events/index.ts';
import { takeTraffic } from '../../src/generator/index.ts';

test('the same seed gives the same traffic; another seed another', () => {
  assert.deepStrictEqual(takeTraffic(2000, { seed: 7 }), takeTraffic(2000, { seed: 7 }));
  assert.notDeepStrictEqual(takeTraffic(50, { seed: 7 }), takeTraffic(50, { seed: 8 }));
});

test('traffic is valid seed wire format, in event-time order, with what the processors must find', () => {
  const events = takeTraffic(20_000, { seed: 3, messagesPerSecond: 20 });
  const messages = new Map<string, ReturnType<typeof decodeChatMessage>>();
  let last = Number.NEGATIVE_INFINITY;
  let views = 0;
  let receiverViews = 0;
  for (const e of events) {
    assert.ok(e.timeMs >= last, 'event time never goes back');
    last = e.timeMs;
    if (e.kind === 'message') {
      const m = decodeChatMessage(JSON.stringify(e.value));
      assert.equal(e.key, m.conversation_id);
      assert.equal(m.timestamp, e.timeMs);
      assert.ok(!messages.has(m.message_id), 'message ids are unique');
      messages.set(m.message_id, m);
    } else {
      const v = decodeMessageView(JSON.stringify(e.value));
      const m = messages.get(v.message_id);
      assert.ok(m !== undefined && v.viewed_at > m.timestamp, 'a view follows its message');
      assert.equal(e.key, v.user_id);
      views++;
      if (v.user_id === m.receiver_id) receiverViews++;
    }
  }
  // Stable participants: every conversation has exactly one pair of users.
  const pairs = new Map<string, Set<string>>();
  for (const m of messages.values()) {
    const p = pairs.get(m.conversation_id) ?? new Set();
    p.add(m.sender_id).add(m.receiver_id);
    pairs.set(m.conversation_id, p);
  }
  assert.ok([...pairs.values()].every((p) => p.size === 2));
  // Spam bursts: some sender has ≥ 8 messages within 60 s.
  const bySender = new Map<string, number[]>();
  for (const m of messages.values())
    bySender.set(m.sender_id, [...(bySender.get(m.sender_id) ?? []), m.timestamp]);
  const burst = [...bySender.values()].some((ts) => ts.some((t, i) => (ts[i + 7] ?? Infinity) - t < 60_000));
  // Trending topics: a word that appears in ≥ 10% of the messages of some 2-minute window.
  const text = [...messages.values()].map((m) => m.content.toLowerCase()).join(' ');
  const summary = {
    burst,
    trending: /eclipse|playoffs|concert|hackathon/.test(text),
    mostlyReadByReceiver: receiverViews / views > 0.8,
    someViewsByOthers: receiverViews < views,
  };
  assert.deepStrictEqual(summary, {
    burst: true,
    trending: true,
    mostlyReadByReceiver: true,
    someViewsByOthers: true,
  });
});

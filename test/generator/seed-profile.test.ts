import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeChatMessage, decodeMessageView } from '../../src/events/index.ts';
import { formatGoRfc3339, takeTrafficWithTruth } from '../../src/generator/index.ts';

const SENTENCES = [
  'Need to schedule a meeting for the project',
  'Deadline for Q3 deliverables is approaching',
  "Let's discuss the new feature implementation",
  'Client presentation tomorrow at 2 PM',
  'Code review session this afternoon',
  'Anyone want to grab lunch later?',
  'Great party last night! Thanks everyone',
  'Check out this amazing restaurant I found',
  'Weekend plans anyone?',
  'Movie night at my place this Saturday',
  'Just tried the new Kafka version, amazing features!',
  'Anyone working with Scala 3? Thoughts?',
  'Kubernetes deployment strategies discussion',
  'Machine learning model performance optimization',
  'React vs Vue for new frontend project',
];
const USERS = ['alice', 'bob', 'charlie', 'diana', 'eve', 'frank', 'grace', 'henry'];

test('Go RFC3339Nano timestamps: trailing zeros of the fraction trimmed', () => {
  const at = Date.UTC(2025, 10, 8, 14, 11, 31);
  assert.deepStrictEqual([at, at + 520, at + 500, at + 7, at + 100].map(formatGoRfc3339), [
    '2025-11-08T14:11:31Z',
    '2025-11-08T14:11:31.52Z',
    '2025-11-08T14:11:31.5Z',
    '2025-11-08T14:11:31.007Z',
    '2025-11-08T14:11:31.1Z',
  ]);
});

test('--profile seed is the seed producer’s workload', () => {
  const { events, truth } = takeTrafficWithTruth(8_000, { profile: 'seed', seed: 5 });
  const messages = events.filter((e) => e.kind === 'message');
  const byId = new Map(
    messages.map((e, i) => [e.value.message_id, { i, m: decodeChatMessage(JSON.stringify(e.value)) }]),
  );
  const views = events.filter((e) => e.kind === 'view');
  let receipts = 0;
  let others = 0;
  const problems: string[] = [];
  const pairs = new Map<string, Set<string>>();
  for (const [n, { m }] of [...byId.values()].entries()) {
    if (m.timestamp !== truth.startMs + n * 2000) problems.push(`${m.message_id} not on the 2 s beat`);
    if (!USERS.includes(m.sender_id) || !USERS.includes(m.receiver_id) || m.sender_id === m.receiver_id)
      problems.push(`${m.message_id} users`);
    if (!SENTENCES.includes(m.content) || m.message_type !== 'text') problems.push(`${m.message_id} content`);
    if (!/^conv-[1-5]$/.test(m.conversation_id)) problems.push(`${m.message_id} conversation`);
    const p = pairs.get(m.conversation_id) ?? new Set<string>();
    pairs.set(m.conversation_id, p.add(`${m.sender_id}>${m.receiver_id}`));
  }
  for (const e of views) {
    const v = decodeMessageView(JSON.stringify(e.value));
    const { i, m } = byId.get(v.message_id)!;
    const delayS = (v.viewed_at - m.timestamp) / 1000;
    if (v.device !== 'web' || !Number.isInteger(delayS)) problems.push(`view of ${v.message_id}`);
    if (v.user_id === m.receiver_id && delayS >= 1 && delayS <= 10) receipts++;
    else {
      // A random one of the last 50 messages, 5–19 s after the message that triggered it.
      const latest = (v.viewed_at - 5_000 - truth.startMs) / 2000;
      const earliest = (v.viewed_at - 19_000 - truth.startMs) / 2000 - 49;
      others++;
      if (i > latest || i < earliest) problems.push(`view of ${v.message_id} not recent`);
    }
  }
  const raw = JSON.stringify(messages[1]!.value);
  assert.deepStrictEqual(
    {
      problems,
      receiptShare: Math.abs(receipts / messages.length - 1 / 3) < 0.04,
      otherShare: Math.abs(others / messages.length - 1 / 10) < 0.03,
      pairsIndependentOfConversation: [...pairs.values()].every((p) => p.size > 20),
      goTimestamp: /"timestamp":"2025-11-08T14:00:02Z"/.test(raw),
      injected: [truth.spammers, truth.trends, truth.peaks],
    },
    {
      problems: [],
      receiptShare: true,
      otherShare: true,
      pairsIndependentOfConversation: true,
      goTimestamp: true,
      injected: [[], [], []],
    },
  );
});

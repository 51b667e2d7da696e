import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConversationMetric, ConversationMetricSchema, Topics } from '../../../src/events/index.ts';
import {
  conversationAnalyticsTopology,
  conversationRules,
  isLate,
} from '../../../src/processors/conversation-analytics/index.ts';
import { Codecs, TopologyTestDriver } from '../../../src/streams/index.ts';
import { wireOf } from '../delivery.ts';
import { expectedMetrics } from './oracle.ts';
import { acceptedBy, chatTraffic, START_MS as T } from './traffic.ts';

const SHAPE = {
  seed: 7,
  conversations: 25,
  minutes: 12,
  meanGapMs: 9_000,
  disorderP: 0.3,
  disorderMs: 4_000,
  lateP: 0.03,
};

function run(options: Parameters<typeof conversationRules>[0]) {
  const driver = new TopologyTestDriver(conversationAnalyticsTopology(options), { idleAdvanceMs: 1_000 });
  const input = driver.createInputTopic(Topics.chatMessages.name, {
    key: Codecs.nullable(Codecs.string),
    value: Codecs.json(),
  });
  const output = driver.createOutputTopic(Topics.conversationMetrics.name, {
    key: Codecs.string,
    value: Codecs.schema(ConversationMetricSchema),
  });
  return { driver, input, output };
}

test('oracle: every hopping window, its participants and peak flag equal a brute-force recomputation', () => {
  const rules = conversationRules({});
  const msgs = chatTraffic(SHAPE);
  const { driver, input, output } = run({});
  // Keys deliberately not the conversation: the processor re-keys by conversation_id itself.
  for (const m of msgs) input.pipe(m.sender, wireOf(m), m.arrival);
  const beforeIdle = output.readKeyValues();
  // Wall-clock quiet: idle advance moves stream time on, the last windows close and their baseline
  // history is dropped.
  driver.advanceWallClockTime(rules.baselineMs + rules.windowMs + 60_000);
  const records = [...beforeIdle, ...output.readKeyValues()];
  const { accepted, late } = acceptedBy(msgs, (ts, st) => isLate(rules, ts, st));
  const want = expectedMetrics(rules, accepted);
  assert.deepStrictEqual(
    { metrics: records.map(([, v]) => v), keys: records.map(([k]) => k), late: driver.metrics().lateRecords },
    { metrics: want, keys: want.map((m) => m.conversation_id), late },
  );
  const peaks = want.filter((m: ConversationMetric) => m.is_peak);
  assert.ok(
    late > 5 && peaks.length > 0 && peaks.some((p) => p.conversation_id === 'group-0'),
    `${late} late, ${peaks.length} peaks`,
  );
  assert.ok(want.some((m) => m.participant_count > 2) && driver.metrics().stateEntries === 0);
});

test('the windows close on idle: nothing before the grace has passed, everything after', () => {
  const { driver, input, output } = run({
    windowMs: 10_000,
    hopMs: 5_000,
    baselineMs: 20_000,
    graceMs: 2_000,
  });
  const wire = (id: string, ts: number, sender: string) =>
    wireOf({ seq: 0, id, sender, receiver: 'bob', conversation: 'c1', content: 'hi', ts, arrival: ts });
  input.pipe('c1', wire('a', T + 6_000, 'alice'), 1_000);
  input.pipe('c1', wire('b', T + 11_000, 'carol'), 6_000);
  // stream time T + 11 000: [T, T + 10 000) closes at T + 12 000, not yet.
  assert.deepStrictEqual(output.readValues(), []);
  driver.advanceWallClockTime(60_000);
  const at = (s: number) => new Date(T + s).toISOString();
  assert.deepStrictEqual(
    output.readValues().map((m) => [m.window_start, m.message_count, m.participant_count, m.baseline_count]),
    [
      [at(0), 1, 2, 0],
      [at(5_000), 2, 3, 0],
      [at(10_000), 1, 2, 0.5],
    ],
  );
});

test('windowMs and baselineMs must be multiples of hopMs', () => {
  assert.throws(() => conversationRules({ windowMs: 30_000, hopMs: 7_000 }), /multiple of hopMs/);
  assert.throws(() => conversationRules({ baselineMs: 12_500 }), /multiple of hopMs/);
});

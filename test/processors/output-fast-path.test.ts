import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Topics } from '../../src/events/index.ts';
import { fastOutput, isoInstantMs, OUTPUT_FIELDS } from '../../src/processors/output-fast-path.ts';
import { mutations as mutateAll } from './fast-path-cases.ts';

/**
 * The fast path must accept only what the schema accepts, and then give exactly its output (values
 * and key order: JSON.stringify compares both); where it declines, the schema decides.
 */
const OUTPUTS = [
  {
    topic: Topics.conversationMetrics,
    sample: {
      conversation_id: 'conv-7',
      window_start: '2025-11-08T14:11:30.000Z',
      window_end: '2025-11-08T14:12:00.000Z',
      window_kind: 'hopping',
      message_count: 12,
      participant_count: 3,
      is_peak: false,
      baseline_count: 1.25,
      peak_threshold: 10,
    },
  },
  {
    topic: Topics.trendingWords,
    sample: {
      word: 'kafka',
      window_start: '2024-02-29T23:58:00.000Z',
      window_end: '2024-03-01T00:00:00.000Z',
      count: 40,
      rank: 1,
      score: 6.5,
      baseline: 0,
    },
  },
  {
    topic: Topics.userActivityMetrics,
    sample: {
      user_id: 'user-0042',
      window_start: '2025-11-08T14:11:00.000Z',
      window_end: '2025-11-08T14:12:00.000Z',
      messages_sent: 3,
      messages_received: 0,
      reads: 2,
      active_conversations: 1,
    },
  },
  {
    topic: Topics.anomalyAlerts,
    sample: {
      alert_id: 'rate-user-1-abc',
      user_id: 'user-1',
      kind: 'rate',
      count: 9,
      threshold: 8,
      window_start: '2025-11-08T14:11:30.120Z',
      window_end: '2025-11-08T14:12:01.999Z',
      window_ms: 60_000,
      severity: 'low',
      first_message_id: 'm1',
      last_message_id: 'm9',
      trigger_message_id: 'm8',
      triggered_at: '2025-11-08T14:11:58.000Z',
      message_count: 9,
      status: 'open',
      version: 1,
    },
  },
] as const;

const ODD: unknown[] = [
  '',
  'x',
  0,
  -0,
  1,
  -1,
  1.5,
  2 ** 53,
  1e308,
  Number.POSITIVE_INFINITY,
  Number.NaN,
  null,
  true,
  false,
  [],
  {},
  'rate',
  'duplicate_content',
  'low',
  'high',
  'open',
  'retracted',
  'hopping',
  'tumbling',
  'other',
  '2025-11-08T14:11:31.123Z',
  '2025-11-08T14:11:31.12Z',
  '2025-11-08T14:11:31Z',
  '2025-11-08T14:11:31.123+00:00',
  '2025-11-08 14:11:31.123Z',
  '2025-02-29T00:00:00.000Z',
  '2024-02-29T00:00:00.000Z',
  '1900-02-29T00:00:00.000Z',
  '2000-02-29T00:00:00.000Z',
  '2025-04-31T00:00:00.000Z',
  '2025-11-08T24:00:00.000Z',
  '2025-11-08T23:60:00.000Z',
  '2025-11-08T23:59:60.000Z',
  '0099-01-01T00:00:00.000Z',
  '0000-02-29T00:00:00.000Z',
  '2025-13-01T00:00:00.000Z',
  '2025-00-01T00:00:00.000Z',
  '2025-1a-01T00:00:00.000Z',
  'not a time',
];

const mutations = (base: Record<string, unknown>): unknown[] => mutateAll(base, ODD);

test('output fast paths: the schema output exactly, or the schema decides', () => {
  for (const { topic, sample } of OUTPUTS) {
    const counts = { fast: 0, schema: 0 };
    for (const input of mutations(sample)) {
      const got = fastOutput(topic.name, input);
      const want = topic.schema.safeParse(input);
      if (got === undefined) {
        counts.schema++;
        continue;
      }
      counts.fast++;
      assert.ok(
        want.success,
        `${topic.name}: fast path accepted what the schema rejects: ${JSON.stringify(input)}`,
      );
      assert.equal(JSON.stringify(got), JSON.stringify(want.data), JSON.stringify(input));
      assert.deepEqual(got, want.data);
    }
    // Both paths were exercised: the fast one on valid records, the schema on the rest.
    assert.ok(counts.fast > 20 && counts.schema > 50, `${topic.name} ${JSON.stringify(counts)}`);
  }
});

test('output fast paths: each field list is its schema shape, in order', () => {
  for (const { topic } of OUTPUTS) {
    assert.deepEqual(
      OUTPUT_FIELDS[topic.name].map(([name]) => name),
      Object.keys(topic.schema.shape),
      topic.name,
    );
  }
});

test('isoInstantMs: Date.parse of every instant it accepts; declines the rest', () => {
  const texts = ODD.filter((v): v is string => typeof v === 'string');
  for (let i = 0; i < 2_000; i++) {
    const ms = Math.floor(Math.random() * Date.UTC(9999, 11, 31, 23, 59, 59, 999));
    texts.push(new Date(ms).toISOString());
  }
  let accepted = 0;
  for (const t of texts) {
    const got = isoInstantMs(t);
    const schemaOk = Topics.trendingWords.schema.shape.window_start.safeParse(t).success;
    if (got === undefined) continue;
    accepted++;
    assert.ok(schemaOk, t);
    assert.equal(got, Date.parse(t), t);
  }
  assert.ok(accepted > 1_900, String(accepted));
});

/**
 * conversation-analytics on the embedded log with StreamsRuntime: chat.messages in 6 partitions,
 * delivered as live traffic with a stop and a restart half-way (state restored from the
 * changelog), the last windows closed by idle advance. Lateness depends on how the runtime
 * interleaved the input partitions into the by-conversation repartition topic, so the oracle reads
 * that order back (each task's input, in offset order) and recomputes everything from it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConversationMetric, ConversationMetricSchema, Topics } from '../../../src/events/index.ts';
import {
  conversationRules,
  createConversationAnalytics,
  isLate,
  type MessageParties,
} from '../../../src/processors/conversation-analytics/index.ts';
import { Codecs } from '../../../src/streams/index.ts';
import { tempLog } from '../../streams/helpers/log.ts';
import { liveHarness, liveOptions, slicesOf } from '../anomaly-detection/live.ts';
import type { Msg } from '../delivery.ts';
import { readTopic, waitFor } from '../helpers.ts';
import { expectedMetrics } from './oracle.ts';
import { acceptedBy, chatTraffic, rawEventOf } from './traffic.ts';

const metricCodec = Codecs.schema(ConversationMetricSchema);
const order = (a: ConversationMetric, b: ConversationMetric) =>
  a.window_end.localeCompare(b.window_end) || a.conversation_id.localeCompare(b.conversation_id);

test('embedded log: every window equals the brute force of what each task received, across a restart', async (t) => {
  const log = await tempLog(t, 'conversation-it-');
  const msgs = chatTraffic({
    seed: 21,
    conversations: 30,
    minutes: 6,
    meanGapMs: 8_000,
    disorderP: 0.3,
    disorderMs: 4_000,
    lateP: 0.03,
  });
  const app = `conversation-it-${process.pid}`;
  const repartition = `${app}-by-conversation-repartition`;
  const live = liveHarness(
    t,
    log,
    (clock) =>
      createConversationAnalytics(
        { log },
        {
          applicationId: app,
          ...liveOptions(clock),
        },
      ),
    [Topics.chatMessages.name, repartition],
  );
  const slices = slicesOf(msgs, (m) => m.arrival, 5_000, rawEventOf);
  (slices[5] as unknown[]).push({ topic: Topics.chatMessages.name, key: 'x', value: '{"message_id":' });
  const { runtime, lateRecords } = await live.deliver(slices);
  const rules = conversationRules({});
  const ok: Msg[] = [];
  let late = 0;
  const records = await readTopic(log, repartition);
  for (let p = 0; p < 6; p++) {
    const inTask = records
      .filter((r) => r.partition === p)
      .map((r) => {
        const v = JSON.parse(String(r.value)) as MessageParties;
        return { conversation: String(r.key), sender: v.s, receiver: v.r, ts: r.timestamp } as Msg;
      });
    const result = acceptedBy(inTask, (ts, st) => isLate(rules, ts, st));
    ok.push(...result.accepted);
    late += result.late;
  }
  const want = expectedMetrics(rules, ok).sort(order);
  // An hour of wall-clock quiet: stream time follows the clock, every window closes.
  live.jump(3_600_000);
  let got: ConversationMetric[] = [];
  await waitFor(
    async () => {
      got = (await readTopic(log, Topics.conversationMetrics.name)).map((r) =>
        metricCodec.deserialize(r.value),
      );
      return got.length >= want.length;
    },
    30_000,
    'every window closed',
  );
  await runtime.stop();
  assert.deepStrictEqual(
    {
      metrics: got.sort(order),
      repartitioned: records.length,
      late: lateRecords,
      deadLettered: (await readTopic(log, `${Topics.chatMessages.name}.dlq`)).length,
    },
    { metrics: want, repartitioned: msgs.length, late, deadLettered: 1 },
  );
  assert.ok(late > 3 && want.some((m) => m.is_peak), `${late} late`);
});

/**
 * trend-detection on the embedded log with StreamsRuntime: chat.messages in 6 partitions, words
 * re-keyed into 6 partitions, the ranking in one; live delivery with a stop and a restart half-way,
 * the last windows closed by idle advance. The oracle reads what each word task received (the words
 * repartition topic in offset order, ticks included) and recomputes the exact top N per window.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Topics, type TrendingWord, TrendingWordSchema } from '../../../src/events/index.ts';
import { createTrendDetection, TICK, trendRules } from '../../../src/processors/trend-detection/index.ts';
import { Codecs } from '../../../src/streams/index.ts';
import { tempLog } from '../../streams/helpers/log.ts';
import { liveHarness, liveOptions, slicesOf } from '../anomaly-detection/live.ts';
import { chatTraffic, rawEventOf, TREND_WORD } from '../conversation-analytics/traffic.ts';
import { readTopic, waitFor } from '../helpers.ts';
import { expectedTrends, type WordRecord } from './oracle.ts';

const codec = Codecs.schema(TrendingWordSchema);

test('embedded log: the top words per window equal the brute force over every word partition, across a restart', async (t) => {
  const log = await tempLog(t, 'trend-it-');
  const msgs = chatTraffic({
    seed: 5,
    conversations: 30,
    minutes: 12,
    meanGapMs: 6_000,
    disorderP: 0.3,
    disorderMs: 4_000,
    lateP: 0.02,
  });
  const app = `trend-it-${process.pid}`;
  const words = `${app}-words-repartition`;
  const options = { topN: 5, minCount: 4 };
  const live = liveHarness(
    t,
    log,
    (clock) =>
      createTrendDetection(
        { log },
        {
          ...options,
          applicationId: app,
          ...liveOptions(clock),
        },
      ),
    [Topics.chatMessages.name, words, `${app}-by-window-repartition`],
  );
  const { runtime, lateRecords } = await live.deliver(slicesOf(msgs, (m) => m.arrival, 10_000, rawEventOf));
  const received = await readTopic(log, words);
  const partitions: WordRecord[][] = [0, 1, 2, 3, 4, 5].map((p) =>
    received
      .filter((r) => r.partition === p)
      .map((r) => ({ key: String(r.key), tick: JSON.parse(String(r.value)) === TICK, ts: r.timestamp })),
  );
  const { trends, late } = expectedTrends(trendRules(options), partitions);
  live.jump(3_600_000);
  let got: TrendingWord[] = [];
  await waitFor(
    async () => {
      got = (await readTopic(log, Topics.trendingWords.name)).map((r) => codec.deserialize(r.value));
      return got.length >= trends.length;
    },
    30_000,
    'every window ranked',
  );
  await runtime.stop();
  // trending-words has 3 partitions (key word): compare in window-then-rank order.
  const order = (a: TrendingWord, b: TrendingWord) =>
    a.window_start.localeCompare(b.window_start) || a.rank - b.rank;
  assert.deepStrictEqual({ trends: got.sort(order), late: lateRecords }, { trends, late });
  const top = trends.filter((w) => w.rank === 1).map((w) => w.word);
  assert.ok(
    late > 0 && top.includes(TREND_WORD) && partitions.every((p) => p.length > 0),
    `${late} late, top ${top.join(',')}`,
  );
});

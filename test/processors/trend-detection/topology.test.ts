import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Topics, TrendingWordSchema } from '../../../src/events/index.ts';
import { partitionForKey } from '../../../src/log/index.ts';
import {
  DEFAULT_STOP_WORDS,
  TICK,
  tickKeys,
  tokenize,
  trendDetectionTopology,
  trendRules,
} from '../../../src/processors/trend-detection/index.ts';
import { Codecs, TopologyTestDriver } from '../../../src/streams/index.ts';
import { chatTraffic, TREND_WORD } from '../conversation-analytics/traffic.ts';
import { wireOf } from '../delivery.ts';
import { expectedTrends, type WordRecord } from './oracle.ts';

const SHAPE = {
  seed: 3,
  conversations: 30,
  minutes: 20,
  meanGapMs: 6_000,
  disorderP: 0.3,
  disorderMs: 4_000,
  lateP: 0.02,
};

test('oracle: the top words and scores of every window equal a brute-force recomputation', () => {
  const options = { wordPartitions: 1, topN: 5, minCount: 4 };
  const rules = trendRules(options);
  const msgs = chatTraffic(SHAPE);
  const driver = new TopologyTestDriver(trendDetectionTopology(options), { idleAdvanceMs: 1_000 });
  const input = driver.createInputTopic(Topics.chatMessages.name, {
    key: Codecs.nullable(Codecs.string),
    value: Codecs.json(),
  });
  const output = driver.createOutputTopic(Topics.trendingWords.name, {
    key: Codecs.string,
    value: Codecs.schema(TrendingWordSchema),
  });
  for (const m of msgs) input.pipe(m.conversation, wireOf(m), m.arrival);
  driver.advanceWallClockTime(3_600_000);
  const records = output.readKeyValues();
  // What the word task received, in order.
  const received: WordRecord[] = driver.topicRecords('test-app-words-repartition').map(({ record }) => ({
    key: String(record.key),
    tick: JSON.parse(String(record.value)) === TICK,
    ts: record.timestamp,
  }));
  const { trends, late } = expectedTrends(rules, [received]);
  const stopWords = { stopWords: new Set(DEFAULT_STOP_WORDS) };
  const words = (list: Array<{ key: string; ts: number }>) => list.map((w) => `${w.ts} ${w.key}`).sort();
  assert.deepStrictEqual(
    {
      trends: records.map(([, v]) => v),
      keys: records.map(([k]) => k),
      late: driver.metrics().lateRecords,
      words: words(received.filter((r) => !r.tick)),
    },
    {
      trends,
      keys: trends.map((w) => w.word),
      late,
      words: words(msgs.flatMap((m) => tokenize(m.content, stopWords).map((key) => ({ key, ts: m.ts })))),
    },
  );
  // Not vacuous: late words, several windows, and the injected word tops a window.
  const top = trends.filter((w) => w.rank === 1).map((w) => w.word);
  assert.ok(late > 10 && top.length >= 5 && top.includes(TREND_WORD), `${late} late, top ${top.join(',')}`);
});

test('an always-frequent word is not trending; a word from nowhere is, once it reaches the minimum count', () => {
  const options = {
    wordPartitions: 1,
    topN: 3,
    minCount: 3,
    baselineWindows: 2,
    windowMs: 60_000,
    graceMs: 0,
  };
  const driver = new TopologyTestDriver(trendDetectionTopology(options), { idleAdvanceMs: 1_000 });
  const input = driver.createInputTopic(Topics.chatMessages.name, {
    key: Codecs.nullable(Codecs.string),
    value: Codecs.json(),
  });
  const output = driver.createOutputTopic(Topics.trendingWords.name, {
    key: Codecs.string,
    value: Codecs.schema(TrendingWordSchema),
  });
  const T = Date.UTC(2025, 0, 1);
  let n = 0;
  const send = (ts: number, content: string) =>
    input.pipe(
      'c',
      wireOf({
        seq: n,
        id: `m${n++}`,
        sender: 'a',
        receiver: 'b',
        conversation: 'c',
        content,
        ts,
        arrival: ts,
      }),
      ts,
    );
  for (let w = 0; w < 4; w++) {
    for (let i = 0; i < 10; i++) send(T + w * 60_000 + i * 1_000, 'coffee');
  }
  for (let i = 0; i < 3; i++) send(T + 3 * 60_000 + 20_000 + i, 'kubernetes');
  send(T + 3 * 60_000 + 30_000, 'lonely');
  driver.advanceWallClockTime(600_000);
  assert.deepStrictEqual(
    output.readValues().map((w) => [w.window_start, w.word, w.count, w.rank, w.baseline, w.score]),
    // coffee: 10 a window, baseline 10, score 0; lonely: 1 < minCount.
    [[new Date(T + 180_000).toISOString(), 'kubernetes', 3, 1, 0, 3]],
  );
});

test('a tick key for every words partition, by the log partitioner, never a word', () => {
  const keys = tickKeys(6);
  assert.deepStrictEqual(
    {
      partitions: keys.map((k) => partitionForKey(k, 6)),
      words: keys.filter((k) => tokenize(k, { stopWords: new Set() }).includes(k)),
    },
    { partitions: [0, 1, 2, 3, 4, 5], words: [] },
  );
});

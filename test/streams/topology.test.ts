import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import {
  Codecs,
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  Stores,
  type StreamRecord,
  type StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
  windowedKeyCodec,
} from '../../src/streams/index.ts';

const str = Codecs.string;
interface Msg {
  user: string;
  text: string;
}
const msg = Codecs.json<Msg>((v) => {
  const m = v as Msg;
  if (typeof m?.user !== 'string') throw new Error('user missing');
  return m;
});

test('stateless operators, re-keying through a repartition topic, and dead letters', () => {
  const topology = (b: StreamsBuilder) => {
    b.stream('in', { key: str, value: msg })
      .filter((_k, m) => m.text !== '')
      .flatMapValues((m) => m.text.split(' ').map((word) => ({ ...m, text: word })))
      .selectKey((_k, m) => m.text)
      .groupByKey({ name: 'by-word', key: str, value: msg })
      .count({ name: 'word-counts' })
      .to('out', { key: str, value: Codecs.json<number>() });
  };
  const driver = new TopologyTestDriver(topology, { applicationId: 'words' });
  const input = driver.createInputTopic('in', { key: str, value: msg });
  input.pipe('c1', { user: 'a', text: 'hi there' }, 1);
  input.pipe('c1', { user: 'b', text: '' }, 2);
  input.pipe('c2', { user: 'b', text: 'hi' }, 3);
  driver.pipeRaw('in', Buffer.from('c3'), Buffer.from('{"text":1}'), 4);
  const dlq = driver.readDeadLetters('in');
  assert.deepStrictEqual(
    {
      out: driver.createOutputTopic('out', { key: str, value: Codecs.json<number>() }).readKeyValues(),
      repartitioned: driver.topicRecords('words-by-word-repartition').length,
      store: driver.getStore<KeyValueStore<string, number>>('word-counts').all(),
      dlq: dlq.map((d) => ({ recordKey: d.key?.toString(), ...d.envelope })),
    },
    {
      out: [
        ['hi', 1],
        ['there', 1],
        ['hi', 2],
      ],
      repartitioned: 3,
      store: [
        ['hi', 2],
        ['there', 1],
      ],
      dlq: [
        {
          recordKey: 'c3',
          stage: 'deserialization',
          reason: 'user missing',
          errorCode: 'Error',
          applicationId: 'words',
          taskId: '0_0',
          source: { topic: 'in', partition: 0, offset: 3, timestamp: 4 },
          key: Buffer.from('c3').toString('base64'),
          value: Buffer.from('{"text":1}').toString('base64'),
        },
      ],
    },
  );
});

test('low-level processor: state store, wall-clock punctuation, forward; fail policy stops', () => {
  class Totals implements Processor<string, string, string, number> {
    #ctx!: ProcessorContext<string, number>;
    #store!: KeyValueStore<string, number>;
    init(ctx: ProcessorContext<string, number>): void {
      this.#ctx = ctx;
      this.#store = ctx.getStateStore<KeyValueStore<string, number>>('totals');
      ctx.schedule(1_000, 'wall-clock', (now) => {
        for (const [key, n] of this.#store.all()) ctx.forward({ key, value: n, timestamp: now, headers: [] });
      });
    }
    process(r: StreamRecord<string, string>): void {
      if (r.value === 'boom') throw new Error('boom');
      this.#store.put(r.key, (this.#store.get(r.key) ?? 0) + r.value.length);
      void this.#ctx;
    }
  }
  const topology = (b: StreamsBuilder) => {
    b.addStateStore(Stores.keyValue('totals', { key: str, value: Codecs.json<number>() }));
    b.stream('in', { key: str, value: str })
      .process(() => new Totals(), { stores: ['totals'] })
      .to('out', { key: str, value: Codecs.json<number>() });
  };
  const driver = new TopologyTestDriver(topology, { errorPolicies: { processing: 'fail' } });
  const input = driver.createInputTopic('in', { key: str, value: str });
  const out = driver.createOutputTopic('out', { key: str, value: Codecs.json<number>() });
  input.pipe('a', 'xyz', 10);
  input.pipe('b', 'q', 20);
  driver.advanceWallClockTime(999);
  const before = out.readRecords().length;
  driver.advanceWallClockTime(1);
  let failure = '';
  try {
    input.pipe('a', 'boom', 30);
  } catch (err) {
    failure = isAppError(err) ? `${err.code} ${JSON.stringify(err.context)}` : String(err);
  }
  assert.deepStrictEqual(
    { before, after: out.readKeyValues(), failure },
    {
      before: 0,
      after: [
        ['a', 3],
        ['b', 1],
      ],
      failure: 'STREAMS_PROCESSING {"stage":"processing","topic":"in","partition":0,"offset":2,"task":"0_0"}',
    },
  );
});

test('idle advance: a quiet partition still closes and emits its last window', () => {
  const topology = (b: StreamsBuilder) => {
    b.stream('in', { key: str, value: str })
      .groupByKey({ key: str })
      .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 5_000))
      .count({ name: 'c' })
      .to('out', { key: windowedKeyCodec(str), value: Codecs.json<number>() });
  };
  const driver = new TopologyTestDriver(topology, { idleAdvanceMs: 2_000, wallClockStartMs: 1_000_000 });
  const input = driver.createInputTopic('in', { key: str, value: str });
  const out = driver.createOutputTopic('out', { key: windowedKeyCodec(str), value: Codecs.json<number>() });
  input.pipe('a', 'x', 1_000); // window [0, 10000) closes at stream time 15 000
  input.pipe('a', 'x', 2_000);
  const seen: Array<[number, number]> = [];
  for (let i = 0; i < 8; i++) {
    driver.advanceWallClockTime(2_000);
    seen.push([driver.metrics().streamTimeMs, out.readRecords().length]);
  }
  // Stream time follows the wall clock from the last record (t=2000) once 2 s passed without records.
  assert.deepStrictEqual(seen, [
    [4_000, 0],
    [6_000, 0],
    [8_000, 0],
    [10_000, 0],
    [12_000, 0],
    [14_000, 0],
    [16_000, 1],
    [18_000, 0],
  ]);
});

test('repartition() feeds a low-level processor by the new key; context.late() counts a dropped record', () => {
  class LastPerKey implements Processor<string, Msg, string, string> {
    #ctx!: ProcessorContext<string, string>;
    init(ctx: ProcessorContext<string, string>): void {
      this.#ctx = ctx;
    }
    process(r: StreamRecord<string, Msg>): void {
      if (r.timestamp < this.#ctx.streamTimeMs() - 1_000) {
        this.#ctx.late(`t=${r.timestamp} is more than 1 s behind stream time`);
        return;
      }
      this.#ctx.forward({ key: r.key, value: r.value.text, timestamp: r.timestamp, headers: [] });
    }
  }
  const topology = (b: StreamsBuilder) => {
    b.stream('in', { key: str, value: msg })
      .selectKey((_k, m) => m.user)
      .repartition({ name: 'by-user', key: str, value: msg, partitions: 2 })
      .process(() => new LastPerKey())
      .to('out', { key: str, value: str });
  };
  const driver = new TopologyTestDriver(topology, { applicationId: 'rp' });
  const input = driver.createInputTopic('in', { key: str, value: msg });
  input.pipe('c1', { user: 'a', text: 'one' }, 5_000);
  input.pipe('c2', { user: 'b', text: 'two' }, 6_000);
  input.pipe('c1', { user: 'a', text: 'late' }, 1_000);
  assert.deepStrictEqual(
    {
      topics: driver.topology.repartitionTopics.map((r) => [r.topic, r.partitions]),
      repartitioned: driver.topicRecords('rp-by-user-repartition').map((r) => r.record.key?.toString()),
      out: driver.createOutputTopic('out', { key: str, value: str }).readKeyValues(),
      late: driver.metrics().lateRecords,
    },
    {
      topics: [['rp-by-user-repartition', 2]],
      repartitioned: ['a', 'b', 'a'],
      out: [
        ['a', 'one'],
        ['b', 'two'],
      ],
      late: 1,
    },
  );
});

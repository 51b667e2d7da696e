/**
 * The Kafka producers' send batching (src/log/kafka/messages.ts `SendBatcher`): sends reach the flush
 * in the order they were called, even when an earlier send's messages are prepared later (its
 * partition look-up retried after a network error), and one batch is flushed at a time. A CI run of
 * the broker-faults test showed what happens otherwise: the streams runtime sends one commit's
 * outputs in concurrent chunks, and a later chunk's records were written before an earlier one's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../../src/log/kafka/messages.ts';
import { SendBatcher } from '../../../src/log/kafka/messages.ts';
import type { RecordMetadata } from '../../../src/log/types.ts';

const message = (value: string): Message => ({
  topic: 't',
  partition: 0,
  key: undefined,
  value: Buffer.from(value),
  headers: new Map(),
  timestamp: 0n,
});

/** A batcher whose flushes are recorded (values, in order) and can be held open. */
function recordingBatcher(): {
  batcher: SendBatcher;
  flushed: string[][];
  events: string[];
  hold: (until: Promise<void>) => void;
} {
  const flushed: string[][] = [];
  const events: string[] = [];
  let held: Promise<void> | undefined;
  let offset = 0;
  const batcher = new SendBatcher(async (messages) => {
    const values = messages.map((m) => m.value?.toString() ?? '');
    flushed.push(values);
    events.push(`start ${values.join(',')}`);
    const wait = held;
    held = undefined;
    if (wait !== undefined) await wait;
    events.push(`end ${values.join(',')}`);
    return messages.map(
      (m): RecordMetadata => ({ topic: m.topic, partition: m.partition, offset: offset++, timestamp: 0 }),
    );
  });
  return { batcher, flushed, events, hold: (until) => (held = until) };
}

const later = <T>(ms: number, value: T): Promise<T> => new Promise((r) => setTimeout(() => r(value), ms));

test('a send whose messages are prepared late still goes out before the sends called after it', async () => {
  const { batcher, flushed } = recordingBatcher();
  const first = batcher.send(later(30, [message('a1'), message('a2')]));
  const second = batcher.send([message('b1')]);
  const third = batcher.send(later(5, [message('c1')]));
  const [a, b, c] = await Promise.all([first, second, third]);
  assert.deepStrictEqual(flushed.flat(), ['a1', 'a2', 'b1', 'c1']);
  // Each send gets the metadata of its own messages, in the order written.
  assert.deepStrictEqual(
    [a, b, c].map((list) => list.map((m) => m.offset)),
    [[0, 1], [2], [3]],
  );
});

test('one batch is flushed at a time: a batch waits until the one before it is written', async () => {
  const { batcher, events, hold } = recordingBatcher();
  let release = (): void => {};
  hold(
    new Promise<void>((r) => {
      release = r;
    }),
  );
  const first = batcher.send([message('a')]);
  await later(10, undefined); // the first batch is flushing (held)
  const second = batcher.send([message('b')]);
  await later(10, undefined);
  assert.deepStrictEqual(events, ['start a'], 'the second batch must not start while the first is written');
  release();
  await Promise.all([first, second]);
  assert.deepStrictEqual(events, ['start a', 'end a', 'start b', 'end b']);
});

test('a send whose preparation fails fails alone; the sends behind it go out in order', async () => {
  const { batcher, flushed } = recordingBatcher();
  const failing = batcher.send(
    later(20, undefined).then((): Message[] => {
      throw new Error('unknown topic');
    }),
  );
  const next = batcher.send([message('b')]);
  const last = batcher.send(later(5, [message('c')]));
  await assert.rejects(failing, /unknown topic/);
  await Promise.all([next, last]);
  assert.deepStrictEqual(flushed.flat(), ['b', 'c']);
});

test('discard fails the sends not flushed yet, prepared or not, and nothing of theirs is flushed later', async () => {
  const { batcher, flushed } = recordingBatcher();
  const preparing = batcher.send(later(20, [message('late')]));
  const ready = batcher.send([message('ready')]);
  batcher.discard(new Error('transaction ended'));
  await assert.rejects(preparing, /transaction ended/);
  await assert.rejects(ready, /transaction ended/);
  await later(40, undefined);
  assert.deepStrictEqual(flushed, []);
});

test('a failed flush fails every send of its batch, and the next batch still goes out', async () => {
  let calls = 0;
  const flushed: string[] = [];
  const batcher = new SendBatcher(async (messages) => {
    calls++;
    if (calls === 1) throw new Error('broker gone');
    for (const m of messages) flushed.push(m.value?.toString() ?? '');
    return messages.map((m, i) => ({ topic: m.topic, partition: m.partition, offset: i, timestamp: 0 }));
  });
  const a = batcher.send([message('a')]);
  const b = batcher.send([message('b')]);
  await Promise.allSettled([a, b]);
  await assert.rejects(a, /broker gone/);
  await assert.rejects(b, /broker gone/);
  await batcher.send([message('c')]);
  assert.deepStrictEqual(flushed, ['c']);
});

/**
 * The `Log` conformance suite (./conformance.ts), part: consumers: group offsets, seeking, pause
 * and resume, waiting polls, rebalancing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Consumer, type LogRecord, type TopicPartition, tpKey } from '../../src/log/index.ts';
import type { LogFactory } from './conformance.ts';
import { allPartitions, drain, pollRecords, positionedAt, readerFor, str, uniqueName } from './helpers.ts';

export function consumerTests(factory: LogFactory): void {
  test('group offsets: commit, committed, and a new member resumes from them', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('offsets');
    const groupId = uniqueName('group');
    await log.createTopics([{ name: topic, partitions: 2 }]);
    const producer = log.producer();
    t.after(() => producer.close());
    await producer.send(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })),
    );
    const c1 = log.consumer({ groupId, maxPollRecords: 6 });
    await c1.subscribe([topic]);
    const first = await pollRecords(c1, 6);
    const tps = allPartitions(topic, 2);
    const positions = tps.map((tp) => c1.position(tp));
    await c1.commit();
    const committed = await c1.committed(tps);
    await c1.close();
    const c2 = log.consumer({ groupId });
    t.after(() => c2.close());
    await c2.subscribe([topic]);
    const rest = await pollRecords(c2, 20 - first.length);
    const groups = await log.listGroups();
    assert.deepStrictEqual(
      {
        committed: Object.fromEntries(committed),
        rest: rest.length,
        overlap: rest.filter((r) => first.some((f) => f.partition === r.partition && f.offset === r.offset))
          .length,
        listed: groups.find((g) => g.groupId === groupId)?.offsets.map((o) => o.offset),
      },
      {
        committed: Object.fromEntries(tps.map((tp, i) => [tpKey(tp), positions[i]])),
        rest: 14,
        overlap: 0,
        listed: positions,
      },
    );
  });

  test('seek, seekToBeginning, seekToEnd and autoOffsetReset earliest/latest', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('seek');
    await log.createTopics([{ name: topic, partitions: 1 }]);
    const producer = log.producer();
    t.after(() => producer.close());
    const meta = await producer.send(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })),
    );
    const tp = { topic, partition: 0 };
    const latest = log.consumer({ groupId: uniqueName('g'), autoOffsetReset: 'latest' });
    const earliest = log.consumer({ groupId: uniqueName('g'), autoOffsetReset: 'earliest' });
    t.after(() => latest.close());
    t.after(() => earliest.close());
    await latest.subscribe([topic]);
    await earliest.subscribe([topic]);
    const fromEarliest = await pollRecords(earliest, 10);
    const nothingYet = await drain(latest, 200);
    // On a busy broker the group join can outlast that drain: produce v10 only once the reset to
    // latest has happened (position 10), or the reset would land after it and skip it.
    const joined = performance.now() + 15_000;
    while (!positionedAt(latest, tp, 10) && performance.now() < joined)
      nothingYet.push(...(await latest.poll(50)));
    await producer.send(topic, [{ value: 'v10' }]);
    const fromLatest = await pollRecords(latest, 1);
    earliest.seek(tp, meta[4]!.offset);
    const afterSeek = await pollRecords(earliest, 7);
    await earliest.seekToBeginning([tp]);
    const afterBeginning = await pollRecords(earliest, 11);
    await earliest.seekToEnd([tp]);
    const endPosition = earliest.position(tp);
    const afterEnd = await drain(earliest, 100);
    const offsets = await log.partitionOffsets(topic, 0);
    const vals = (rs: LogRecord[]) => rs.map((r) => str(r.value));
    assert.deepStrictEqual(
      {
        fromEarliest: vals(fromEarliest),
        nothingYet: nothingYet.length,
        fromLatest: vals(fromLatest),
        afterSeek: vals(afterSeek),
        afterBeginning: afterBeginning.length,
        endPosition,
        afterEnd: afterEnd.length,
      },
      {
        fromEarliest: Array.from({ length: 10 }, (_, i) => `v${i}`),
        nothingYet: 0,
        fromLatest: ['v10'],
        afterSeek: ['v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10'],
        afterBeginning: 11,
        endPosition: offsets.latest,
        afterEnd: 0,
      },
    );
  });

  test('pause stops a partition, resume continues it', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('pause');
    await log.createTopics([{ name: topic, partitions: 2 }]);
    const producer = log.producer();
    t.after(() => producer.close());
    const c = readerFor(log, t, topic, 2);
    c.pause([{ topic, partition: 0 }]);
    await producer.send(topic, [
      { value: 'p0', partition: 0 },
      { value: 'p1', partition: 1 },
    ]);
    const whilePaused = await drain(c, 200);
    c.resume([{ topic, partition: 0 }]);
    const afterResume = await pollRecords(c, 1);
    assert.deepStrictEqual(
      {
        whilePaused: whilePaused.map((r) => str(r.value)),
        afterResume: afterResume.map((r) => str(r.value)),
      },
      { whilePaused: ['p1'], afterResume: ['p0'] },
    );
  });

  test('poll waits for new records and wakes when they are appended', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('wake');
    await log.createTopics([{ name: topic, partitions: 1 }]);
    const producer = log.producer();
    t.after(() => producer.close());
    const c = readerFor(log, t, topic, 1);
    assert.deepStrictEqual(await c.poll(0), []);
    const started = performance.now();
    const polled = c.poll(10_000);
    setTimeout(() => void producer.send(topic, [{ value: 'late' }]), 100);
    const got = await polled;
    const waitedMs = performance.now() - started;
    assert.deepStrictEqual(
      { values: got.map((r) => str(r.value)), wokeEarly: waitedMs < 5000, waited: waitedMs >= 50 },
      { values: ['late'], wokeEarly: true, waited: true },
    );
  });

  test('rebalance: two members share the partitions (revoke, then assign), the survivor takes all back', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('rebalance');
    const groupId = uniqueName('group');
    await log.createTopics([{ name: topic, partitions: 4 }]);
    const events: string[] = [];
    const listener = (name: string) => ({
      onPartitionsRevoked: (tps: readonly TopicPartition[]) => {
        if (tps.length > 0) events.push(`${name}:revoked:${tps.length}`);
      },
      onPartitionsAssigned: (tps: readonly TopicPartition[]) => {
        events.push(`${name}:assigned:${tps.length}`);
      },
    });
    const c1 = log.consumer({ groupId, clientId: 'c1' });
    const c2 = log.consumer({ groupId, clientId: 'c2' });
    t.after(() => c1.close());
    t.after(() => c2.close());
    await c1.subscribe([topic], listener('c1'));
    for (let i = 0; i < 50 && c1.assignment().length < 4; i++) await c1.poll(100);
    const alone = c1.assignment().length;
    await c2.subscribe([topic], listener('c2'));
    const settled = () => c1.assignment().length + c2.assignment().length === 4 && c2.assignment().length > 0;
    for (let i = 0; i < 100 && !settled(); i++) await Promise.all([c1.poll(50), c2.poll(50)]);
    const keys = (c: Consumer) => c.assignment().map(tpKey).sort();
    const shared = {
      c1: keys(c1).length,
      c2: keys(c2).length,
      disjoint: keys(c1).every((k) => !keys(c2).includes(k)),
    };
    const eventsWhileSharing = [...events];
    await c2.close();
    for (let i = 0; i < 50 && c1.assignment().length < 4; i++) await c1.poll(100);
    assert.deepStrictEqual(
      {
        alone,
        shared,
        eventsWhileSharing: [...eventsWhileSharing].sort(),
        eventsAfterLeave: events.slice(eventsWhileSharing.length),
        survivor: keys(c1),
      },
      {
        alone: 4,
        shared: { c1: 2, c2: 2, disjoint: true },
        eventsWhileSharing: ['c1:assigned:2', 'c1:assigned:4', 'c1:revoked:4', 'c2:assigned:2'],
        eventsAfterLeave: ['c2:revoked:2', 'c1:revoked:2', 'c1:assigned:4'],
        survivor: allPartitions(topic, 4).map(tpKey).sort(),
      },
    );
    // revoke always came before the new assignment of c1
    assert.ok(eventsWhileSharing.indexOf('c1:revoked:4') < eventsWhileSharing.indexOf('c1:assigned:2'));
  });
}

/**
 * The `Log` conformance suite (./conformance.ts), part: transactions: atomic commit with group
 * offsets, abort, the LSO, fencing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import type { LogRecord } from '../../src/log/index.ts';
import type { LogFactory } from './conformance.ts';
import { allPartitions, drain, pollRecords, readerFor, str, uniqueName } from './helpers.ts';

export function transactionTests(factory: LogFactory): void {
  test('transactions: commit is atomic across partitions and topics, with the group offsets', async (t) => {
    const log = await factory.makeLog(t);
    const a = uniqueName('txa');
    const b = uniqueName('txb');
    const input = uniqueName('txin');
    const groupId = uniqueName('txgroup');
    await log.createTopics([
      { name: a, partitions: 2 },
      { name: b, partitions: 1 },
      { name: input, partitions: 1 },
    ]);
    const committedReader = log.consumer({ groupId: uniqueName('rc') });
    committedReader.assign([...allPartitions(a, 2), ...allPartitions(b, 1)]);
    const uncommittedReader = log.consumer({
      groupId: uniqueName('ru'),
      isolationLevel: 'read_uncommitted',
    });
    uncommittedReader.assign([...allPartitions(a, 2), ...allPartitions(b, 1)]);
    t.after(() => committedReader.close());
    t.after(() => uncommittedReader.close());
    const tx = await log.transactionalProducer(uniqueName('tx'));
    t.after(() => tx.close());
    tx.begin();
    await tx.send(a, [
      { value: 'a0', partition: 0 },
      { value: 'a1', partition: 1 },
    ]);
    await tx.send(b, [{ value: 'b0' }]);
    await tx.sendOffsets(groupId, [{ topic: input, partition: 0, offset: 42 }]);
    const beforeCommitted = await drain(committedReader, 200);
    const uncommitted = await pollRecords(uncommittedReader, 3);
    const offsetsOpen = await log.partitionOffsets(a, 0);
    const groupBefore = (await log.listGroups()).find((g) => g.groupId === groupId)?.offsets ?? [];
    await tx.commit();
    const afterCommit = await pollRecords(committedReader, 3);
    const offsetsDone = await log.partitionOffsets(a, 0);
    const groupAfter = (await log.listGroups()).find((g) => g.groupId === groupId)?.offsets;
    const vals = (rs: LogRecord[]) => rs.map((r) => str(r.value)).sort();
    assert.deepStrictEqual(
      {
        beforeCommitted: beforeCommitted.length,
        uncommitted: vals(uncommitted),
        lsoHeldWhileOpen: offsetsOpen.lastStable < offsetsOpen.latest,
        groupBefore,
        afterCommit: vals(afterCommit),
        lsoCaughtUp: offsetsDone.lastStable === offsetsDone.latest,
        groupAfter: groupAfter?.map((o) => [o.topic, o.partition, o.offset]),
      },
      {
        beforeCommitted: 0,
        uncommitted: ['a0', 'a1', 'b0'],
        lsoHeldWhileOpen: true,
        groupBefore: [],
        afterCommit: ['a0', 'a1', 'b0'],
        lsoCaughtUp: true,
        groupAfter: [[input, 0, 42]],
      },
    );
  });

  test('transactions: abort is invisible to read_committed and leaves offsets as they were', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('abort');
    const groupId = uniqueName('abortgroup');
    await log.createTopics([{ name: topic, partitions: 1 }]);
    await log.setGroupOffsets(groupId, [{ topic, partition: 0, offset: 0 }]);
    const tx = await log.transactionalProducer(uniqueName('tx'));
    t.after(() => tx.close());
    tx.begin();
    await tx.send(topic, [{ value: 'aborted1' }, { value: 'aborted2' }]);
    await tx.sendOffsets(groupId, [{ topic, partition: 0, offset: 2 }]);
    await tx.abort();
    tx.begin();
    await tx.send(topic, [{ value: 'committed' }]);
    await tx.commit();
    const producer = log.producer();
    t.after(() => producer.close());
    await producer.send(topic, [{ value: 'plain' }]);
    const rc = readerFor(log, t, topic, 1);
    const ru = readerFor(log, t, topic, 1, 'read_uncommitted');
    const committed = await pollRecords(rc, 2);
    const uncommitted = await pollRecords(ru, 4);
    const offsets = (await log.listGroups()).find((g) => g.groupId === groupId)?.offsets.map((o) => o.offset);
    assert.deepStrictEqual(
      {
        committed: committed.map((r) => str(r.value)),
        uncommitted: uncommitted.map((r) => str(r.value)),
        offsets,
        more: (await drain(rc, 100)).length,
      },
      {
        committed: ['committed', 'plain'],
        uncommitted: ['aborted1', 'aborted2', 'committed', 'plain'],
        offsets: [0],
        more: 0,
      },
    );
  });

  test('transactions: read_committed stops at the LSO while a transaction is open', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('lso');
    await log.createTopics([{ name: topic, partitions: 1 }]);
    const producer = log.producer();
    t.after(() => producer.close());
    await producer.send(topic, [{ value: 'before' }]);
    const tx = await log.transactionalProducer(uniqueName('tx'));
    t.after(() => tx.close());
    tx.begin();
    await tx.send(topic, [{ value: 'in-txn' }]);
    await producer.send(topic, [{ value: 'after' }]);
    const rc = readerFor(log, t, topic, 1);
    const whileOpen = await drain(rc, 200);
    await tx.commit();
    const afterCommit = await pollRecords(rc, 2);
    assert.deepStrictEqual(
      { whileOpen: whileOpen.map((r) => str(r.value)), afterCommit: afterCommit.map((r) => str(r.value)) },
      { whileOpen: ['before'], afterCommit: ['in-txn', 'after'] },
    );
  });

  test('transactions: a new producer with the same id fences the old one and aborts its transaction', async (t) => {
    const log = await factory.makeLog(t);
    const topic = uniqueName('fence');
    const id = uniqueName('txid');
    await log.createTopics([{ name: topic, partitions: 1 }]);
    const old = await log.transactionalProducer(id);
    t.after(() => old.close());
    old.begin();
    await old.send(topic, [{ value: 'zombie' }]);
    const fresh = await log.transactionalProducer(id);
    t.after(() => fresh.close());
    const errors: string[] = [];
    for (const op of [() => old.send(topic, [{ value: 'x' }]), () => old.commit()]) {
      await op().catch((e: unknown) => errors.push(isAppError(e) ? e.code : String(e)));
    }
    fresh.begin();
    await fresh.send(topic, [{ value: 'fresh' }]);
    await fresh.commit();
    const rc = readerFor(log, t, topic, 1);
    const got = await pollRecords(rc, 1);
    assert.deepStrictEqual(
      { errors, values: got.map((r) => str(r.value)), more: (await drain(rc, 100)).length },
      { errors: ['LOG_FENCED', 'LOG_FENCED'], values: ['fresh'], more: 0 },
    );
  });
}

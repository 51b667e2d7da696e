/**
 * Disk full on a small tmpfs: a send that hits ENOSPC fails with LOG_DISK_FULL (path, free space) and
 * leaves none of its records; acknowledged records stay intact and readable; writes resume once space
 * is freed. Needs root for `mount -t tmpfs`; skipped (with the reason) only when mounting is refused.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, statfsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isAppError } from '../../../src/errors/index.ts';
import { type EmbeddedLog, openEmbeddedLog } from '../../../src/log/index.ts';

async function readAll(log: EmbeddedLog, topic: string): Promise<string[]> {
  const c = log.consumer({
    groupId: `read-${Math.random()}`,
    autoOffsetReset: 'earliest',
    maxPollRecords: 10_000,
  });
  c.assign([0, 1].map((partition) => ({ topic, partition })));
  const out: string[] = [];
  for (let rs = await c.poll(0); rs.length > 0; rs = await c.poll(0))
    for (const r of rs) out.push(r.value!.toString());
  await c.close();
  return out.sort();
}

/**
 * A 1 MiB tmpfs for the test; when it ends, one hook in order: `close` (the test's log), unmount,
 * remove the mount point. Undefined (the test skipped with the reason) when mounting is refused.
 */
async function tmpfs(
  t: TestContext,
  prefix: string,
  close: () => Promise<void>,
): Promise<string | undefined> {
  const mnt = await mkdtemp(join(tmpdir(), prefix));
  let mounted = false;
  t.after(async () => {
    await close();
    if (mounted) spawnSync('umount', [mnt]);
    await rm(mnt, { recursive: true, force: true });
  });
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (mount.status !== 0) {
    t.skip(`mounting a tmpfs is not permitted here: ${mount.stderr.trim()}`);
    return undefined;
  }
  mounted = true;
  return mnt;
}

test('disk full: failed sends leave nothing, acknowledged records stay, writes resume when space returns', async (t) => {
  let reopened: EmbeddedLog | undefined;
  const mnt = await tmpfs(t, 'log-diskfull-', async () => reopened?.close());
  if (mnt === undefined) return;
  const filler = join(mnt, 'filler');
  writeFileSync(filler, Buffer.alloc(256 * 1024));
  const dataDir = join(mnt, 'data');
  const log = await openEmbeddedLog({ dataDir, fsync: 'always', segmentBytes: 64 * 1024 });
  await log.createTopics([{ name: 'full', partitions: 2 }]);
  const producer = log.producer();
  const acked: string[] = [];
  let failure: unknown;
  const batch = (n: number) =>
    [0, 1].map((partition) => ({ partition, value: `${n}-${partition}-`.padEnd(6000, 'x') }));
  for (let n = 0; n < 1000 && failure === undefined; n++) {
    await producer.send('full', batch(n)).then(
      () => acked.push(`${n}-0-`.padEnd(6000, 'x'), `${n}-1-`.padEnd(6000, 'x')),
      (err: unknown) => {
        failure = err;
      },
    );
  }
  const failedAgain = await producer.send('full', batch(5000)).then(
    () => 'sent',
    (e: unknown) => (isAppError(e) ? e.code : String(e)),
  );
  const whileFull = await readAll(log, 'full');
  rmSync(filler);
  const resumed = await producer.send('full', batch(9999)).then(
    () => 'sent',
    (e: unknown) => String(e),
  );
  await log.close();
  reopened = await openEmbeddedLog({ dataDir });
  const afterReopen = await readAll(reopened, 'full');
  const expected = [...acked].sort();
  const withResumed = [...acked, `9999-0-`.padEnd(6000, 'x'), `9999-1-`.padEnd(6000, 'x')].sort();
  assert.deepStrictEqual(
    {
      code: isAppError(failure) ? failure.code : String(failure),
      message:
        isAppError(failure) &&
        failure.message.includes(join(dataDir, 'log')) &&
        /\d+ bytes free/.test(failure.message),
      someAcked: acked.length > 10,
      failedAgain,
      whileFull: whileFull.length === expected.length && whileFull.every((v, i) => v === expected[i]),
      resumed,
      afterReopen:
        afterReopen.length === withResumed.length && afterReopen.every((v, i) => v === withResumed[i]),
      events: reopened.recovery.events.map((e) => e.action),
    },
    {
      code: 'LOG_DISK_FULL',
      message: true,
      someAcked: true,
      failedAgain: 'LOG_DISK_FULL',
      whileFull: true,
      resumed: 'sent',
      afterReopen: true,
      events: [],
    },
  );
});

test('disk full inside a transaction: the failed write is undone whole (its transaction state too), the transaction aborts, the next one commits; after reopen read_committed sees exactly the committed records', async (t) => {
  let log: EmbeddedLog | undefined;
  const mnt = await tmpfs(t, 'log-diskfull-tx-', async () => log?.close());
  if (mnt === undefined) return;
  const dataDir = join(mnt, 'data');
  log = await openEmbeddedLog({ dataDir, fsync: 'always', segmentBytes: 256 * 1024 });
  await log.createTopics([{ name: 'tx', partitions: 2 }]);
  const tx = await log.transactionalProducer('tx-full');
  const small = (tag: string) => [0, 1].map((partition) => ({ partition, value: `${tag}-${partition}` }));
  tx.begin();
  await tx.send('tx', small('committed-1'));
  await tx.commit();
  // Leave ~16 KiB free. One round writes two batches of a new transaction to partition 0: the first
  // (the transaction's first event in the segment) lands, the second rolls the segment and hits
  // ENOSPC; the round is undone whole, the transaction state of the old segment included. The same
  // transaction's next batch (after space returns) is its first event there again.
  const st = statfsSync(mnt);
  const filler = join(mnt, 'filler');
  writeFileSync(filler, Buffer.alloc(st.bavail * st.bsize - 16 * 1024));
  tx.begin();
  const round = await Promise.allSettled([
    tx.send('tx', [{ partition: 0, value: 'aborted-a' }]),
    tx.send('tx', [{ partition: 0, value: 'x'.repeat(300 * 1024) }]),
  ]);
  const failed = round.map((r) =>
    r.status === 'fulfilled' ? 'sent' : isAppError(r.reason) ? r.reason.code : String(r.reason),
  );
  rmSync(filler);
  await tx.send('tx', [{ partition: 0, value: 'aborted-0' }]);
  const commit = await tx.commit().then(
    () => 'committed',
    (e: unknown) => (isAppError(e) ? e.code : String(e)),
  );
  tx.begin();
  await tx.send('tx', small('committed-2'));
  await tx.commit();
  // Roll partition 0: its segment is sealed with its index (transaction events included), which the
  // reopen trusts instead of scanning.
  await log.producer().send('tx', [{ partition: 0, value: 'y'.repeat(300 * 1024) }]);
  const read = async (l: EmbeddedLog): Promise<string[]> => {
    const c = l.consumer({
      groupId: `check-${Math.random()}`,
      autoOffsetReset: 'earliest',
      isolationLevel: 'read_committed',
    });
    c.assign([0, 1].map((partition) => ({ topic: 'tx', partition })));
    const seen: string[] = [];
    for (let rs = await c.poll(0); rs.length > 0; rs = await c.poll(0))
      for (const r of rs) if (r.value!.length < 100) seen.push(r.value!.toString());
    await c.close();
    return seen.sort();
  };
  const before = await read(log);
  await log.close();
  log = await openEmbeddedLog({ dataDir });
  const committed = ['committed-1-0', 'committed-1-1', 'committed-2-0', 'committed-2-1'];
  assert.deepStrictEqual(
    {
      failed,
      commitRefused: commit !== 'committed',
      before,
      afterReopen: await read(log),
      events: log.recovery.events.map((e) => e.action),
    },
    {
      failed: ['LOG_DISK_FULL', 'LOG_DISK_FULL'],
      commitRefused: true,
      before: committed,
      afterReopen: committed,
      events: [],
    },
  );
});

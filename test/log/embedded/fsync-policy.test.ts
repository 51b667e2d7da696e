import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { type FsyncPolicy, openEmbeddedLog } from '../../../src/log/index.ts';

/** Count fdatasync calls (sync and async) made while `fn` runs; the real calls still happen. */
async function countFdatasync(fn: () => Promise<void>): Promise<number> {
  const sync = fs.fdatasyncSync;
  const async = fs.fdatasync;
  let calls = 0;
  fs.fdatasyncSync = (fd) => {
    calls++;
    sync(fd);
  };
  fs.fdatasync = ((fd: number, cb: fs.NoParamCallback) => {
    calls++;
    async(fd, cb);
  }) as typeof fs.fdatasync;
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    fs.fdatasyncSync = sync;
    fs.fdatasync = async;
    syncBuiltinESMExports();
  }
  return calls;
}

/** Open, write (plain sends, a transaction with offsets, a group commit), close, reopen, close. */
async function session(t: TestContext, fsync: FsyncPolicy): Promise<{ sends: number; close: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), `log-fsync-${fsync}-`));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const options = { dataDir, fsync, fsyncIntervalMs: 3_600_000 };
  const log = await openEmbeddedLog(options);
  let closed = false;
  t.after(() => (closed ? undefined : log.close()));
  await log.createTopics([
    { name: 'in', partitions: 2, retentionMs: null },
    { name: 'out', partitions: 2, retentionMs: null },
  ]);
  const sends = await countFdatasync(async () => {
    const producer = log.producer();
    for (let i = 0; i < 20; i++) await producer.send('in', [{ key: `k${i}`, value: `v${i}` }]);
    const tx = await log.transactionalProducer('fsync-tx');
    tx.begin();
    await tx.send('out', [{ key: 'a', value: '1' }]);
    await tx.sendOffsets('g', [{ topic: 'in', partition: 0, offset: 5 }]);
    await tx.commit();
    await tx.close();
    await log.setGroupOffsets('g2', [{ topic: 'in', partition: 1, offset: 3 }]);
  });
  const close = await countFdatasync(async () => {
    await log.close();
    closed = true;
    const again = await openEmbeddedLog(options);
    await again.close();
  });
  return { sends, close };
}

test('LOG_FSYNC=never: no fdatasync at all — not per send, commit or group commit, nor at close or open', async (t) => {
  assert.deepStrictEqual(await session(t, 'never'), { sends: 0, close: 0 });
});

test("LOG_FSYNC=always: every send and commit is fdatasynced before it resolves; 'interval': in the background and at close", async (t) => {
  const always = await session(t, 'always');
  // 20 sends and a transaction (records, decision, markers) and a group commit, each synced.
  assert.ok(always.sends >= 23, `always: ${always.sends} fdatasync calls while writing`);
  assert.ok(always.close > 0, 'always: close syncs');
  const interval = await session(t, 'interval');
  // The interval (an hour here) never came: nothing synced while writing, everything at close.
  assert.deepStrictEqual(
    { sends: interval.sends, closeSyncs: interval.close > 0 },
    { sends: 0, closeSyncs: true },
  );
});

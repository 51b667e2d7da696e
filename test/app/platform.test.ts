import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { firstFailure } from '../../src/app/platform.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import { Codecs, StreamsRuntime } from '../../src/streams/index.ts';

test('firstFailure resolves with the runtime that failed and its cause; a clean stop never resolves it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-platform-'));
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  t.after(async () => {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });
  await log.createTopics([{ name: 'in', partitions: 1 }]);
  const runtime = (id: string, poison: boolean) =>
    new StreamsRuntime({
      log,
      applicationId: id,
      errorPolicies: { processing: 'fail' },
      topology: (b) =>
        b.stream('in', { key: Codecs.string, value: Codecs.string }).peek((_k, v) => {
          if (poison && v === 'poison') throw new Error(`cannot digest ${v}`);
        }),
    });
  const healthy = runtime('healthy', false);
  await healthy.start();
  await healthy.stop();
  const clean = await Promise.race([
    firstFailure(new Map([['healthy', healthy]])),
    new Promise((r) => setTimeout(() => r('still waiting'), 300)),
  ]);
  const failing = runtime('failing', true);
  await failing.start();
  await log.producer().send('in', [{ key: 'k', value: 'poison' }]);
  const failed = await firstFailure(new Map([['failing', failing]]));
  assert.deepStrictEqual(
    [clean, failed.name, failed.error instanceof Error && /cannot digest poison/.test(failed.error.message)],
    ['still waiting', 'failing', true],
  );
});

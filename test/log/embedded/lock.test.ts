/**
 * The data-dir lock is an OS-level flock: a second process is refused even from another pid
 * namespace (where the holder's pid means nothing), and the kernel releases the lock when the holder
 * dies by SIGKILL.
 */

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isAppError } from '../../../src/errors/index.ts';
import { openEmbeddedLog } from '../../../src/log/index.ts';

const fixture = new URL('../fixtures/lock-holder.ts', import.meta.url).pathname;

/** `try` from a new pid namespace (and mount namespace with its own /proc). */
function tryInOtherNamespace(dataDir: string): string {
  const r = spawnSync(
    'unshare',
    ['--pid', '--fork', '--mount-proc', process.execPath, fixture, 'try', dataDir],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`unshare failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

test('lock: a second process in another pid namespace is refused; SIGKILL of the holder releases the lock', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'log-lock-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const holder = spawn(process.execPath, [fixture, 'hold', dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    holder.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes('READY')) resolve();
    });
    holder.on('exit', () => reject(new Error(`holder exited: ${out}`)));
  });
  const inNamespace = tryInOtherNamespace(dataDir);
  const here = await openEmbeddedLog({ dataDir }).catch((e: unknown) => (isAppError(e) ? e.code : String(e)));
  const pidInFile = readFileSync(join(dataDir, 'log', 'LOCK'), 'utf8').trim();
  const exited = new Promise((resolve) => holder.on('exit', resolve));
  holder.kill('SIGKILL');
  await exited;
  const afterKill = tryInOtherNamespace(dataDir);
  // and in this process: one open at a time
  const log = await openEmbeddedLog({ dataDir });
  const second = await openEmbeddedLog({ dataDir }).catch((e: unknown) =>
    isAppError(e) ? e.code : String(e),
  );
  await log.close();
  assert.deepStrictEqual(
    { inNamespace, here, pidInFile, afterKill, second },
    {
      inNamespace: `LOG_LOCKED ${holder.pid}`,
      here: 'LOG_LOCKED',
      pidInFile: String(holder.pid),
      afterKill: 'OPENED',
      second: 'LOG_LOCKED',
    },
  );
});

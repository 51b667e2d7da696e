import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { decodeChatMessage, decodeMessageView } from '../../../src/events/index.ts';
import { takeTraffic } from '../../../src/generator/index.ts';
import { openEmbeddedLog } from '../../../src/log/index.ts';
import { produce, rawOf, tempDir } from '../helpers.ts';

const CHILD = new URL('./fixtures/sink-child.ts', import.meta.url).pathname;

/** Run the child; kill it after `killAfterMs` (if given). Resolves with how it ended. */
function runChild(
  logDir: string,
  chDir: string,
  opts: { killAfterMs?: number; crashAfterInserts?: number },
): Promise<{ caughtUp: boolean; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, 'run', logDir, chDir], {
      env: { ...process.env, CRASH_AFTER_INSERTS: String(opts.crashAfterInserts ?? 0) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer =
      opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve({ caughtUp: stdout.includes('CAUGHT_UP'), signal, stderr });
    });
  });
}

test('sink killed with SIGKILL mid-batch, restarted: every table ends exact, no duplicates', async (t) => {
  const logDir = await tempDir(t, 'sink-crash-log-');
  const chDir = await tempDir(t, 'sink-crash-ch-');
  const events = takeTraffic(40_000, { seed: 5, messagesPerSecond: 5 });
  const log = await openEmbeddedLog({ dataDir: logDir });
  await produce(log, events.map(rawOf));
  await log.close();

  const messages = events
    .filter((e) => e.kind === 'message')
    .map((e) => decodeChatMessage(JSON.stringify(e.value)));
  const views = events
    .filter((e) => e.kind === 'view')
    .map((e) => decodeMessageView(JSON.stringify(e.value)));
  const receiverOf = new Map(messages.map((m) => [m.message_id, m.receiver_id]));
  const read = new Set(
    views.filter((v) => receiverOf.get(v.message_id) === v.user_id).map((v) => v.message_id),
  );

  // Deterministic crashes right after an acknowledged insert, then random kills.
  const rounds: string[] = [];
  for (const n of [1, 3, 6]) {
    const r = await runChild(logDir, chDir, { crashAfterInserts: n });
    rounds.push(`crash-after-insert-${n}:${r.signal}`);
    assert.equal(r.signal, 'SIGKILL', `the child crashed on purpose (stderr: ${r.stderr.slice(-500)})`);
  }
  for (let i = 0; i < 10; i++) {
    const r = await runChild(logDir, chDir, { killAfterMs: 500 + Math.floor(Math.random() * 1000) });
    rounds.push(r.caughtUp ? 'finished' : `killed:${r.signal}`);
  }
  const last = await runChild(logDir, chDir, {});
  assert.ok(last.caughtUp, `the final run catches up (stderr: ${last.stderr.slice(-1000)})`);

  const verify = spawnSync(process.execPath, [CHILD, 'verify', logDir, chDir], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  t.diagnostic(`rounds: ${rounds.join(', ')}`);
  assert.deepStrictEqual(JSON.parse(verify.stdout), {
    messages: messages.length,
    messages_base: messages.length,
    distinct_message_ids: messages.length,
    message_views: views.length,
    read: read.size,
  });
});

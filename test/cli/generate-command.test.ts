import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeChatMessage, decodeMessageView } from '../../src/events/index.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';
import { readTopic } from '../processors/helpers.ts';

const BIN = new URL('../../bin/msgtrack.js', import.meta.url).pathname;

test('msgtrack generate publishes valid seed-format traffic to the log, counted exactly', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-generate-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = spawnSync(
    process.execPath,
    [BIN, 'generate', '--count', '3000', '--fast', '--seed', '4', '--quiet'],
    {
      encoding: 'utf8',
      env: { ...process.env, DATA_DIR: dir, KAFKA_BROKERS: '' },
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  const log = await openEmbeddedLog({ dataDir: dir });
  t.after(() => log.close());
  const messages = (await readTopic(log, 'chat.messages')).map((rec) => {
    const m = decodeChatMessage(rec.value);
    assert.equal(rec.key?.toString(), m.conversation_id, 'keyed by conversation');
    return m;
  });
  const views = (await readTopic(log, 'message-views')).map((rec) => decodeMessageView(rec.value));
  assert.deepStrictEqual(
    [summary.messages + summary.views, messages.length, views.length],
    [3000, summary.messages, summary.views],
  );
});

test('msgtrack generate rejects bad flags with a usage error', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'generate', ...args], { encoding: 'utf8' });
  const cases = [run('--count', 'many'), run('--fast'), run('--rate', '0')];
  assert.deepStrictEqual(
    cases.map((c) => [c.status, c.stderr.trim()]),
    [
      [2, 'msgtrack generate: --count=many is invalid: expected an integer from 1 to 9007199254740991'],
      [2, 'msgtrack generate: --fast needs --count or --duration'],
      [2, 'msgtrack generate: --rate=0 is invalid: expected an integer from 1 to 9007199254740991'],
    ],
  );
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { platformTopics } from '../../src/app/index.ts';
import { openEmbeddedLog } from '../../src/log/index.ts';

import { BIN } from '../helpers/msgtrack.ts';

function msgtrack(dataDir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATA_DIR: dataDir, KAFKA_BROKERS: '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('topics create is idempotent and gives the partitions and retention of docs/topics.md', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-topics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = msgtrack(dir, 'topics', 'create', '--json');
  const second = msgtrack(dir, 'topics', 'create', '--json');
  const specs = platformTopics();
  assert.deepStrictEqual(
    [first.status, JSON.parse(first.stdout), second.status, JSON.parse(second.stdout)],
    [
      0,
      specs.map((s) => ({ topic: s.name, partitions: s.partitions, created: true })),
      0,
      specs.map((s) => ({ topic: s.name, partitions: s.partitions, created: false })),
    ],
  );
  const listed = JSON.parse(msgtrack(dir, 'topics', 'list', '--json').stdout);
  assert.deepStrictEqual(
    listed,
    specs
      .map((s) => ({
        name: s.name,
        partitions: s.partitions,
        retentionMs: s.retentionMs,
        cleanupPolicy: 'delete',
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  );
  assert.deepStrictEqual(
    listed.filter((x: { name: string }) => ['chat.messages', 'message-views'].includes(x.name)),
    [
      { name: 'chat.messages', partitions: 6, retentionMs: 7 * 86_400_000, cleanupPolicy: 'delete' },
      { name: 'message-views', partitions: 4, retentionMs: 30 * 86_400_000, cleanupPolicy: 'delete' },
    ],
  );
});

test('topics create fails clearly when an existing topic has other partitions', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-topics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = await openEmbeddedLog({ dataDir: dir });
  await log.createTopics([{ name: 'chat.messages', partitions: 3 }]);
  await log.close();
  const r = msgtrack(dir, 'topics', 'create');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /chat\.messages/);
  assert.match(r.stderr, /3/);
  assert.match(r.stderr, /6/);
});

test('topics describe shows offsets per partition; unknown topic and bad action are errors', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-topics-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal(msgtrack(dir, 'topics', 'create').status, 0);
  const log = await openEmbeddedLog({ dataDir: dir });
  await log.producer().send('message-views', [{ key: 'bob', value: '{}', partition: 2 }]);
  await log.close();
  const described = JSON.parse(msgtrack(dir, 'topics', 'describe', 'message-views', '--json').stdout);
  assert.deepStrictEqual(described, [
    {
      name: 'message-views',
      partitions: 4,
      retentionMs: 30 * 86_400_000,
      cleanupPolicy: 'delete',
      offsets: [0, 1, 2, 3].map((p) => ({
        partition: p,
        earliest: 0,
        latest: p === 2 ? 1 : 0,
        lastStable: p === 2 ? 1 : 0,
      })),
    },
  ]);
  const unknown = msgtrack(dir, 'topics', 'describe', 'nope');
  assert.deepStrictEqual([unknown.status, /nope/.test(unknown.stderr)], [1, true]);
  const bad = msgtrack(dir, 'topics', 'frob');
  assert.deepStrictEqual(
    [bad.status, bad.stderr.trim()],
    [2, 'msgtrack topics: expected an action: create, list or describe'],
  );
});

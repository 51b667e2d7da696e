import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { topicJsonSchemas } from '../../src/events/index.ts';

const BIN = new URL('../../bin/msgtrack.js', import.meta.url).pathname;

function msgtrack(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('msgtrack --help lists commands and the environment; no command is a usage error', () => {
  const help = msgtrack('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: msgtrack <command>/);
  assert.match(help.stdout, /\n {2}schemas +Write the JSON Schema/);
  assert.match(help.stdout, /\n {2}KAFKA_BROKERS +Apache Kafka bootstrap servers/);
  assert.equal(msgtrack().status, 2);
  const unknown = msgtrack('frobnicate');
  assert.deepStrictEqual(
    [unknown.status, unknown.stderr.split('\n')[0]],
    [2, 'msgtrack: unknown command "frobnicate"'],
  );
});

test('a bad flag is a usage error that names it', () => {
  const r = msgtrack('schemas', '--bogus');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^msgtrack schemas: Unknown option '--bogus'/);
});

test('msgtrack schemas writes one JSON Schema per topic; the committed schemas/ are current', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-schemas-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = msgtrack('schemas', '--out', dir);
  assert.equal(r.status, 0, r.stderr);
  const expected = topicJsonSchemas();
  const written: Record<string, unknown> = {};
  for (const f of (await readdir(dir)).sort()) {
    written[f.replace(/\.schema\.json$/, '')] = JSON.parse(await readFile(join(dir, f), 'utf8'));
  }
  assert.deepStrictEqual(written, expected);
  const committedDir = new URL('../../schemas/', import.meta.url).pathname;
  const committed: Record<string, unknown> = {};
  for (const f of (await readdir(committedDir)).sort()) {
    committed[f.replace(/\.schema\.json$/, '')] = JSON.parse(await readFile(join(committedDir, f), 'utf8'));
  }
  assert.deepStrictEqual(committed, expected, 'schemas/ is stale: run `npm run msgtrack -- schemas`');
});

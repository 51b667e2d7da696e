import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { topicJsonSchemas } from '../../src/events/index.ts';

import { BIN } from '../helpers/msgtrack.ts';

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
  const flag = msgtrack('--rate', '5');
  assert.deepStrictEqual(
    [flag.status, flag.stderr.split('\n')[0]],
    [2, 'msgtrack: unknown option "--rate" (options follow the command)'],
  );
  const helpQuery = msgtrack('help', 'query');
  assert.deepStrictEqual([helpQuery.status, helpQuery.stdout], [0, msgtrack('query', '--help').stdout]);
  assert.match(helpQuery.stdout, /^Usage: msgtrack query /);
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

test('CLI edges: extra positionals, the real integer limit, bad paths in one line, EPIPE ends quietly', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-edges-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = { ...process.env, DATA_DIR: dir, KAFKA_BROKERS: '', CLICKHOUSE_URL: '' };
  const run = (args: string[], extra: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...env, ...extra } });
    return [r.status, r.stderr.trim()];
  };
  await writeFile(join(dir, 'file'), 'not a directory');
  // A reader that goes away early: 100k rows into `head -c 1` (far more than a pipe buffers).
  await mkdir(join(dir, 'data', 'clickhouse'), { recursive: true });
  const epipe = spawnSync(
    'bash',
    [
      '-c',
      `"${process.execPath}" "${BIN}" query --max-rows 100000 "SELECT number FROM numbers(100000)" | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`,
    ],
    { encoding: 'utf8', env: { ...env, DATA_DIR: join(dir, 'data') } },
  );
  assert.deepStrictEqual(
    {
      extraStart: run(['start', 'now']),
      extraSchemas: run(['schemas', 'a', 'b']),
      extraTopics: run(['topics', 'list', 'x']),
      rate: run(['start', '--rate', '99999999999999999999']),
      schemasIntoFile: run(['schemas', '--out', join(dir, 'file', 'x')]),
      queryFileMissing: run(['query', '--file', join(dir, 'missing.sql')]),
      epipe: [epipe.stdout.trim(), epipe.stderr],
    },
    {
      extraStart: [2, 'msgtrack start: unexpected argument "now": usage: msgtrack start [options]'],
      extraSchemas: [2, 'msgtrack schemas: unexpected arguments "a" "b": usage: msgtrack schemas [options]'],
      extraTopics: [2, 'msgtrack topics: topics list takes no topic names (got "x")'],
      rate: [
        2,
        'msgtrack start: --rate=99999999999999999999 is invalid: expected an integer from 1 to 9007199254740991',
      ],
      schemasIntoFile: [
        1,
        `msgtrack schemas: cannot mkdir ${join(dir, 'file', 'x')}: a part of the path is not a directory (ENOTDIR)`,
      ],
      queryFileMissing: [2, `msgtrack query: --file ${join(dir, 'missing.sql')}: ENOENT`],
      epipe: ['0', '100000 rows\n'],
    },
  );
});

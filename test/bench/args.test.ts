import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { benchArgs, benchUsage } from '../../bench/args.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

const spec = {
  command: 'npm run bench:x --',
  about: 'What x measures.',
  flags: {
    events: { type: 'string', default: '100', help: 'events to drain' },
    quick: { type: 'boolean', default: false, help: 'fewer rounds' },
    dir: { type: 'string', help: 'keep the data here' },
    child: { type: 'string', help: 'internal', hidden: true },
  },
} as const;

test('benchArgs: defaults, values and the usage text (hidden flags accepted, not listed)', () => {
  assert.deepStrictEqual(benchArgs(spec, []), {
    values: { events: '100', quick: false },
    positionals: [],
  });
  assert.deepStrictEqual(
    benchArgs(spec, ['--events', '7', '--quick', '--dir', '/d', '--child', 'c']).values,
    {
      events: '7',
      quick: true,
      dir: '/d',
      child: 'c',
    },
  );
  assert.equal(
    benchUsage(spec),
    [
      'Usage: npm run bench:x -- [options]',
      '',
      'What x measures.',
      '',
      'Options:',
      '  --events <value>  events to drain (default 100)',
      '  --quick           fewer rounds',
      '  --dir <value>     keep the data here',
      '  --help            print this help and exit',
      '',
    ].join('\n'),
  );
});

/** Every `bench:*` script of package.json, as `node <file>`. */
function benchScripts(): [string, string][] {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
  return Object.entries(pkg.scripts)
    .filter(([name]) => name.startsWith('bench:'))
    .map(([name, cmd]) => {
      const m = /^node (\S+)$/.exec(cmd);
      assert.ok(m, `${name}: expected "node <file>", got ${cmd}`);
      return [name, m[1] as string];
    });
}

test('every npm bench script answers --help with its usage and starts no work', async () => {
  const scripts = benchScripts();
  assert.ok(scripts.length >= 9, `bench scripts found: ${scripts.length}`);
  const results = await Promise.all(
    scripts.map(async ([name, file]) => {
      const help = await run(process.execPath, [file, '--help'], { cwd: ROOT, timeout: 60_000 });
      // Only the usage, ending with --help's own line: a bench that started work would print more.
      const usage = help.stdout.startsWith(`Usage: npm run ${name} -- [options]`);
      const ends = /\n {2}--help +print this help and exit\n$/.test(help.stdout);
      return { name, usage, ends, stderr: help.stderr };
    }),
  );
  assert.deepStrictEqual(
    results,
    results.map(({ name }) => ({ name, usage: true, ends: true, stderr: '' })),
  );
});

test('benchArgs: a flag with a numeric default refuses a non-number in one line, exit 2', async () => {
  const script = `import { benchArgs } from './bench/args.ts';
benchArgs({ command: 'b', about: 'a', flags: { events: { type: 'string', default: '100', help: 'h' } } }, JSON.parse(process.env.ARGS));
console.log('ran');`;
  const outcome = (args: string[]) =>
    run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, ARGS: JSON.stringify(args) },
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({
        code: err.code,
        out: err.stdout + err.stderr,
      }),
    );
  assert.deepStrictEqual(await Promise.all([outcome(['--events', '1e6']), outcome(['--events', 'many'])]), [
    { code: 0, out: 'ran\n' },
    { code: 2, out: 'b: --events="many" is invalid: expected a number\n' },
  ]);
});

test('a bench given an unknown flag says so in one line and exits 2 (no stack trace, no work)', async () => {
  const [, file] = benchScripts().find(([name]) => name === 'bench:kafka') as [string, string];
  const bad = await run(process.execPath, [file, '--no-such-flag'], { cwd: ROOT, timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
  assert.deepStrictEqual(bad, {
    code: 2,
    stdout: '',
    stderr: "npm run bench:kafka --: Unknown option '--no-such-flag'\nRun with --help for the options.\n",
  });
});

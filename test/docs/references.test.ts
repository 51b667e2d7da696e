import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The repository stands alone: its docs name only files that exist in it, and no doc, test, script or
 * benchmark reads or points at anything outside it (the team's shared folder, a spec or issue tracker
 * that does not ship with the code, an absolute path of one machine).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
const docs = tracked.filter((f) => f.endsWith('.md'));

test('every repository path the docs name exists', () => {
  const missing: string[] = [];
  for (const doc of docs) {
    const text = readFileSync(`${ROOT}${doc}`, 'utf8');
    for (const [path] of text.matchAll(
      /\b(?:src|test|bench|scripts|deploy|docs|schemas)\/[A-Za-z0-9_./-]*[A-Za-z0-9_]/g,
    )) {
      // Examples of the mirrored-tree convention, and outputs written by a run.
      if (/^(src|test)\/a\/b/.test(path) || /^bench\/results(\/|$)/.test(path)) continue;
      if (!existsSync(`${ROOT}${path}`) && !existsSync(`${ROOT}${path}.ts`)) missing.push(`${doc}: ${path}`);
    }
  }
  assert.deepStrictEqual(missing, []);
});

test('no doc, test, script, benchmark or source comment points outside the repository', () => {
  const outside = /\.\.\/shared\b|\/work\/|\bSPEC(\.md| §)|STYLE\.md|\bseed\/000|\bissue #?\d+\b/;
  const files = tracked.filter(
    (f) =>
      /\.(md|ts|js|sh|yml|yaml|json)$/.test(f) &&
      !f.startsWith('node_modules/') &&
      f !== 'package-lock.json' &&
      f !== 'test/docs/references.test.ts',
  );
  const found: string[] = [];
  for (const f of files) {
    readFileSync(`${ROOT}${f}`, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const m = outside.exec(line);
        if (m) found.push(`${f}:${i + 1}: ${m[0]}`);
      });
  }
  assert.deepStrictEqual(found, []);
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cliMarkdown, configMarkdown } from '../../scripts/docs.ts';

// docs/openapi.json is checked by test/api/docs.test.ts (it needs a running app).
test('docs/cli.md and docs/configuration.md are what `npm run docs` generates from the commands and the config schema', () => {
  const committed = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');
  assert.deepStrictEqual(
    { cli: committed('cli.md'), configuration: committed('configuration.md') },
    { cli: cliMarkdown(), configuration: configMarkdown() },
  );
});

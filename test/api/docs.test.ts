import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { openApiDocument } from '../../scripts/docs.ts';

test('docs/openapi.json is the document the API serves (npm run docs regenerates it)', async () => {
  const committed = JSON.parse(await readFile(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));
  assert.deepStrictEqual(await openApiDocument(), committed);
});

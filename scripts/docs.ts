/**
 * Writes the generated part of docs/: cli.md (every command's --help), configuration.md (every
 * environment variable of src/config) and openapi.json (the API's /openapi.json, from a real app on
 * a throw-away data dir). `npm run docs` — test/scripts/docs.test.ts checks that cli.md and
 * configuration.md are current, test/api/docs.test.ts openapi.json.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/api/index.ts';
import { commandHelp } from '../src/cli/command.ts';
import { COMMANDS } from '../src/cli/main.ts';
import { systemClock } from '../src/clock/index.ts';
import { configDocs, loadConfig } from '../src/config/index.ts';
import { openEmbeddedLog } from '../src/log/index.ts';
import { openChdb } from '../src/storage/index.ts';

export function cliMarkdown(): string {
  const parts = [
    '# Command line: `msgtrack`',
    '',
    'Generated from each command’s `--help` (`npm run docs`). `npm start` is `msgtrack start`; outside npm scripts run `npx msgtrack …`.',
    '',
  ];
  for (const c of COMMANDS) parts.push(`## msgtrack ${c.name}`, '', '```text', commandHelp(c), '```', '');
  return parts.join('\n');
}

export function configMarkdown(): string {
  return [
    '# Configuration',
    '',
    'Environment variables, validated once at start: an invalid value stops the command with a message naming the variable, the value and what was expected. Empty means unset. Secrets (`API_TOKEN`, `CLICKHOUSE_PASSWORD`) are never logged. Generated from `src/config/env.ts` (`npm run docs`).',
    '',
    '```text',
    ...configDocs(),
    '```',
    '',
  ].join('\n');
}

/** The OpenAPI document of the app as /openapi.json serves it (default settings, no token). */
export async function openApiDocument(): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-docs-'));
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  const ch = await openChdb({ dataDir: dir });
  try {
    const app = await buildApp({
      log,
      ch,
      clock: systemClock,
      api: loadConfig({ DATA_DIR: dir }).api,
      loopback: true,
    });
    await app.ready();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    await app.close();
    return doc;
  } finally {
    await ch.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const docs = new URL('../docs/', import.meta.url);
  await writeFile(new URL('cli.md', docs), cliMarkdown());
  await writeFile(new URL('configuration.md', docs), configMarkdown());
  await writeFile(new URL('openapi.json', docs), `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
  process.stdout.write('docs/cli.md docs/configuration.md docs/openapi.json\n');
}

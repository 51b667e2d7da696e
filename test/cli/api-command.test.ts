import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { BIN } from '../helpers/msgtrack.ts';

test('msgtrack api and start refuse a non-loopback HOST without API_TOKEN (before opening anything)', () => {
  const env = {
    ...process.env,
    HOST: '0.0.0.0',
    API_TOKEN: '',
    DATA_DIR: join(tmpdir(), 'msgtrack-never-created'),
  };
  const results = ['api', 'start'].map((cmd) => {
    const r = spawnSync(process.execPath, [BIN, cmd], { encoding: 'utf8', env });
    return [r.status, r.stderr.trim()];
  });
  const message =
    'HOST=0.0.0.0 is not a loopback address and API_TOKEN is not set: anyone on the network could use the API. Set API_TOKEN (16+ characters), bind HOST=127.0.0.1, or pass --insecure';
  assert.deepStrictEqual(results, [
    [1, `msgtrack api: ${message}`],
    [1, `msgtrack start: ${message}`],
  ]);
});

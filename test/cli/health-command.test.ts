import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'node:test';

import { BIN } from '../helpers/msgtrack.ts';

/** A port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

test('msgtrack health exits 1 with the reason when nothing answers', async () => {
  const port = await freePort();
  const r = spawnSync(process.execPath, [BIN, 'health', '--url', `http://127.0.0.1:${port}`], {
    encoding: 'utf8',
  });
  assert.deepStrictEqual(
    [r.status, r.stderr.trim()],
    [1, `msgtrack health: http://127.0.0.1:${port} does not answer (ECONNREFUSED)`],
  );
});

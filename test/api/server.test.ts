import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { ApiMetrics, startOpsServer } from '../../src/api/index.ts';
import { AppError } from '../../src/errors/index.ts';
import type { Log } from '../../src/log/index.ts';
import type { ClickHouse } from '../../src/storage/index.ts';

test('a port in use is a configuration error naming HOST:PORT and what to change, not a crash', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const metrics = new ApiMetrics();
  t.after(() => metrics.close());
  // Nothing is read from the log or storage: the endpoint never gets to serve.
  const sources = { log: {} as Log, ch: {} as ClickHouse, runtimes: () => new Map(), metrics };
  const err = await startOpsServer(sources, { host: '127.0.0.1', port }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof AppError);
  assert.deepStrictEqual(
    [err.code, err.message],
    [
      'CONFIG_INVALID',
      `cannot listen on 127.0.0.1:${port}: the address is in use: set PORT to a free port (or stop what listens there)`,
    ],
  );
});

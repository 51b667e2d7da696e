/**
 * The Log conformance suite over SASL_SSL (SCRAM-SHA-512, TLS with a CA made by the JDK's keytool),
 * on a broker of its own that scripts/kafka.sh starts with a SASL_SSL listener and SCRAM users
 * created at format time; and a wrong password: a clear LOG_AUTH naming broker and mechanism, never
 * the secret.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isAppError } from '../../../src/errors/index.ts';
import { type KafkaLogOptions, openKafkaLog } from '../../../src/log/index.ts';
import { describeLogConformance } from '../conformance.ts';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../scripts/kafka.sh', import.meta.url));
const home = await mkdtemp(join(tmpdir(), 'kafka-sasl-'));
const port = 20_000 + Math.floor(Math.random() * 6_000) * 3;
const env = { ...process.env, KAFKA_HOME: home, KAFKA_PORT: String(port), KAFKA_SASL_PORT: String(port + 2) };
await run('bash', [SCRIPT, 'start'], { env, timeout: 120_000 });
after(async () => {
  await run('bash', [SCRIPT, 'stop'], { env, timeout: 60_000 }).catch(() => {});
  await rm(home, { recursive: true, force: true });
});

const secure = (password: string): KafkaLogOptions => ({
  brokers: [`127.0.0.1:${port + 2}`],
  clientId: 'conformance-sasl',
  tls: { caFile: join(home, 'tls', 'ca.pem') },
  sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password },
  connectTimeoutMs: 30_000,
});

test('a wrong password: LOG_AUTH naming the broker and the mechanism, without the secret', async () => {
  const err = await openKafkaLog(secure('not-the-password')).then(
    () => undefined,
    (e: unknown) => e,
  );
  const message = err instanceof Error ? err.message : String(err);
  assert.deepStrictEqual(
    {
      code: isAppError(err) ? err.code : undefined,
      names: [`127.0.0.1:${port + 2}`, 'SCRAM-SHA-512'].every((s) => message.includes(s)),
      secret: message.includes('not-the-password') || JSON.stringify(err).includes('not-the-password'),
    },
    { code: 'LOG_AUTH', names: true, secret: false },
  );
});

describeLogConformance('kafka over SASL_SSL (SCRAM-SHA-512)', {
  async makeLog(t) {
    const log = await openKafkaLog(secure('alice-secret'));
    t.after(() => log.close());
    return log;
  },
  async runMaintenance(_log, until) {
    if (until === undefined) {
      await new Promise((r) => setTimeout(r, 600));
      return;
    }
    const deadline = performance.now() + 30_000;
    while (!(await until())) {
      if (performance.now() > deadline)
        throw new Error('the broker did not run retention/compaction within 30 s');
      await new Promise((r) => setTimeout(r, 250));
    }
  },
});

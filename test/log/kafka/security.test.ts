/**
 * Security against a broker of its own that scripts/kafka.sh starts with a SASL_SSL listener (SCRAM
 * users created at format time, OAUTHBEARER with Kafka's unsecured JWS validator) and an SSL listener
 * requiring client certificates (mutual TLS), all under a CA made by the JDK's keytool: the Log
 * conformance suite over SASL_SSL SCRAM-SHA-512; a round trip with mutual TLS and with OAUTHBEARER
 * tokens from a file and from a command; and for each a wrong credential: a clear LOG_AUTH naming the
 * broker and the mechanism, never the secret.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isAppError } from '../../../src/errors/index.ts';
import { type KafkaLogOptions, type LogRecord, openKafkaLog } from '../../../src/log/index.ts';
import { describeLogConformance } from '../conformance.ts';
import { brokerMaintenance, pollRecords, uniqueName } from './broker.ts';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../scripts/kafka.sh', import.meta.url));
const home = await mkdtemp(join(tmpdir(), 'kafka-sasl-'));
const port = 20_000 + Math.floor(Math.random() * 4_500) * 4;
const env = {
  ...process.env,
  KAFKA_HOME: home,
  KAFKA_QUICK_JVM: '1',
  KAFKA_PORT: String(port),
  KAFKA_SASL_PORT: String(port + 2),
  KAFKA_MTLS_PORT: String(port + 3),
};
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

/** Open, create a topic, produce three records and read them back; the values read. */
async function roundTrip(options: KafkaLogOptions): Promise<string[]> {
  const log = await openKafkaLog({ ...options, connectTimeoutMs: 30_000 });
  try {
    const topic = uniqueName('secure');
    await log.createTopics([{ name: topic, partitions: 1 }]);
    const producer = log.producer();
    await producer.send(
      topic,
      ['a', 'b', 'c'].map((value) => ({ value })),
    );
    await producer.close();
    const consumer = log.consumer({ groupId: uniqueName('secure') });
    consumer.assign([{ topic, partition: 0 }]);
    const got: LogRecord[] = await pollRecords(consumer, 3, 15_000);
    await consumer.close();
    return got.map((r) => String(r.value));
  } finally {
    await log.close();
  }
}

/** The error of opening the log with `options`: its code, whether it names `names`, whether it shows `secret`. */
async function refusal(options: KafkaLogOptions, names: readonly string[], secret: string) {
  const err = await openKafkaLog({ ...options, connectTimeoutMs: 30_000 }).then(
    async (log) => {
      await log.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  const message = err instanceof Error ? err.message : String(err);
  return {
    code: isAppError(err) ? err.code : undefined,
    names: names.every((s) => message.includes(s)),
    secret: message.includes(secret) || JSON.stringify(err).includes(secret),
  };
}

const tlsDir = join(home, 'tls');
const mtls = (certFile?: string, keyFile?: string): KafkaLogOptions => ({
  brokers: [`127.0.0.1:${port + 3}`],
  tls: { caFile: join(tlsDir, 'ca.pem'), certFile, keyFile },
});

test('mutual TLS: a client certificate signed by the CA round-trips; without one: LOG_AUTH naming the broker, no key material', async () => {
  const names = [`127.0.0.1:${port + 3}`, 'TLS client certificate'];
  const keyPem = await readFile(join(tlsDir, 'client-key.pem'), 'utf8');
  const keyBody = keyPem.split('\n')[1] ?? '';
  assert.deepStrictEqual(
    {
      signed: await roundTrip(mtls(join(tlsDir, 'client.pem'), join(tlsDir, 'client-key.pem'))),
      none: await refusal(mtls(), names, keyBody),
    },
    { signed: ['a', 'b', 'c'], none: { code: 'LOG_AUTH', names: true, secret: false } },
  );
});

/** An unsigned JWS (`alg: none`), what Kafka's unsecured OAUTHBEARER validator accepts while `exp` is ahead. */
function unsecuredJws(sub: string, expiresInS: number): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none' })}.${b64({ sub, iat: now - 60, exp: now + expiresInS })}.`;
}

test('OAUTHBEARER: a token from a file and from a command round-trip; an expired token: LOG_AUTH naming broker and mechanism, not the token', async () => {
  const tokenFile = join(home, 'token');
  await writeFile(tokenFile, `${unsecuredJws('alice', 3_600)}\n`);
  const expired = unsecuredJws('alice', -60);
  const oauth = (sasl: KafkaLogOptions['sasl']): KafkaLogOptions => ({
    brokers: [`127.0.0.1:${port + 2}`],
    tls: { caFile: join(tlsDir, 'ca.pem') },
    sasl,
  });
  assert.deepStrictEqual(
    {
      file: await roundTrip(oauth({ mechanism: 'OAUTHBEARER', tokenFile })),
      command: await roundTrip(oauth({ mechanism: 'OAUTHBEARER', tokenCommand: `cat '${tokenFile}'` })),
      expired: await refusal(
        oauth({ mechanism: 'OAUTHBEARER', tokenCommand: `echo '${expired}'` }),
        [`127.0.0.1:${port + 2}`, 'OAUTHBEARER'],
        expired.split('.')[1] as string,
      ),
    },
    {
      file: ['a', 'b', 'c'],
      command: ['a', 'b', 'c'],
      expired: { code: 'LOG_AUTH', names: true, secret: false },
    },
  );
});

describeLogConformance('kafka over SASL_SSL (SCRAM-SHA-512)', {
  async makeLog(t) {
    const log = await openKafkaLog(secure('alice-secret'));
    t.after(() => log.close());
    return log;
  },
  runMaintenance: brokerMaintenance,
});

import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { configDocs, loadConfig, redactConfig } from '../../src/config/index.ts';
import { AppError } from '../../src/errors/index.ts';

test('defaults: embedded log and chDB, loopback, documented numbers', () => {
  const c = loadConfig({});
  assert.deepStrictEqual(c, {
    dataDir: resolve('./data'),
    logLevel: 'info',
    statusIntervalMs: 10000,
    api: {
      host: '127.0.0.1',
      port: 8080,
      token: undefined,
      bodyLimitBytes: 8388608,
      ingestRateLimit: 200000,
      ingestMaxLag: 2000000,
      queryMaxRows: 10000,
      queryMaxExecutionMs: 10000,
    },
    log: { kind: 'embedded', fsync: 'interval', fsyncIntervalMs: 1000, onCorruption: 'refuse' },
    storage: { kind: 'chdb' },
    retention: { messagesDays: 0, viewsDays: 30, metricsDays: 30, alertsDays: 90 },
    streams: { commitIntervalMs: 100, processingGuarantee: 'exactly_once', graceMs: 5000, idleMs: 2000 },
    processors: {
      clickhouseSink: { batchRows: 50000, flushMs: 1000 },
      conversationAnalytics: {
        windowMs: 30000,
        hopMs: 5000,
        peakFactor: 2,
        peakMinCount: 5,
        peakSignificance: 0.00001,
        baselineFloor: 0.5,
        baselineMs: 600000,
      },
      trendDetection: {
        windowMs: 120000,
        topN: 10,
        baselineWindows: 5,
        minCount: 5,
        surgeScore: 3,
        stopWords: undefined,
      },
      anomalyDetection: {
        rateThreshold: 8,
        rateWindowMs: 60000,
        duplicateThreshold: 5,
        duplicateWindowMs: 600000,
        commitIntervalMs: 25,
      },
      userActivity: { windowMs: 60000, joinRetentionMs: 3600000 },
    },
  });
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.processors.trendDetection));
});

test('distributed mode from the seed variable names', () => {
  const c = loadConfig({
    KAFKA_BROKERS: 'kafka:9092,kafka2:9092',
    CLICKHOUSE_URL: 'http://clickhouse:8123',
    CLICKHOUSE_USER: 'admin',
    CLICKHOUSE_PASSWORD: 'password',
    API_TOKEN: 'a-very-long-secret-token',
    PORT: '9000',
    KAFKA_FETCH_BUFFER_BYTES: '8388608',
  });
  assert.deepStrictEqual(
    [c.log, c.storage, { host: c.api.host, port: c.api.port, token: c.api.token }],
    [
      {
        kind: 'kafka',
        brokers: ['kafka:9092', 'kafka2:9092'],
        clientId: 'msgtrack',
        compression: 'lz4',
        replicationFactor: undefined,
        minInsyncReplicas: undefined,
        fetch: {
          maxBytes: undefined,
          partitionMaxBytes: undefined,
          maxWaitMs: undefined,
          bufferBytes: 8388608,
        },
        tls: undefined,
        sasl: undefined,
      },
      { kind: 'http', url: 'http://clickhouse:8123', user: 'admin', password: 'password' },
      { host: '127.0.0.1', port: 9000, token: 'a-very-long-secret-token' },
    ],
  );
  const redacted = JSON.stringify(redactConfig(c));
  assert.ok(!redacted.includes(':"password"') && !redacted.includes('a-very-long-secret-token'), redacted);
});

function messageOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof AppError && err.code === 'CONFIG_INVALID');
    return err.message;
  }
  return assert.fail('expected CONFIG_INVALID');
}

test('an invalid value names the variable, the value and what was expected', () => {
  assert.deepStrictEqual(
    [
      messageOf({ PORT: 'eighty' }),
      messageOf({ PORT: '70000' }),
      messageOf({ KAFKA_BROKERS: 'kafka' }),
      messageOf({ CLICKHOUSE_URL: 'ftp://x' }),
      messageOf({ LOG_FSYNC: 'sometimes' }),
      messageOf({ API_TOKEN: 'short' }),
      messageOf({ CONVERSATION_HOP_MS: '60000' }),
    ],
    [
      'PORT="eighty" is invalid: expected an integer from 0 to 65535',
      'PORT="70000" is invalid: expected an integer ≤ 65535',
      'KAFKA_BROKERS="kafka" is invalid: expected host:port[,host:port…]',
      'CLICKHOUSE_URL="ftp://x" is invalid: expected an http(s) URL such as http://localhost:8123',
      'LOG_FSYNC="sometimes" is invalid: expected one of always, interval, never',
      'API_TOKEN=(hidden) is invalid: expected at least 16 characters',
      'CONVERSATION_HOP_MS=60000 is invalid: expected at most CONVERSATION_WINDOW_MS (30000)',
    ],
  );
});

test('PROCESSING_GUARANTEE: exactly_once or at_least_once, anything else names the choices', () => {
  assert.equal(
    loadConfig({ PROCESSING_GUARANTEE: 'at_least_once' }).streams.processingGuarantee,
    'at_least_once',
  );
  assert.throws(
    () => loadConfig({ PROCESSING_GUARANTEE: 'at_most_once' }),
    /PROCESSING_GUARANTEE="at_most_once" is invalid: expected one of exactly_once, at_least_once/,
  );
});

test('configDocs lists every variable with its default', () => {
  const docs = configDocs();
  assert.ok(docs.some((l) => /^ {2}PORT +API and dashboard port .*\(default 8080\)$/.test(l)));
  assert.ok(docs.some((l) => l.includes('CLICKHOUSE_PASSWORD')));
});

test('Kafka security: SASL_SSL with SCRAM, checked together; the password never shown', () => {
  const base = { KAFKA_BROKERS: 'kafka:9093', KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' };
  const c = loadConfig({
    ...base,
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_SASL_USERNAME: 'alice',
    KAFKA_SASL_PASSWORD: 'alice-secret',
    KAFKA_TLS_CA_FILE: '/etc/kafka/ca.pem',
    KAFKA_REPLICATION_FACTOR: '3',
    KAFKA_MIN_INSYNC_REPLICAS: '2',
    KAFKA_COMPRESSION: 'zstd',
  });
  const errors = [
    { ...base },
    { ...base, KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'alice' },
    { ...base, KAFKA_SASL_MECHANISM: 'OAUTHBEARER' },
    { KAFKA_BROKERS: 'kafka:9093', KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_TLS_CERT_FILE: '/c.pem' },
    { KAFKA_BROKERS: 'kafka:9093', KAFKA_COMPRESSION: 'brotli' },
  ].map((env) => {
    try {
      loadConfig(env);
      return 'accepted';
    } catch (err) {
      return (err as AppError).message;
    }
  });
  assert.deepStrictEqual(
    {
      log: c.log,
      redacted: JSON.stringify(redactConfig(c)).includes('alice-secret'),
      errors,
    },
    {
      log: {
        kind: 'kafka',
        brokers: ['kafka:9093'],
        clientId: 'msgtrack',
        compression: 'zstd',
        replicationFactor: 3,
        minInsyncReplicas: 2,
        fetch: {
          maxBytes: undefined,
          partitionMaxBytes: undefined,
          maxWaitMs: undefined,
          bufferBytes: undefined,
        },
        tls: { caFile: '/etc/kafka/ca.pem', certFile: undefined, keyFile: undefined, serverName: undefined },
        sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'alice-secret' },
      },
      redacted: false,
      errors: [
        'KAFKA_SASL_MECHANISM is invalid: expected a mechanism with KAFKA_SECURITY_PROTOCOL=SASL_SSL',
        'KAFKA_SASL_PASSWORD is invalid: expected a password for SASL PLAIN',
        'KAFKA_SASL_OAUTH_TOKEN_FILE is invalid: expected exactly one of KAFKA_SASL_OAUTH_TOKEN_FILE and KAFKA_SASL_OAUTH_TOKEN_COMMAND',
        'KAFKA_TLS_KEY_FILE is invalid: expected both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE, or neither',
        'KAFKA_COMPRESSION="brotli" is invalid: expected one of none, gzip, snappy, lz4, zstd',
      ],
    },
  );
});

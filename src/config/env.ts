import { z } from 'zod';
import { AppError, ErrorCode } from '../errors/index.ts';

/**
 * The one schema of the environment (docs/configuration.md is generated from it): every variable's
 * schema, default and meaning (`ENV`), the documentation (`configDocs()`, printed by `msgtrack
 * --help`) and the reading of one variable (`readVar`), whose error names the variable, its value
 * and what was expected. Secrets are never echoed.
 */

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, `an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `an integer ≥ ${min}`).max(max, `an integer ≤ ${max}`));
const positiveNumber = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'a positive number')
  .transform(Number)
  .pipe(z.number().positive('a positive number'));
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `one of ${values.join(', ')}` });
const optionalText = z.string().min(1, 'a non-empty string').optional();

export interface VarSpec {
  readonly schema: z.ZodType;
  readonly default?: string;
  readonly secret?: boolean;
  readonly doc: string;
}

/** Every variable: its schema, default (as the text one would set) and meaning. Units in the names. */
export const ENV = {
  DATA_DIR: { schema: z.string().min(1), default: './data', doc: 'Embedded log and chDB data directory' },
  HOST: {
    schema: z.string().min(1),
    default: '127.0.0.1',
    doc: 'Address the API binds to (`msgtrack process`: its /health, /ready, /metrics)',
  },
  PORT: {
    schema: int(0, 65_535),
    default: '8080',
    doc: 'API and dashboard port (`msgtrack process`: /health, /ready, /metrics; 0 = any free port)',
  },
  API_TOKEN: {
    schema: z.string().min(16, 'at least 16 characters').optional(),
    secret: true,
    doc: 'When set, /api/* requires Authorization: Bearer <token>',
  },
  API_BODY_LIMIT_BYTES: {
    schema: int(1024, 256 * 1024 * 1024),
    default: String(8 * 1024 * 1024),
    doc: 'API: largest request body, bytes (413 beyond)',
  },
  INGEST_RATE_LIMIT: {
    schema: int(0),
    default: '200000',
    doc: 'API: events per second accepted by the ingest routes (429 beyond; 0 = no limit)',
  },
  INGEST_MAX_LAG: {
    schema: int(1),
    default: '2000000',
    doc: 'API: ingest answers 503 while the processors lag by more records than this',
  },
  QUERY_MAX_ROWS: {
    schema: int(1, 1_000_000),
    default: '10000',
    doc: 'API SQL console: rows returned at most',
  },
  QUERY_MAX_EXECUTION_MS: {
    schema: int(1, 600_000),
    default: '10000',
    doc: 'API SQL console: longest execution time',
  },
  LOG_LEVEL: {
    schema: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: 'Log verbosity',
  },
  KAFKA_BROKERS: {
    schema: z
      .string()
      .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'host:port[,host:port…]')
      .optional(),
    doc: 'Apache Kafka bootstrap servers; unset = the embedded log',
  },
  KAFKA_CLIENT_ID: {
    schema: z.string().regex(/^[\w.-]{1,100}$/, 'letters, digits, . _ -'),
    default: 'msgtrack',
    doc: 'Kafka: prefix of every client id',
  },
  KAFKA_COMPRESSION: {
    schema: oneOf(['none', 'gzip', 'snappy', 'lz4', 'zstd']),
    default: 'lz4',
    doc: 'Kafka: compression of produced batches',
  },
  KAFKA_REPLICATION_FACTOR: {
    schema: int(1, 100).optional(),
    doc: 'Kafka: replication factor of every topic we create, internal ones too (default: 1 on a one-broker cluster, else 3)',
  },
  KAFKA_MIN_INSYNC_REPLICAS: {
    schema: int(1, 100).optional(),
    doc: 'Kafka: min.insync.replicas of every topic we create (default: 1 on a one-broker cluster, else 2)',
  },
  KAFKA_FETCH_MAX_BYTES: {
    schema: int(1024, 1024 * 1024 * 1024).optional(),
    doc: 'Kafka consumers: most bytes of one fetch response, per broker (fetch.max.bytes; default 16 MiB)',
  },
  KAFKA_FETCH_PARTITION_MAX_BYTES: {
    schema: int(1024, 1024 * 1024 * 1024).optional(),
    doc: 'Kafka consumers: most bytes per partition in one fetch response (max.partition.fetch.bytes; default 1 MiB)',
  },
  KAFKA_FETCH_MAX_WAIT_MS: {
    schema: int(1, 60_000).optional(),
    doc: 'Kafka consumers: longest broker-side wait of a fetch for data (fetch.max.wait.ms; default 500)',
  },
  KAFKA_FETCH_BUFFER_BYTES: {
    schema: int(1024, 16 * 1024 * 1024 * 1024).optional(),
    doc: 'Kafka consumers: fetch ahead of poll while fewer record bytes than this are buffered (default 32 MiB)',
  },
  KAFKA_SECURITY_PROTOCOL: {
    schema: oneOf(['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL']),
    default: 'PLAINTEXT',
    doc: 'Kafka: security.protocol (TLS and/or SASL)',
  },
  KAFKA_TLS_CA_FILE: {
    schema: optionalText,
    doc: 'Kafka TLS: CA certificates (PEM) to trust; default the system CAs',
  },
  KAFKA_TLS_CERT_FILE: { schema: optionalText, doc: 'Kafka TLS: client certificate (PEM), for mutual TLS' },
  KAFKA_TLS_KEY_FILE: {
    schema: optionalText,
    doc: 'Kafka TLS: client private key (PEM), with KAFKA_TLS_CERT_FILE',
  },
  KAFKA_TLS_SERVER_NAME: {
    schema: optionalText,
    doc: 'Kafka TLS: server name to verify (default: the broker host)',
  },
  KAFKA_SASL_MECHANISM: {
    schema: oneOf(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER']).optional(),
    doc: 'Kafka SASL mechanism (with KAFKA_SECURITY_PROTOCOL=SASL_*)',
  },
  KAFKA_SASL_USERNAME: { schema: optionalText, doc: 'Kafka SASL PLAIN/SCRAM user' },
  KAFKA_SASL_PASSWORD: {
    schema: z.string().optional(),
    secret: true,
    doc: 'Kafka SASL PLAIN/SCRAM password',
  },
  KAFKA_SASL_OAUTH_TOKEN_FILE: {
    schema: optionalText,
    doc: 'Kafka OAUTHBEARER: file holding the token (read at each connection)',
  },
  KAFKA_SASL_OAUTH_TOKEN_COMMAND: {
    schema: optionalText,
    doc: 'Kafka OAUTHBEARER: command printing the token (run at each connection)',
  },
  CLICKHOUSE_URL: {
    schema: z.url({ protocol: /^https?$/, error: 'an http(s) URL such as http://localhost:8123' }).optional(),
    doc: 'ClickHouse server HTTP URL; unset = embedded chDB',
  },
  CLICKHOUSE_USER: { schema: optionalText, doc: 'ClickHouse user (default: the server’s default user)' },
  CLICKHOUSE_PASSWORD: { schema: z.string().optional(), secret: true, doc: 'ClickHouse password' },
  RETENTION_MESSAGES_DAYS: {
    schema: int(0),
    default: '0',
    doc: 'ClickHouse: keep messages this many days (0 = forever)',
  },
  RETENTION_VIEWS_DAYS: {
    schema: int(0),
    default: '30',
    doc: 'ClickHouse: keep view events this many days (0 = forever)',
  },
  RETENTION_METRICS_DAYS: {
    schema: int(0),
    default: '30',
    doc: 'ClickHouse: keep windowed metrics and trends this many days (0 = forever)',
  },
  RETENTION_ALERTS_DAYS: {
    schema: int(0),
    default: '90',
    doc: 'ClickHouse: keep alerts this many days (0 = forever)',
  },
  LOG_FSYNC: {
    schema: oneOf(['always', 'interval', 'never']),
    default: 'interval',
    doc: 'Embedded log fsync policy: before every ack, on an interval, or left to the OS',
  },
  LOG_FSYNC_INTERVAL_MS: { schema: int(1), default: '1000', doc: 'Embedded log fsync interval' },
  LOG_ON_CORRUPTION: {
    schema: oneOf(['refuse', 'quarantine']),
    default: 'refuse',
    doc: 'Embedded log, a corrupt record batch on open: refuse that partition, or move the bad bytes to a quarantine file and serve around them',
  },
  STREAMS_COMMIT_INTERVAL_MS: { schema: int(1), default: '100', doc: 'Stream processors: commit interval' },
  PROCESSING_GUARANTEE: {
    schema: oneOf(['exactly_once', 'at_least_once']),
    default: 'exactly_once',
    doc: 'Stream processors: exactly_once (outputs, state and input offsets in one transaction) or at_least_once (no transactions: outputs acknowledged, then offsets committed; after a crash outputs may repeat)',
  },
  STREAMS_GRACE_MS: { schema: int(0), default: '5000', doc: 'Default window grace period' },
  STREAMS_IDLE_MS: {
    schema: int(1),
    default: '2000',
    doc: 'Wall-clock idle time after which a quiet partition’s stream time advances',
  },
  STATUS_INTERVAL_MS: {
    schema: int(100),
    default: '10000',
    doc: 'msgtrack start/process: how often the status line (processed, dead letters, lag per processor) is logged',
  },
  SINK_BATCH_ROWS: { schema: int(1), default: '50000', doc: 'clickhouse-sink: rows per insert at most' },
  SINK_FLUSH_MS: { schema: int(1), default: '1000', doc: 'clickhouse-sink: longest wait before an insert' },
  CONVERSATION_WINDOW_MS: { schema: int(1), default: '30000', doc: 'conversation-analytics: window size' },
  CONVERSATION_HOP_MS: { schema: int(1), default: '5000', doc: 'conversation-analytics: window advance' },
  CONVERSATION_PEAK_FACTOR: {
    schema: positiveNumber,
    default: '2',
    doc: 'conversation-analytics: a peak is a window ≥ factor × the recent baseline',
  },
  CONVERSATION_PEAK_MIN_COUNT: {
    schema: int(1),
    default: '5',
    doc: 'conversation-analytics: fewest messages a peak window has',
  },
  CONVERSATION_PEAK_SIGNIFICANCE: {
    schema: positiveNumber.pipe(z.number().lt(1, 'a probability below 1')),
    default: '0.00001',
    doc: 'conversation-analytics: a peak window’s count has at most this probability under ordinary (Poisson) traffic at the baseline rate',
  },
  CONVERSATION_BASELINE_FLOOR: {
    schema: positiveNumber,
    default: '0.5',
    doc: 'conversation-analytics: the least baseline (messages per window) the peak significance test assumes',
  },
  CONVERSATION_BASELINE_MS: {
    schema: int(1),
    default: '600000',
    doc: 'conversation-analytics: span before a window whose message rate is its baseline (a multiple of CONVERSATION_HOP_MS)',
  },
  TREND_WINDOW_MS: { schema: int(1), default: '120000', doc: 'trend-detection: window size' },
  TREND_MIN_COUNT: {
    schema: int(1),
    default: '5',
    doc: 'trend-detection: fewest messages with the word in a window for it to trend',
  },
  TREND_SURGE_SCORE: {
    schema: positiveNumber,
    default: '3',
    doc: 'trend-detection: score at which a word surged in a window; such windows stay out of its baseline',
  },
  TREND_STOP_WORDS: {
    schema: z
      .string()
      .regex(/^[^,]+(,[^,]+)*$/, 'comma-separated words')
      .optional(),
    doc: 'trend-detection: stop words (comma-separated), replacing the built-in English list',
  },
  TREND_TOP_N: { schema: int(1, 1000), default: '10', doc: 'trend-detection: words emitted per window' },
  TREND_BASELINE_WINDOWS: {
    schema: int(1, 1000),
    default: '5',
    doc: 'trend-detection: previous windows that form a word’s baseline',
  },
  ANOMALY_RATE_THRESHOLD: {
    schema: int(2),
    default: '8',
    doc: 'anomaly-detection: messages per window that alert',
  },
  ANOMALY_RATE_WINDOW_MS: { schema: int(1), default: '60000', doc: 'anomaly-detection: sliding window size' },
  ANOMALY_DUPLICATE_THRESHOLD: {
    schema: int(2),
    default: '5',
    doc: 'anomaly-detection: identical (normalised) messages by one sender in the window that alert',
  },
  ANOMALY_DUPLICATE_WINDOW_MS: {
    schema: int(1),
    default: '600000',
    doc: 'anomaly-detection: sliding window of the duplicate-content rule',
  },
  ANOMALY_COMMIT_INTERVAL_MS: {
    schema: int(1),
    default: '25',
    doc: 'anomaly-detection: commit interval (an alert waits about one: its repartition hop; the alert itself is committed at once)',
  },
  USER_ACTIVITY_WINDOW_MS: { schema: int(1), default: '60000', doc: 'user-activity: window size' },
  USER_ACTIVITY_JOIN_RETENTION_MS: {
    schema: int(1),
    default: '3600000',
    doc: 'user-activity: how long a message waits for its views, and a view for its message (stream time)',
  },
} as const satisfies Record<string, VarSpec>;

export type EnvKey = keyof typeof ENV;
export type Value<K extends EnvKey> = z.output<(typeof ENV)[K]['schema']>;

/** The variable `key` of `env` (empty means unset: its default), parsed by its schema. */
export function readVar<K extends EnvKey>(
  env: Readonly<Record<string, string | undefined>>,
  key: K,
): Value<K> {
  const spec: VarSpec = ENV[key];
  const raw = env[key] === '' ? undefined : env[key];
  const text = raw ?? spec.default;
  const result = spec.schema.safeParse(text);
  if (result.success) return result.data as Value<K>;
  const expected = result.error.issues[0]?.message ?? 'a valid value';
  const shown = spec.secret ? '(hidden)' : JSON.stringify(text);
  throw new AppError(ErrorCode.CONFIG_INVALID, `${key}=${shown} is invalid: expected ${expected}`, {
    context: { variable: key, value: spec.secret ? '(hidden)' : (text ?? null), expected },
  });
}

/** Lines for `--help`: each variable, its default and meaning. */
export function configDocs(): string[] {
  const entries = Object.entries(ENV) as [EnvKey, VarSpec][];
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(
    ([k, spec]) =>
      `  ${k.padEnd(width)}  ${spec.doc}${spec.default === undefined ? '' : ` (default ${spec.default})`}`,
  );
}

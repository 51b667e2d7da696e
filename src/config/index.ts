import { resolve } from 'node:path';
import { AppError, ErrorCode } from '../errors/index.ts';
import { type EnvKey, readVar } from './env.ts';
import { kafkaSettings } from './kafka-settings.ts';

export { configDocs, ENV } from './env.ts';

/**
 * The configuration, from the one schema of the environment (./env.ts; docs/configuration.md is
 * generated from it), which yields the `Config` type, the defaults, the documentation and the
 * validation: `loadConfig()` runs once at start, fails on the first invalid variable with a message
 * that names the variable, its value and what was expected, and returns a frozen object. Secrets are
 * never echoed.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env) {
  const get = <K extends EnvKey>(k: K) => readVar(env, k);
  const clickhouseUrl = get('CLICKHOUSE_URL');
  const kafkaBrokers = get('KAFKA_BROKERS');
  const config = {
    dataDir: resolve(get('DATA_DIR')),
    logLevel: get('LOG_LEVEL'),
    statusIntervalMs: get('STATUS_INTERVAL_MS'),
    api: {
      host: get('HOST'),
      port: get('PORT'),
      token: get('API_TOKEN'),
      bodyLimitBytes: get('API_BODY_LIMIT_BYTES'),
      ingestRateLimit: get('INGEST_RATE_LIMIT'),
      ingestMaxLag: get('INGEST_MAX_LAG'),
      queryMaxRows: get('QUERY_MAX_ROWS'),
      queryMaxExecutionMs: get('QUERY_MAX_EXECUTION_MS'),
    },
    log:
      kafkaBrokers === undefined
        ? {
            kind: 'embedded' as const,
            fsync: get('LOG_FSYNC'),
            fsyncIntervalMs: get('LOG_FSYNC_INTERVAL_MS'),
            onCorruption: get('LOG_ON_CORRUPTION'),
          }
        : { kind: 'kafka' as const, brokers: kafkaBrokers.split(','), ...kafkaSettings(get) },
    storage:
      clickhouseUrl === undefined
        ? { kind: 'chdb' as const }
        : {
            kind: 'http' as const,
            url: clickhouseUrl,
            user: get('CLICKHOUSE_USER'),
            password: get('CLICKHOUSE_PASSWORD'),
          },
    retention: {
      messagesDays: get('RETENTION_MESSAGES_DAYS'),
      viewsDays: get('RETENTION_VIEWS_DAYS'),
      metricsDays: get('RETENTION_METRICS_DAYS'),
      alertsDays: get('RETENTION_ALERTS_DAYS'),
    },
    streams: {
      commitIntervalMs: get('STREAMS_COMMIT_INTERVAL_MS'),
      processingGuarantee: get('PROCESSING_GUARANTEE'),
      graceMs: get('STREAMS_GRACE_MS'),
      idleMs: get('STREAMS_IDLE_MS'),
    },
    processors: {
      clickhouseSink: { batchRows: get('SINK_BATCH_ROWS'), flushMs: get('SINK_FLUSH_MS') },
      conversationAnalytics: {
        windowMs: get('CONVERSATION_WINDOW_MS'),
        hopMs: get('CONVERSATION_HOP_MS'),
        peakFactor: get('CONVERSATION_PEAK_FACTOR'),
        peakMinCount: get('CONVERSATION_PEAK_MIN_COUNT'),
        peakSignificance: get('CONVERSATION_PEAK_SIGNIFICANCE'),
        baselineFloor: get('CONVERSATION_BASELINE_FLOOR'),
        baselineMs: get('CONVERSATION_BASELINE_MS'),
      },
      trendDetection: {
        windowMs: get('TREND_WINDOW_MS'),
        topN: get('TREND_TOP_N'),
        baselineWindows: get('TREND_BASELINE_WINDOWS'),
        minCount: get('TREND_MIN_COUNT'),
        surgeScore: get('TREND_SURGE_SCORE'),
        stopWords: get('TREND_STOP_WORDS')
          ?.split(',')
          .map((w) => w.trim().toLowerCase()),
      },
      anomalyDetection: {
        rateThreshold: get('ANOMALY_RATE_THRESHOLD'),
        rateWindowMs: get('ANOMALY_RATE_WINDOW_MS'),
        duplicateThreshold: get('ANOMALY_DUPLICATE_THRESHOLD'),
        duplicateWindowMs: get('ANOMALY_DUPLICATE_WINDOW_MS'),
        commitIntervalMs: get('ANOMALY_COMMIT_INTERVAL_MS'),
      },
      userActivity: {
        windowMs: get('USER_ACTIVITY_WINDOW_MS'),
        joinRetentionMs: get('USER_ACTIVITY_JOIN_RETENTION_MS'),
      },
    },
  };
  if (config.processors.conversationAnalytics.hopMs > config.processors.conversationAnalytics.windowMs) {
    throw new AppError(
      ErrorCode.CONFIG_INVALID,
      `CONVERSATION_HOP_MS=${config.processors.conversationAnalytics.hopMs} is invalid: expected at most CONVERSATION_WINDOW_MS (${config.processors.conversationAnalytics.windowMs})`,
      { context: { variable: 'CONVERSATION_HOP_MS' } },
    );
  }
  const conversation = config.processors.conversationAnalytics;
  for (const [variable, value] of [
    ['CONVERSATION_WINDOW_MS', conversation.windowMs],
    ['CONVERSATION_BASELINE_MS', conversation.baselineMs],
  ] as const) {
    if (value % conversation.hopMs !== 0) {
      throw new AppError(
        ErrorCode.CONFIG_INVALID,
        `${variable}=${value} is invalid: expected a multiple of CONVERSATION_HOP_MS (${conversation.hopMs})`,
        { context: { variable } },
      );
    }
  }
  return deepFreeze(config);
}

export type Config = ReturnType<typeof loadConfig>;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The configuration with secrets replaced, safe to log. */
export function redactConfig(config: Config): unknown {
  return JSON.parse(
    JSON.stringify(config, (key, value) =>
      (key === 'token' || key === 'password') && value !== undefined ? '(set)' : value,
    ),
  );
}

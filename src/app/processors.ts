import type { Config } from '../config/index.ts';
import type { Log } from '../log/index.ts';
import { createAnomalyDetection } from '../processors/anomaly-detection/index.ts';
import { createClickHouseSink } from '../processors/clickhouse-sink/index.ts';
import { createConversationAnalytics } from '../processors/conversation-analytics/index.ts';
import { createTrendDetection } from '../processors/trend-detection/index.ts';
import { createUserActivity } from '../processors/user-activity/index.ts';
import type { ClickHouse } from '../storage/index.ts';
import type { StreamsRuntime } from '../streams/index.ts';

export interface ProcessorDeps {
  readonly log: Log;
  readonly ch: ClickHouse;
  readonly config: Config;
}

/** Every processor `msgtrack process` and `msgtrack start` can run, by name (README, Stream processors). */
export const PROCESSORS: Readonly<Record<string, (deps: ProcessorDeps) => StreamsRuntime>> = {
  'clickhouse-sink': ({ log, ch, config }) =>
    createClickHouseSink(
      { log, ch },
      {
        batchRows: config.processors.clickhouseSink.batchRows,
        flushMs: config.processors.clickhouseSink.flushMs,
        processingGuarantee: config.streams.processingGuarantee,
      },
    ),
  'conversation-analytics': ({ log, config }) =>
    createConversationAnalytics(
      { log },
      {
        ...config.processors.conversationAnalytics,
        graceMs: config.streams.graceMs,
        commitIntervalMs: config.streams.commitIntervalMs,
        idleAdvanceMs: config.streams.idleMs,
        processingGuarantee: config.streams.processingGuarantee,
      },
    ),
  'trend-detection': ({ log, config }) => {
    const { stopWords, ...trend } = config.processors.trendDetection;
    return createTrendDetection(
      { log },
      {
        ...trend,
        ...(stopWords === undefined ? {} : { stopWords }),
        graceMs: config.streams.graceMs,
        commitIntervalMs: config.streams.commitIntervalMs,
        idleAdvanceMs: config.streams.idleMs,
        processingGuarantee: config.streams.processingGuarantee,
      },
    );
  },
  'anomaly-detection': ({ log, config }) =>
    createAnomalyDetection(
      { log },
      {
        rateThreshold: config.processors.anomalyDetection.rateThreshold,
        rateWindowMs: config.processors.anomalyDetection.rateWindowMs,
        duplicateThreshold: config.processors.anomalyDetection.duplicateThreshold,
        duplicateWindowMs: config.processors.anomalyDetection.duplicateWindowMs,
        graceMs: config.streams.graceMs,
        commitIntervalMs: config.processors.anomalyDetection.commitIntervalMs,
        idleAdvanceMs: config.streams.idleMs,
        processingGuarantee: config.streams.processingGuarantee,
      },
    ),
  'user-activity': ({ log, config }) =>
    createUserActivity(
      { log },
      {
        windowMs: config.processors.userActivity.windowMs,
        joinRetentionMs: config.processors.userActivity.joinRetentionMs,
        graceMs: config.streams.graceMs,
        commitIntervalMs: config.streams.commitIntervalMs,
        idleAdvanceMs: config.streams.idleMs,
        processingGuarantee: config.streams.processingGuarantee,
      },
    ),
};

export const PROCESSOR_NAMES = Object.keys(PROCESSORS);

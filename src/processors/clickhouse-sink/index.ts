export { OffsetBatchSink, type OffsetBatchSinkOptions, type SinkFlushEvent } from './offset-batch-sink.ts';
export {
  anomalyAlertRow,
  conversationMetricRow,
  OUTPUT_TOPICS,
  type OutputTopic,
  trendingWordRow,
  userActivityRow,
} from './output-tables.ts';
export { readRange } from './read-range.ts';
export { ClickHouseSinkState, type SinkProgress, type SinkState } from './sink-state.ts';
export {
  checkStore,
  prepareReplay,
  type ReplayPlan,
  SINK_TABLES,
  type StoreCheck,
  type StoreOptions,
} from './store-check.ts';
export {
  CLICKHOUSE_SINK_APPLICATION_ID,
  type ClickHouseSinkDeps,
  type ClickHouseSinkOptions,
  clickhouseSinkTopology,
  createClickHouseSink,
  messageRow,
  receiptRow,
  SINK_DEFAULTS,
} from './topology.ts';

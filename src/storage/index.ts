/**
 * Storage: ClickHouse behind one port (`ClickHouse`) with two adapters — the embedded engine (chDB)
 * and a server over HTTP — the versioned schema, and the write paths the sink uses.
 */

export * from './aggregate-reads.ts';
export * from './api-reads.ts';
export { type ChdbOptions, openChdb } from './chdb.ts';
export { toStorageError } from './errors.ts';
export { type HttpOptions, openHttp } from './http.ts';
export * from './insight-reads.ts';
export {
  type AppliedMigration,
  appliedMigrations,
  applyRetention,
  checkDatabaseName,
  checksumOf,
  type MigrateOptions,
  migrate,
} from './migrations.ts';
export {
  OPERATOR_QUERY_DEFAULTS,
  type OperatorQueryOptions,
  type OperatorQueryResult,
  operatorQuery,
} from './operator-query.ts';
export type {
  ClickHouse,
  CompactQueryOptions,
  CompactResult,
  InsertOptions,
  InsertSummary,
  QueryParams,
  QuerySettings,
} from './port.ts';
export { type MessageStatus, messageStatus } from './reads.ts';
export {
  DEFAULT_DATABASE,
  DEFAULT_RETENTION,
  MIGRATIONS,
  type Migration,
  type Retention,
  type TableName,
  Tables,
} from './schema.ts';
export { type DetachedPart, detachedParts, rebuildClosure, rowCounts } from './store-health.ts';
export { fromDateTime64, toDateTime64 } from './wire.ts';
export {
  type AnomalyAlertRow,
  type ConversationMetricRow,
  insertAnomalyAlerts,
  insertConversationMetrics,
  insertMessages,
  insertReceipts,
  insertTrendingWords,
  insertUserActivity,
  type MessageRow,
  type ReceiptRow,
  type TrendingWordRow,
  type UserActivityRow,
} from './writes.ts';

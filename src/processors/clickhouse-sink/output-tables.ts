import type { z } from 'zod';
import {
  AlertStatus,
  type AnomalyAlert,
  type ConversationMetric,
  Topics,
  type TrendingWord,
  type UserActivityMetric,
  validateEvent,
} from '../../events/index.ts';
import type { Log, LogRecord } from '../../log/index.ts';
import {
  type AnomalyAlertRow,
  type ClickHouse,
  type ConversationMetricRow,
  type InsertSummary,
  insertAnomalyAlerts,
  insertConversationMetrics,
  insertTrendingWords,
  insertUserActivity,
  type TrendingWordRow,
  type UserActivityRow,
} from '../../storage/index.ts';
import {
  Codecs,
  type ExternalSink,
  type SourceRecordMetadata,
  type StreamRecord,
  type StreamsBuilder,
} from '../../streams/index.ts';
import { type FastOutputTopic, fastOutput, isoInstantMs } from '../output-fast-path.ts';
import { OffsetBatchSink, type SinkFlushEvent } from './offset-batch-sink.ts';
import { readRangeRecords } from './read-range.ts';
import type { SinkState } from './sink-state.ts';
import { TableBatch } from './table-batch.ts';

/**
 * The analytics processors' output topics → their ClickHouse tables (migration 5), through the same
 * exactly-once `OffsetBatchSink` as messages and receipts. A window row carries the record's offset as
 * its `version` (a key's records live in one partition, so a later emission of the same window has a
 * higher offset and wins in the ReplacingMergeTree), an alert its own version; every row the record's
 * timestamp as `emitted_at`.
 */

/** A decoded output record with where it sits in its partition. */
interface Emitted<V> {
  readonly value: V;
  readonly offset: number;
  readonly timestamp: number;
}

export interface OutputSinkContext {
  readonly applicationId: string;
  readonly state: SinkState;
  readonly batchRows: number;
  readonly log: Log;
  readonly ch: ClickHouse;
  readonly database: string;
  readonly onFlush?: (event: SinkFlushEvent) => void;
}

type Insert<Row> = (
  ch: ClickHouse,
  rows: readonly Row[],
  dedupToken: string | undefined,
  database: string,
) => Promise<InsertSummary>;

/** Hands each record to an `OffsetBatchSink` together with its offset and timestamp. */
class OutputTableSink<V, Row> implements ExternalSink<string | null, V> {
  readonly #inner: OffsetBatchSink<string | null, Emitted<V>, Row>;

  constructor(toRow: (e: Emitted<V>) => Row, batch: TableBatch<Row>) {
    this.#inner = new OffsetBatchSink<string | null, Emitted<V>, Row>({ toRow, batch });
  }

  write(record: StreamRecord<string | null, V>, source: SourceRecordMetadata): void {
    this.#inner.write(
      {
        key: record.key,
        value: { value: record.value, offset: source.offset, timestamp: record.timestamp },
        timestamp: record.timestamp,
        headers: record.headers,
      },
      source,
    );
  }

  wantsFlush(): boolean {
    return this.#inner.wantsFlush();
  }

  flush(): Promise<void> {
    return this.#inner.flush();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

function persist<V, Row>(
  builder: StreamsBuilder,
  topic: FastOutputTopic,
  schema: z.ZodType<V>,
  toRow: (e: Emitted<V>) => Row,
  insert: Insert<Row>,
  ctx: OutputSinkContext,
): void {
  // Validated like any input: a record that does not match its schema goes to `<topic>.dlq`. A plainly
  // valid one takes the schema's fast path (../output-fast-path.ts: the same output without a zod run).
  const codec = Codecs.json(
    (input) => (fastOutput(topic, input) as V | undefined) ?? (validateEvent(schema, topic, input) as V),
  );
  const batch = new TableBatch<Row>({
    applicationId: ctx.applicationId,
    topic,
    state: ctx.state,
    batchRows: ctx.batchRows,
    insert: (rows, token) => insert(ctx.ch, rows, token, ctx.database),
    readRange: (t, partition, first, last) =>
      readRangeRecords(ctx.log, t, partition, first, last, (r: LogRecord) =>
        toRow({ value: codec.deserialize(r.value), offset: r.offset, timestamp: r.timestamp }),
      ),
    ...(ctx.onFlush === undefined ? {} : { onFlush: ctx.onFlush }),
  });
  builder
    .stream(topic, { key: Codecs.nullable(Codecs.string), value: codec })
    .sink(() => new OutputTableSink(toRow, batch), { name: `${topic}-sink` });
}

/** Epoch ms of a validated instant (the fast path's exact form, else Date.parse). */
const ms = (iso: string): number => isoInstantMs(iso) ?? Date.parse(iso);

export function conversationMetricRow({ value: m, offset, timestamp }: Emitted<ConversationMetric>) {
  return {
    conversation_id: m.conversation_id,
    window_start: ms(m.window_start),
    window_end: ms(m.window_end),
    window_kind: m.window_kind,
    message_count: m.message_count,
    participant_count: m.participant_count,
    is_peak: m.is_peak,
    baseline: m.baseline_count,
    peak_threshold: m.peak_threshold,
    emitted_at: timestamp,
    version: offset,
  } satisfies ConversationMetricRow;
}

export function trendingWordRow({ value: w, offset, timestamp }: Emitted<TrendingWord>) {
  return {
    window_start: ms(w.window_start),
    window_end: ms(w.window_end),
    word: w.word,
    count: w.count,
    rank: w.rank,
    score: w.score,
    baseline: w.baseline,
    emitted_at: timestamp,
    version: offset,
  } satisfies TrendingWordRow;
}

export function userActivityRow({ value: u, offset, timestamp }: Emitted<UserActivityMetric>) {
  return {
    user_id: u.user_id,
    window_start: ms(u.window_start),
    window_end: ms(u.window_end),
    messages_sent: u.messages_sent,
    messages_received: u.messages_received,
    reads: u.reads,
    active_conversations: u.active_conversations,
    emitted_at: timestamp,
    version: offset,
  } satisfies UserActivityRow;
}

export function anomalyAlertRow({ value: a, timestamp }: Emitted<AnomalyAlert>) {
  return {
    alert_id: a.alert_id,
    user_id: a.user_id,
    kind: a.kind,
    severity: a.severity,
    status: a.status,
    count: a.count,
    threshold: a.threshold,
    window_ms: a.window_ms,
    window_start: ms(a.window_start),
    window_end: ms(a.window_end),
    first_message_id: a.first_message_id,
    last_message_id: a.last_message_id,
    trigger_message_id: a.trigger_message_id,
    message_count: a.message_count,
    detected_at: ms(a.triggered_at),
    emitted_at: timestamp,
    retracted: a.status === AlertStatus.RETRACTED ? 1 : 0,
    // The alert's own version: the record with the highest one is the alert's current state.
    version: a.version,
  } satisfies AnomalyAlertRow;
}

/** Each output topic and how its records reach their table. */
const OUTPUTS = {
  [Topics.conversationMetrics.name]: (b: StreamsBuilder, ctx: OutputSinkContext) =>
    persist(
      b,
      Topics.conversationMetrics.name,
      Topics.conversationMetrics.schema,
      conversationMetricRow,
      insertConversationMetrics,
      ctx,
    ),
  [Topics.trendingWords.name]: (b: StreamsBuilder, ctx: OutputSinkContext) =>
    persist(
      b,
      Topics.trendingWords.name,
      Topics.trendingWords.schema,
      trendingWordRow,
      insertTrendingWords,
      ctx,
    ),
  [Topics.userActivityMetrics.name]: (b: StreamsBuilder, ctx: OutputSinkContext) =>
    persist(
      b,
      Topics.userActivityMetrics.name,
      Topics.userActivityMetrics.schema,
      userActivityRow,
      insertUserActivity,
      ctx,
    ),
  [Topics.anomalyAlerts.name]: (b: StreamsBuilder, ctx: OutputSinkContext) =>
    persist(
      b,
      Topics.anomalyAlerts.name,
      Topics.anomalyAlerts.schema,
      anomalyAlertRow,
      insertAnomalyAlerts,
      ctx,
    ),
} as const;

/** An output topic the clickhouse-sink can persist. */
export type OutputTopic = keyof typeof OUTPUTS;
export const OUTPUT_TOPICS = Object.keys(OUTPUTS) as OutputTopic[];

/** Add the sub-topology that persists `topic` into its table. */
export function persistOutputTopic(
  builder: StreamsBuilder,
  topic: OutputTopic,
  ctx: OutputSinkContext,
): void {
  OUTPUTS[topic](builder, ctx);
}

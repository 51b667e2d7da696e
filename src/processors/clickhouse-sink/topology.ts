import type { ChatMessage, MessageView } from '../../events/index.ts';
import { Topics } from '../../events/index.ts';
import type { Log } from '../../log/index.ts';
import {
  type ClickHouse,
  insertMessages,
  insertReceipts,
  type MessageRow,
  type ReceiptRow,
} from '../../storage/index.ts';
import {
  type Codec,
  Codecs,
  type ProcessingGuarantee,
  type StreamsBuilder,
  StreamsRuntime,
} from '../../streams/index.ts';
import { chatMessageCodec, messageTime, messageViewCodec, viewTime } from '../codecs.ts';
import { OffsetBatchSink, type SinkFlushEvent } from './offset-batch-sink.ts';
import { OUTPUT_TOPICS, type OutputTopic, persistOutputTopic } from './output-tables.ts';
import { readRange } from './read-range.ts';
import { ClickHouseSinkState, type SinkState } from './sink-state.ts';
import { TableBatch } from './table-batch.ts';

export const CLICKHOUSE_SINK_APPLICATION_ID = 'clickhouse-sink';

export interface ClickHouseSinkOptions {
  /** Rows per insert at most (a full batch commits at once). Default 50 000. */
  readonly batchRows?: number;
  /** Longest wait before buffered rows are inserted (the commit interval), ms. Default 1000. */
  readonly flushMs?: number;
  /** Database of the tables. Default message_db. */
  readonly database?: string;
  /** Consumer group and state key. Default `clickhouse-sink`. */
  readonly applicationId?: string;
  /**
   * Output topics of the analytics processors to persist (each into its table, see output-tables.ts).
   * Default: all four. Each must exist when the sink starts (`msgtrack` creates them all); `[]`
   * persists only messages and receipts.
   */
  readonly outputs?: readonly OutputTopic[];
  readonly onFlush?: (event: SinkFlushEvent) => void;
  /**
   * How the input offsets are committed (PROCESSING_GUARANTEE): in a transaction (default) or by the
   * consumer. Rows are inserted once either way (the dedup tokens above).
   */
  readonly processingGuarantee?: ProcessingGuarantee;
}

export interface ClickHouseSinkDeps {
  readonly ch: ClickHouse;
  /** The log the records come from: a replay reads an interrupted range from it again. */
  readonly log: Log;
  /** Default: `ClickHouseSinkState` in the database. */
  readonly state?: SinkState;
}

/** Map a validated message to its `messages_base` row. */
export function messageRow(m: ChatMessage): MessageRow {
  return {
    message_id: m.message_id,
    conversation_id: m.conversation_id,
    sender_id: m.sender_id,
    receiver_id: m.receiver_id,
    content: m.content,
    created_at: m.timestamp,
    message_type: m.message_type,
    user_id: m.user_id,
    event_type: m.event_type,
  };
}

/** Map a validated view to its `message_views` row (the viewer is the event's user_id). */
export function receiptRow(v: MessageView): ReceiptRow {
  return { message_id: v.message_id, reader_id: v.user_id, viewed_at: v.viewed_at, device: v.device };
}

/**
 * clickhouse-sink: `chat.messages` → messages_base, `message-views` → message_views, and the analytics
 * processors' output topics → their tables (`outputs`), exactly once.
 * Run it with a commit interval equal to the flush interval (~1 s): every commit flushes each task's
 * table's batch (one insert per table, for all its source partitions) before the input offsets are
 * committed.
 */
/** The sink's batch size and flush interval when the caller gives none (SINK_BATCH_ROWS, SINK_FLUSH_MS). */
export const SINK_DEFAULTS = { batchRows: 50_000, flushMs: 1_000 } as const;

export function clickhouseSinkTopology(deps: ClickHouseSinkDeps, options: ClickHouseSinkOptions = {}) {
  const applicationId = options.applicationId ?? CLICKHOUSE_SINK_APPLICATION_ID;
  const database = options.database ?? 'message_db';
  const batchRows = options.batchRows ?? SINK_DEFAULTS.batchRows;
  const state = deps.state ?? new ClickHouseSinkState(deps.ch, database);
  // Message and view inserts one at a time, never overlapping (on a server too): each looks up the
  // other's table for a view that came before its message (see src/storage/schema-messages.ts).
  let readPath: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(insert: () => Promise<T>): Promise<T> => {
    const run = readPath.then(insert, insert);
    readPath = run.catch(() => undefined);
    return run;
  };
  /** The sink supplier of a table: each task's sink joins the table's batch (one per build). */
  const sinkFor = <V, Row>(
    topic: string,
    codec: Codec<V>,
    toRow: (v: V) => Row,
    insert: (rows: readonly Row[], token: string) => Promise<unknown>,
  ) => {
    const batch = new TableBatch<Row>({
      applicationId,
      topic,
      state,
      insert,
      batchRows,
      readRange: async (t, partition, first, last) =>
        (await readRange(deps.log, t, partition, first, last, codec)).map(toRow),
      ...(options.onFlush === undefined ? {} : { onFlush: options.onFlush }),
    });
    return () => new OffsetBatchSink<string | null, V, Row>({ toRow, batch });
  };

  return (builder: StreamsBuilder): void => {
    builder
      .stream(Topics.chatMessages.name, {
        key: Codecs.nullable(Codecs.string),
        value: chatMessageCodec,
        timestamp: messageTime,
      })
      .sink(
        sinkFor(Topics.chatMessages.name, chatMessageCodec, messageRow, (rows, token) =>
          oneAtATime(() => insertMessages(deps.ch, rows, token, database)),
        ),
        { name: 'messages-sink' },
      );
    builder
      .stream(Topics.messageViews.name, {
        key: Codecs.nullable(Codecs.string),
        value: messageViewCodec,
        timestamp: viewTime,
      })
      .sink(
        sinkFor(Topics.messageViews.name, messageViewCodec, receiptRow, (rows, token) =>
          oneAtATime(() => insertReceipts(deps.ch, rows, token, database)),
        ),
        { name: 'views-sink' },
      );
    const ctx = {
      applicationId,
      state,
      batchRows,
      log: deps.log,
      ch: deps.ch,
      database,
      ...(options.onFlush === undefined ? {} : { onFlush: options.onFlush }),
    };
    for (const topic of options.outputs ?? OUTPUT_TOPICS) persistOutputTopic(builder, topic, ctx);
  };
}

/**
 * The clickhouse-sink as a running application: commits (and so inserts) every `flushMs` or as soon
 * as a batch is full; while ClickHouse is unavailable it retries the insert with back-off for as long
 * as it takes and fetches nothing meanwhile (back-pressure: at most one batch plus one poll buffered).
 */
export function createClickHouseSink(
  deps: ClickHouseSinkDeps,
  options: ClickHouseSinkOptions = {},
): StreamsRuntime {
  return new StreamsRuntime({
    log: deps.log,
    applicationId: options.applicationId ?? CLICKHOUSE_SINK_APPLICATION_ID,
    commitIntervalMs: options.flushMs ?? SINK_DEFAULTS.flushMs,
    sinkFlushRetries: Number.POSITIVE_INFINITY,
    ...(options.processingGuarantee === undefined
      ? {}
      : { processingGuarantee: options.processingGuarantee }),
    topology: clickhouseSinkTopology(deps, options),
  });
}

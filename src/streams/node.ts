/**
 * The internal node model shared by the runtime and the test driver: a topology compiles to node
 * definitions; a task instantiates them against its `TaskServices` (stores, time, output).
 */
import type { LogRecord, RecordHeader } from '../log/index.ts';
import type { Codec } from './codec.ts';
import type { StoreSpec } from './stores.ts';
import type {
  Cancellable,
  ErrorPolicy,
  ExternalSink,
  PunctuationType,
  SourceRecordMetadata,
  StreamRecord,
} from './types.ts';

export type AnyRecord = StreamRecord<unknown, unknown>;

/** What a node can ask of the task running it. */
export interface TaskServices {
  readonly applicationId: string;
  readonly taskId: string;
  readonly partition: number;
  streamTime(): number;
  wallClock(): number;
  store<S>(name: string): S;
  /** Count (and by policy dead-letter) the record being processed as late. */
  late(reason: string): void;
  /** Called after stream time moved forward (by a record, or by idle advance). */
  onStreamTime(listener: (streamTimeMs: number) => void): void;
  schedule(intervalMs: number, type: PunctuationType, callback: (timestampMs: number) => void): Cancellable;
  recordMetadata(): SourceRecordMetadata | null;
  /** Queue a record for the output (written in the next commit's transaction). */
  send(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: readonly RecordHeader[],
  ): void;
  registerSink(sink: ExternalSink<unknown, unknown>): void;
}

export interface NodeContext {
  readonly task: TaskServices;
  forward(record: AnyRecord): void;
}

export interface NodeImpl {
  process(record: AnyRecord): void;
  close?(): void;
}

export interface NodeDef {
  readonly id: number;
  readonly name: string;
  readonly children: NodeDef[];
  readonly stores: readonly string[];
  /** Source nodes only: the topics it reads. */
  readonly sourceTopics?: readonly string[];
  /** Sink nodes only: the topic it writes. */
  readonly sinkTopic?: string;
  make(ctx: NodeContext): NodeImpl;
}

export type TimestampExtractor<K, V> = (key: K, value: V, record: LogRecord) => number;

export interface SourceDef {
  readonly topic: string;
  readonly node: NodeDef;
  readonly keyCodec: Codec<unknown>;
  readonly valueCodec: Codec<unknown>;
  readonly timestamp: TimestampExtractor<unknown, unknown> | undefined;
  /** Overrides the application's deserialisation policy for this source. */
  readonly errorPolicy: ErrorPolicy | undefined;
  readonly internal: boolean;
}

export interface SubTopology {
  readonly id: number;
  readonly sourceTopics: readonly string[];
  readonly sources: ReadonlyMap<string, SourceDef>;
  readonly nodes: readonly NodeDef[];
  readonly stores: readonly string[];
}

export interface RepartitionTopic {
  readonly topic: string;
  /** Explicit partition count; default: the most partitions among the writing sub-topology's sources. */
  readonly partitions: number | undefined;
  readonly writer: number;
  readonly reader: number;
}

/** A compiled topology: what the runtime and the test driver run. */
export interface Topology {
  readonly applicationId: string;
  readonly subtopologies: readonly SubTopology[];
  readonly stores: ReadonlyMap<string, StoreSpec>;
  readonly repartitionTopics: readonly RepartitionTopic[];
  readonly outputTopics: readonly string[];
  changelogTopic(store: string): string;
  describe(): string;
}

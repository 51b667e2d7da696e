/** Public types of the streams layer: records between nodes, processors, sinks, stores, policies. */
import type { RecordHeader } from '../log/index.ts';

/** A record flowing between nodes. `timestamp` is its event time (ms since the epoch). */
export interface StreamRecord<K, V> {
  readonly key: K;
  readonly value: V;
  readonly timestamp: number;
  readonly headers: readonly RecordHeader[];
}

/** The key of a windowed result: the grouping key and the window bounds (see windows.ts for inclusivity). */
export interface Windowed<K> {
  readonly key: K;
  readonly startMs: number;
  readonly endMs: number;
}

/** Where the record being processed came from in the log. */
export interface SourceRecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/**
 * What happens to a record that fails: `dead-letter` (default) writes it to `<source topic>.dlq`
 * (see dead-letter.ts for the format) in the same transaction; `skip` drops it; `fail` stops the
 * runtime (the record is reprocessed after a restart). Every outcome is counted in metrics.
 */
export const ErrorPolicy = { DEAD_LETTER: 'dead-letter', SKIP: 'skip', FAIL: 'fail' } as const;
export type ErrorPolicy = (typeof ErrorPolicy)[keyof typeof ErrorPolicy];

/** Records later than their window's end + grace: always counted; `drop` (default) or `dead-letter`. */
export const LatePolicy = { DROP: 'drop', DEAD_LETTER: 'dead-letter' } as const;
export type LatePolicy = (typeof LatePolicy)[keyof typeof LatePolicy];

/** Per-record error policies of one application, by stage. */
export interface ErrorPolicies {
  /** Bytes that do not decode, or decode but fail the codec's validation. Default dead-letter. */
  readonly deserialization?: ErrorPolicy;
  /** A user function (map, filter, aggregator, processor, timestamp extractor) threw. Default dead-letter. */
  readonly processing?: ErrorPolicy;
  /** Records later than window end + grace. Default drop (counted). */
  readonly late?: LatePolicy;
}

/** `onWindowClose` emits one final result per window (Kafka's suppress(untilWindowCloses)); `onUpdate` emits every change. */
export type EmitStrategy = 'onWindowClose' | 'onUpdate';

export type PunctuationType = 'stream-time' | 'wall-clock';

export interface Cancellable {
  cancel(): void;
}

/** What a low-level processor sees of its task. */
export interface ProcessorContext<KOut, VOut> {
  readonly applicationId: string;
  /** `<subtopology>_<partition>`. */
  readonly taskId: string;
  readonly partition: number;
  forward(record: StreamRecord<KOut, VOut>): void;
  /** A store declared in `process(…, { stores })`; throws STREAMS_TOPOLOGY for an unknown name. */
  getStateStore<S>(name: string): S;
  /**
   * Call `callback` every `intervalMs`: of stream time (fires when stream time crosses a multiple of
   * the interval, with that stream time) or of wall-clock time (fires from the runtime's loop, or the
   * test driver's `advanceWallClockTime`, with the wall-clock time).
   */
  schedule(intervalMs: number, type: PunctuationType, callback: (timestampMs: number) => void): Cancellable;
  /** The task's stream time: the largest event time seen (or advanced to while idle); -Infinity before any. */
  streamTimeMs(): number;
  wallClockTimeMs(): number;
  /** The source record being processed; null inside a punctuation. */
  recordMetadata(): SourceRecordMetadata | null;
  /**
   * Count the record being processed as late (beyond its window's grace) in the task's
   * `lateRecords`, and dead-letter it under the `dead-letter` late policy; the processor drops it.
   */
  late(reason: string): void;
}

/** A low-level processor: `process` is synchronous; state goes in stores so it survives restarts. */
export interface Processor<KIn, VIn, KOut, VOut> {
  init?(context: ProcessorContext<KOut, VOut>): void;
  process(record: StreamRecord<KIn, VIn>): void;
  close?(): void;
}

/**
 * A sink whose side effects live outside the log (e.g. ClickHouse). The runtime calls `write` for
 * every record, synchronously; before each commit it awaits `flush()` and commits the input offsets
 * only when it resolved. When `flush` rejects with a retriable AppError the runtime retries it with
 * back-off; any other failure stops the runtime without committing, so the records are replayed after
 * a restart: `flush` must therefore be idempotent on replay (e.g. a dedup token from the offsets).
 *
 * Back-pressure: when `wantsFlush()` returns true (batch full) the runtime commits at once, and it
 * fetches no more input until that commit is done, so the sink buffers at most one batch plus one poll.
 */
export interface ExternalSink<K, V> {
  write(record: StreamRecord<K, V>, source: SourceRecordMetadata): void;
  wantsFlush?(): boolean;
  flush(): Promise<void>;
  close?(): Promise<void>;
}

export interface KeyValueStore<K, V> {
  readonly name: string;
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  delete(key: K): void;
  /** Entries in insertion order (a snapshot). */
  all(): Array<[K, V]>;
  /** Number of live entries. */
  size(): number;
}

/** Read access to a windowed aggregation's store (tests, interactive queries). */
export interface ReadOnlyWindowStore<K, V> {
  readonly name: string;
  /** Open windows with their current aggregate, ordered by (end, insertion). */
  all(): Array<{ key: K; startMs: number; endMs: number; value: V }>;
  /** Number of entries held (windows, or buffered records for sliding windows). */
  size(): number;
}

/**
 * The streams layer: our TypeScript counterpart of Kafka Streams, on the `Log` port.
 * A processor is a topology function over `StreamsBuilder`; `StreamsRuntime` runs it on a log with
 * exactly-once commits; `TopologyTestDriver` runs it synchronously in tests. See README of the
 * module in runtime.ts (and the modules it names) / topology.ts / windows.ts for the contracts.
 */
export { type Codec, Codecs, type SafeParser } from './codec.ts';
export { type DeadLetterEnvelope, type DeadLetterStage, dlqTopicOf } from './dead-letter.ts';
export { KGroupedStream, SlidingWindowedStream, TimeWindowedStream } from './grouped-streams.ts';
export { ProcessingGuarantee } from './guarantee.ts';
export { KStream } from './kstream.ts';
export type { TimestampExtractor, Topology } from './node.ts';
export { STREAMS_DIAGNOSTICS_CHANNEL, StreamsRuntime } from './runtime.ts';
export type { RuntimeMetrics, RuntimeState } from './runtime-metrics.ts';
export type { StreamsRuntimeOptions } from './runtime-options.ts';
export { type StoreSpec, Stores } from './stores.ts';
export type { TaskCounters } from './task.ts';
export {
  type TestDriverOptions,
  TestInputTopic,
  TestOutputTopic,
  type TestRecord,
  TopologyTestDriver,
} from './test-driver.ts';
export {
  type AggregateOptions,
  buildTopology,
  type GroupedOptions,
  type ProduceOptions,
  type SourceOptions,
  StreamsBuilder,
} from './topology.ts';
export {
  type Cancellable,
  type EmitStrategy,
  type ErrorPolicies,
  ErrorPolicy,
  type ExternalSink,
  type KeyValueStore,
  LatePolicy,
  type Processor,
  type ProcessorContext,
  type PunctuationType,
  type ReadOnlyWindowStore,
  type SourceRecordMetadata,
  type StreamRecord,
  type Windowed,
} from './types.ts';
export { windowedKeyCodec } from './windowed-key-codec.ts';
export { DEFAULT_GRACE_MS, SlidingWindows, TimeWindows, type Windows } from './windows.ts';

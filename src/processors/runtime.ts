import type { Log } from '../log/index.ts';
import {
  type ProcessingGuarantee,
  type StreamsBuilder,
  StreamsRuntime,
  type StreamsRuntimeOptions,
} from '../streams/index.ts';

/** The runtime settings of an analytics processor (its options extend these). */
export interface ProcessorRuntimeOptions {
  /** Consumer group, transactional id and internal topic prefix. Default: the processor's name. */
  readonly applicationId?: string;
  /** Exactly-once commit interval, ms. Default: the processor's (STREAMS_COMMIT_INTERVAL_MS, 100). */
  readonly commitIntervalMs?: number;
  /** Wall-clock quiet time after which stream time follows the clock, ms; null disables. Default 2 000. */
  readonly idleAdvanceMs?: number | null;
  /** `exactly_once` (default) or `at_least_once` (PROCESSING_GUARANTEE). */
  readonly processingGuarantee?: ProcessingGuarantee;
  /** Further runtime settings (tests, benchmarks): clock, instance id, poll size and wait, repartition purge. */
  readonly runtime?: Pick<
    StreamsRuntimeOptions,
    'clock' | 'instanceId' | 'maxPollRecords' | 'pollTimeoutMs' | 'purgeIntervalMs'
  >;
}

/** One processor as a running application of its own (group, transactional id, internal topics). */
export function processorRuntime(
  log: Log,
  defaults: {
    readonly applicationId: string;
    readonly commitIntervalMs: number;
    /** Output topics committed without waiting out the interval (see StreamsRuntimeOptions). */
    readonly eagerCommitTopics?: readonly string[];
  },
  options: ProcessorRuntimeOptions,
  topology: (builder: StreamsBuilder) => void,
): StreamsRuntime {
  return new StreamsRuntime({
    ...options.runtime,
    log,
    applicationId: options.applicationId ?? defaults.applicationId,
    commitIntervalMs: options.commitIntervalMs ?? defaults.commitIntervalMs,
    ...(defaults.eagerCommitTopics === undefined ? {} : { eagerCommitTopics: defaults.eagerCommitTopics }),
    idleAdvanceMs: options.idleAdvanceMs === undefined ? 2_000 : options.idleAdvanceMs,
    ...(options.processingGuarantee === undefined
      ? {}
      : { processingGuarantee: options.processingGuarantee }),
    topology,
  });
}

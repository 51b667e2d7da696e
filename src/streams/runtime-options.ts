/** The options of `StreamsRuntime`, their units and defaults, resolved and checked once. */
import { type Clock, systemClock } from '../clock/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import type { Log } from '../log/index.ts';
import { ProcessingGuarantee } from './guarantee.ts';
import type { StreamsBuilder } from './topology.ts';
import type { ErrorPolicies } from './types.ts';

export interface StreamsRuntimeOptions {
  readonly log: Log;
  /** Names the consumer group, the transactional id and the internal topics. */
  readonly applicationId: string;
  readonly topology: (builder: StreamsBuilder) => void;
  /** Identifies this instance (transactional id suffix); default a random UUID. */
  readonly instanceId?: string;
  readonly clock?: Clock;
  /** Default 100 ms. */
  readonly commitIntervalMs?: number;
  /** Stream-time idle advance (see task.ts); default 2 000 ms; null disables. */
  readonly idleAdvanceMs?: number | null;
  readonly errorPolicies?: ErrorPolicies;
  /**
   * Records per poll. Default 10 000 (processed in slices, with a commit check between slices).
   */
  readonly maxPollRecords?: number;
  /** Poll wait when there is nothing to read (also the wall-clock tick). Default 50 ms. */
  readonly pollTimeoutMs?: number;
  /** Commit early when this many output records are buffered. Default 20 000. */
  readonly maxBufferedRecords?: number;
  /**
   * Output topics whose records are committed at the next commit check (after the slice that
   * produced them) instead of waiting out the commit interval: for outputs someone waits for
   * (anomaly-detection's alerts). Default none.
   */
  readonly eagerCommitTopics?: readonly string[];
  /** Retries of a sink flush failing with a retriable error (back-off 100 ms doubling to 5 s). Default 5. */
  readonly sinkFlushRetries?: number;
  /**
   * Least time between two purges of the repartition topics (after a commit), ms, on the runtime's
   * clock. Default 30 000 (Kafka Streams' repartition.purge.interval.ms); 0 purges after every commit.
   */
  readonly purgeIntervalMs?: number;
  /** Use the instance id as the consumer's `group.instance.id` (static membership). Default false. */
  readonly staticMembership?: boolean;
  /** The consumer's `max.poll.interval.ms` (see the Log port). Default: the adapter's (300 000). */
  readonly maxPollIntervalMs?: number;
  /** The consumer's `session.timeout.ms` (see the Log port). Default: the adapter's (10 000). */
  readonly sessionTimeoutMs?: number;
  /** How long (ms) polls and restores retry retriable errors before the runtime fails. Default 300 000. */
  readonly faultDeadlineMs?: number;
  /** `exactly_once` (default) or `at_least_once` (no transactions; see ./guarantee.ts). */
  readonly processingGuarantee?: ProcessingGuarantee;
}

/** The options with their defaults applied (`instanceId` is resolved by the runtime). */
export interface ResolvedRuntimeOptions {
  readonly clock: Clock;
  readonly commitIntervalMs: number;
  readonly idleAdvanceMs: number | null;
  readonly errorPolicies: Required<ErrorPolicies>;
  readonly maxPollRecords: number;
  readonly pollTimeoutMs: number;
  readonly maxBufferedRecords: number;
  readonly eagerCommitTopics: ReadonlySet<string>;
  readonly sinkFlushRetries: number;
  readonly purgeIntervalMs: number;
  readonly staticMembership: boolean;
  readonly maxPollIntervalMs: number | undefined;
  readonly sessionTimeoutMs: number | undefined;
  readonly faultDeadlineMs: number;
  readonly processingGuarantee: ProcessingGuarantee;
}

/** Apply the defaults; CONFIG_INVALID names the key of a value out of range. */
export function resolveRuntimeOptions(options: StreamsRuntimeOptions): ResolvedRuntimeOptions {
  const purgeIntervalMs = options.purgeIntervalMs ?? 30_000;
  if (!(Number.isFinite(purgeIntervalMs) && purgeIntervalMs >= 0)) {
    throw new AppError(
      ErrorCode.CONFIG_INVALID,
      `purgeIntervalMs must be a finite number >= 0 (ms), got ${String(options.purgeIntervalMs)}`,
      { context: { key: 'purgeIntervalMs' } },
    );
  }
  return Object.freeze({
    clock: options.clock ?? systemClock,
    commitIntervalMs: options.commitIntervalMs ?? 100,
    idleAdvanceMs: options.idleAdvanceMs === undefined ? 2_000 : options.idleAdvanceMs,
    errorPolicies: {
      deserialization: options.errorPolicies?.deserialization ?? 'dead-letter',
      processing: options.errorPolicies?.processing ?? 'dead-letter',
      late: options.errorPolicies?.late ?? 'drop',
    },
    maxPollRecords: options.maxPollRecords ?? 10_000,
    pollTimeoutMs: options.pollTimeoutMs ?? 50,
    maxBufferedRecords: options.maxBufferedRecords ?? 20_000,
    eagerCommitTopics: new Set(options.eagerCommitTopics ?? []),
    sinkFlushRetries: options.sinkFlushRetries ?? 5,
    purgeIntervalMs,
    staticMembership: options.staticMembership ?? false,
    maxPollIntervalMs: options.maxPollIntervalMs,
    sessionTimeoutMs: options.sessionTimeoutMs,
    faultDeadlineMs: options.faultDeadlineMs ?? 300_000,
    processingGuarantee: options.processingGuarantee ?? ProcessingGuarantee.EXACTLY_ONCE,
  });
}

import { AlertKind, AnomalyAlertSchema, Topics } from '../../events/index.ts';
import type { Log } from '../../log/index.ts';
import {
  Codecs,
  DEFAULT_GRACE_MS,
  Stores,
  type StreamsBuilder,
  type StreamsRuntime,
} from '../../streams/index.ts';
import { chatMessageCodec, messageTime } from '../codecs.ts';
import { type ProcessorRuntimeOptions, processorRuntime } from '../runtime.ts';
import type { Occurrence } from './first-seen.ts';
import { AnomalyProcessor, keyStateCodec, type MessageBucket, type SenderMessage } from './processor.ts';

export const ANOMALY_DETECTION_APPLICATION_ID = 'anomaly-detection';

/** Every window and threshold (config: ANOMALY_*, STREAMS_*); defaults as in the config schema. */
export interface AnomalyDetectionOptions extends ProcessorRuntimeOptions {
  /** Messages within `rateWindowMs` that make a rate burst. Default 8. */
  readonly rateThreshold?: number;
  /** Sliding window of the rate rule, ms. Default 60 000. */
  readonly rateWindowMs?: number;
  /** Identical (normalised) messages within `duplicateWindowMs` that make a duplicate burst. Default 5. */
  readonly duplicateThreshold?: number;
  /** Sliding window of the duplicate-content rule, ms. Default 600 000. */
  readonly duplicateWindowMs?: number;
  /** How far behind stream time a message may be and still count, ms. Default 5 000. */
  readonly graceMs?: number;
  /** Stream-time interval of the pass that closes final bursts and purges idle senders, ms. Default 1 000. */
  readonly punctuateMs?: number;
}

const RATE_STORES = { keys: 'rate-bursts', messages: 'rate-messages' } as const;
const DUPLICATE_STORES = {
  keys: 'duplicate-bursts',
  messages: 'duplicate-messages',
  firstSeen: 'duplicate-first-seen',
} as const;
const STORES = [
  RATE_STORES.keys,
  RATE_STORES.messages,
  DUPLICATE_STORES.keys,
  DUPLICATE_STORES.messages,
  DUPLICATE_STORES.firstSeen,
];

/**
 * anomaly-detection: `chat.messages` → re-key by sender (`<app>-by-sender-repartition`) → the rate
 * and duplicate-content rules → `anomaly-alerts` (key user_id). See README.md for the semantics.
 */
export function anomalyDetectionTopology(options: AnomalyDetectionOptions = {}) {
  const rules = {
    rate: {
      kind: AlertKind.RATE,
      threshold: options.rateThreshold ?? 8,
      windowMs: options.rateWindowMs ?? 60_000,
    },
    duplicate: {
      kind: AlertKind.DUPLICATE_CONTENT,
      threshold: options.duplicateThreshold ?? 5,
      windowMs: options.duplicateWindowMs ?? 600_000,
    },
    graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
    punctuateMs: options.punctuateMs ?? 1_000,
    rateStores: RATE_STORES,
    duplicateStores: DUPLICATE_STORES,
  };
  return (b: StreamsBuilder): void => {
    for (const { keys, messages } of [RATE_STORES, DUPLICATE_STORES]) {
      b.addStateStore(Stores.keyValue(keys, { key: Codecs.string, value: keyStateCodec }));
      b.addStateStore(Stores.keyValue(messages, { key: Codecs.string, value: Codecs.json<MessageBucket>() }));
    }
    b.addStateStore(
      Stores.keyValue(DUPLICATE_STORES.firstSeen, { key: Codecs.string, value: Codecs.json<Occurrence[]>() }),
    );
    b.stream(Topics.chatMessages.name, {
      key: Codecs.nullable(Codecs.string),
      value: chatMessageCodec,
      timestamp: messageTime,
    })
      .map((_k, m): [string, SenderMessage] => [m.sender_id, { id: m.message_id, content: m.content }])
      .repartition({ name: 'by-sender', key: Codecs.string, value: Codecs.json<SenderMessage>() })
      .process(() => new AnomalyProcessor(rules), {
        name: 'anomaly-rules',
        stores: STORES,
      })
      .to(Topics.anomalyAlerts.name, { key: Codecs.string, value: Codecs.schema(AnomalyAlertSchema) });
  };
}

export interface AnomalyDetectionDeps {
  readonly log: Log;
}

/** anomaly-detection's commit interval when the caller gives none (ANOMALY_COMMIT_INTERVAL_MS). */
export const ANOMALY_DEFAULT_COMMIT_INTERVAL_MS = 25;

/**
 * anomaly-detection as a running application (its own group, transactional id and internal topics).
 * Default commit interval ANOMALY_DEFAULT_COMMIT_INTERVAL_MS. An alert becomes visible after two commits: the repartition write
 * (within one commit interval), then the alert, committed right after the slice that produced it
 * (`eagerCommitTopics`) instead of up to another interval later.
 */
export function createAnomalyDetection(
  deps: AnomalyDetectionDeps,
  options: AnomalyDetectionOptions = {},
): StreamsRuntime {
  return processorRuntime(
    deps.log,
    {
      applicationId: ANOMALY_DETECTION_APPLICATION_ID,
      commitIntervalMs: ANOMALY_DEFAULT_COMMIT_INTERVAL_MS,
      eagerCommitTopics: [Topics.anomalyAlerts.name],
    },
    options,
    anomalyDetectionTopology(options),
  );
}

import { AppError, ErrorCode } from '../../errors/index.ts';
import { ConversationMetricSchema, Topics } from '../../events/index.ts';
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
import { type ConversationEntry, ConversationProcessor, type MessageParties } from './processor.ts';
import type { ConversationRules } from './windows.ts';

export const CONVERSATION_ANALYTICS_APPLICATION_ID = 'conversation-analytics';
/** A bucket per entry (processor.ts); named apart from the earlier one-entry-per-conversation store. */
const STORE = 'conversation-bucket-entries';

/** Every window and threshold (config: CONVERSATION_*, STREAMS_*); defaults as in the config schema. */
export interface ConversationAnalyticsOptions extends ProcessorRuntimeOptions {
  /** Window length, ms; a multiple of hopMs. Default 30 000. */
  readonly windowMs?: number;
  /** Window advance, ms. Default 5 000. */
  readonly hopMs?: number;
  /** Span before a window whose rate is its baseline, ms; a multiple of hopMs. Default 600 000. */
  readonly baselineMs?: number;
  /** A peak has message_count ≥ peakFactor × baseline. Default 2. */
  readonly peakFactor?: number;
  /** … and message_count ≥ peakMinCount. Default 5. */
  readonly peakMinCount?: number;
  /** … and P(count this high | Poisson at the baseline) ≤ peakSignificance. Default 1e-5. */
  readonly peakSignificance?: number;
  /** The least baseline (messages per window) that test assumes. Default 0.5. */
  readonly baselineFloor?: number;
  /** How long after its end a window still accepts messages, ms. Default 5 000. */
  readonly graceMs?: number;
}

export function conversationRules(options: ConversationAnalyticsOptions = {}): ConversationRules {
  const rules = {
    windowMs: options.windowMs ?? 30_000,
    hopMs: options.hopMs ?? 5_000,
    baselineMs: options.baselineMs ?? 600_000,
    peakFactor: options.peakFactor ?? 2,
    peakMinCount: options.peakMinCount ?? 5,
    peakSignificance: options.peakSignificance ?? 1e-5,
    baselineFloor: options.baselineFloor ?? 0.5,
    graceMs: options.graceMs ?? DEFAULT_GRACE_MS,
  };
  for (const [name, value] of [
    ['windowMs', rules.windowMs],
    ['baselineMs', rules.baselineMs],
  ] as const) {
    if (!(Number.isSafeInteger(rules.hopMs) && rules.hopMs > 0 && value > 0 && value % rules.hopMs === 0)) {
      throw new AppError(
        ErrorCode.CONFIG_INVALID,
        `conversation-analytics: ${name} (${value}) must be a positive multiple of hopMs (${rules.hopMs})`,
        { context: { [name]: value, hopMs: rules.hopMs } },
      );
    }
  }
  return rules;
}

/**
 * conversation-analytics: `chat.messages` → re-key by conversation_id
 * (`<app>-by-conversation-repartition`, so any producer's keys work) → hopping windows with
 * participants and peaks → `conversation-metrics` (key conversation_id). See README.md.
 */
export function conversationAnalyticsTopology(options: ConversationAnalyticsOptions = {}) {
  const rules = conversationRules(options);
  return (b: StreamsBuilder): void => {
    b.addStateStore(Stores.keyValue(STORE, { key: Codecs.string, value: Codecs.json<ConversationEntry>() }));
    b.stream(Topics.chatMessages.name, {
      key: Codecs.nullable(Codecs.string),
      value: chatMessageCodec,
      timestamp: messageTime,
    })
      .map((_k, m): [string, MessageParties] => [m.conversation_id, { s: m.sender_id, r: m.receiver_id }])
      .repartition({ name: 'by-conversation', key: Codecs.string, value: Codecs.json<MessageParties>() })
      .process(() => new ConversationProcessor(rules, STORE), {
        name: 'conversation-windows',
        stores: [STORE],
      })
      .to(Topics.conversationMetrics.name, {
        key: Codecs.string,
        value: Codecs.schema(ConversationMetricSchema),
      });
  };
}

export interface ConversationAnalyticsDeps {
  readonly log: Log;
}

/** conversation-analytics as a running application (its own group, transactional id, internal topics). */
export function createConversationAnalytics(
  deps: ConversationAnalyticsDeps,
  options: ConversationAnalyticsOptions = {},
): StreamsRuntime {
  return processorRuntime(
    deps.log,
    { applicationId: CONVERSATION_ANALYTICS_APPLICATION_ID, commitIntervalMs: 100 },
    options,
    conversationAnalyticsTopology(options),
  );
}

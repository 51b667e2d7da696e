/**
 * What a generated run injected on purpose, written by `msgtrack generate --truth FILE` as JSON, so
 * that the processors' quality tests can score their outputs against it. Times are event-time epoch
 * milliseconds. It lists only what was really emitted: a run cut short lists a burst only once it met
 * the rate rule (or, in `duplicateOnlyBursts`, the duplicate rule alone), and a trend or peak up to its
 * last emitted message.
 *
 * By construction (see traffic.ts): no user other than a listed spammer ever has `rateRule.threshold`
 * messages within `rateRule.windowMs`, and a spammer has them only during a listed burst, whose
 * messages are exactly `messageIds` (no other message of that user lies within a window of them); no
 * user repeats a normalised content within `duplicateRule.windowMs` except in a burst with
 * `duplicateContent`; trend words occur only during their trend.
 */
export interface TrafficTruth {
  readonly profile: 'default' | 'seed';
  readonly seed: number;
  /** Event time of the first and of the last emitted event. */
  readonly startMs: number;
  readonly endMs: number;
  readonly messages: number;
  readonly views: number;
  readonly users: number;
  readonly conversations: number;
  /** The rules the traffic was built around (the anomaly processor's defaults). */
  readonly rateRule: { readonly threshold: number; readonly windowMs: number };
  readonly duplicateRule: { readonly threshold: number; readonly windowMs: number };
  /** The most frequent word of ordinary traffic (never a trend); null for `--profile seed`. */
  readonly mostFrequentWord: string | null;
  /** The stop words mixed into messages (longer than 3 characters): a stop-word list must hold them. */
  readonly stopWords: readonly string[];
  readonly spammers: readonly TruthSpammer[];
  /**
   * Duplicate-content bursts cut short by the end of the run after meeting the duplicate rule but
   * before meeting the rate rule (at most one per spammer, only at the very end; usually empty).
   */
  readonly duplicateOnlyBursts: readonly {
    readonly userId: string;
    readonly content: string;
    readonly messageIds: readonly string[];
  }[];
  readonly trends: readonly TruthTrend[];
  readonly peaks: readonly TruthPeak[];
}

export interface TruthSpammer {
  readonly userId: string;
  readonly bursts: readonly TruthBurst[];
}

export interface TruthBurst {
  /** Event times of the burst's first and last message. */
  readonly startMs: number;
  readonly endMs: number;
  /** The message that meets the rate rule (the `threshold`-th of the burst): the alert is due here. */
  readonly thresholdMessageId: string;
  readonly thresholdMs: number;
  /** Every message of the burst, in order. */
  readonly messageIds: readonly string[];
  /** The content every message of the burst repeats, or null when each message differs. */
  readonly duplicateContent: string | null;
}

export interface TruthTrend {
  readonly word: string;
  /** The trend period [startMs, endMs): the word occurs in no message outside it. */
  readonly startMs: number;
  readonly endMs: number;
  /** Messages that carried the word. */
  readonly messages: number;
}

export interface TruthPeak {
  readonly conversationId: string;
  /** Event times of the peak's first and last injected message. */
  readonly startMs: number;
  readonly endMs: number;
  /** The injected messages (ordinary traffic of the conversation continues beside them). */
  readonly messageIds: readonly string[];
}

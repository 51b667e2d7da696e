/** The injected episodes of a simulation (spam bursts, peaks, trends), as planned and as emitted so far,
 * and the truth about them. */
import type { Text } from './content.ts';
import type { TrafficTruth, TruthPeak, TruthSpammer, TruthTrend } from './truth.ts';
import { TREND_WORDS } from './vocabulary.ts';

export interface Burst {
  readonly user: number;
  readonly times: readonly number[];
  readonly duplicate: Text | undefined;
  readonly ids: string[];
  readonly emittedMs: number[];
}
export interface Peak {
  readonly conversation: number;
  readonly ids: string[];
  readonly emittedMs: number[];
}
export interface Trend {
  readonly word: number;
  readonly startMs: number;
  readonly endMs: number;
  /** Event times of the messages that carried the word. */
  readonly emittedMs: number[];
}

/**
 * The truth about the episodes, counting only messages with event time before `beforeMs`: bursts
 * that met the rate rule (or, cut short, the duplicate rule alone), trends with at least one
 * message, and peaks with at least PEAK_MIN_MESSAGES: a planned peak whose members' rate limits
 * thinned it (or that `beforeMs` cut short) to fewer is not a peak of its conversation.
 */
/** The fewest messages an injected peak has (its planned 15–30, thinned by the members' rate limits). */
export const PEAK_MIN_MESSAGES = 10;

export function injectedTruth(
  episodes: {
    readonly bursts: readonly Burst[];
    readonly peaks: readonly Peak[];
    readonly trends: readonly Trend[];
  },
  ctx: {
    readonly userIds: readonly string[];
    readonly conversationIds: readonly string[];
    readonly rateThreshold: number;
    readonly duplicateThreshold: number;
    readonly beforeMs: number;
    /** Event time of the last message counted. */
    readonly lastMs: number;
  },
): Pick<TrafficTruth, 'spammers' | 'duplicateOnlyBursts' | 'trends' | 'peaks'> {
  const threshold = ctx.rateThreshold;
  const bySpammer = new Map<string, TruthSpammer['bursts'][number][]>();
  const duplicateOnlyBursts: TrafficTruth['duplicateOnlyBursts'][number][] = [];
  for (const all of episodes.bursts) {
    const b = emittedBefore(all, ctx.beforeMs);
    const userId = ctx.userIds[b.user]!;
    if (b.ids.length < threshold) {
      if (b.duplicate !== undefined && b.ids.length >= ctx.duplicateThreshold)
        duplicateOnlyBursts.push({ userId, content: b.duplicate.text, messageIds: [...b.ids] });
      continue;
    }
    const list = bySpammer.get(userId) ?? [];
    list.push({
      startMs: b.emittedMs[0]!,
      endMs: b.emittedMs[b.emittedMs.length - 1]!,
      thresholdMessageId: b.ids[threshold - 1]!,
      thresholdMs: b.emittedMs[threshold - 1]!,
      messageIds: [...b.ids],
      duplicateContent: b.duplicate?.text ?? null,
    });
    bySpammer.set(userId, list);
  }
  const spammers: TruthSpammer[] = [...bySpammer]
    .map(([userId, bursts]) => ({ userId, bursts }))
    .sort((a, b) => (a.userId < b.userId ? -1 : 1));
  const trends: TruthTrend[] = episodes.trends
    .map((t) => ({ t, messages: t.emittedMs.filter((ms) => ms < ctx.beforeMs).length }))
    .filter(({ messages }) => messages > 0)
    .map(({ t, messages }) => ({
      word: TREND_WORDS[t.word]!,
      startMs: t.startMs,
      endMs: Math.min(t.endMs, ctx.lastMs + 1),
      messages,
    }));
  const peaks: TruthPeak[] = episodes.peaks
    .map((p) => emittedBefore(p, ctx.beforeMs))
    .filter((p) => p.ids.length >= PEAK_MIN_MESSAGES)
    .map((p) => ({
      conversationId: ctx.conversationIds[p.conversation]!,
      startMs: p.emittedMs[0]!,
      endMs: p.emittedMs[p.emittedMs.length - 1]!,
      messageIds: [...p.ids],
    }));
  return { spammers, duplicateOnlyBursts, trends, peaks };
}

/** An episode's messages with event time before `beforeMs`. */
function emittedBefore<T extends { ids: string[]; emittedMs: number[] }>(episode: T, beforeMs: number): T {
  const n = episode.emittedMs.findIndex((ms) => ms >= beforeMs);
  if (n < 0) return episode;
  return { ...episode, ids: episode.ids.slice(0, n), emittedMs: episode.emittedMs.slice(0, n) };
}

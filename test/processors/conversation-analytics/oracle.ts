/**
 * conversation-analytics recomputed by brute force from accepted messages, straight from the
 * definitions in src/processors/conversation-analytics/README.md: every hopping window holding a
 * message, its count and distinct people, its baseline (messages in [start − baselineMs, start) per
 * window length) and peak flag (count ≥ the minimum, the factor × baseline and the Poisson quantile). Sorted as the processor emits: by window end, then conversation.
 */
import { type ConversationMetric, formatRfc3339 } from '../../../src/events/index.ts';
import type { ConversationRules } from '../../../src/processors/conversation-analytics/index.ts';
import type { Msg } from '../delivery.ts';

/** log(n!) for n < 2000. */
const LOG_FACTORIAL = [0];
for (let n = 1; n < 2000; n++) LOG_FACTORIAL.push((LOG_FACTORIAL[n - 1] as number) + Math.log(n));
const quantiles = new Map<string, number>();

/**
 * The least k with P(X ≥ k) ≤ alpha, X ~ Poisson(lambda), by summing the upper tail directly (the
 * processor accumulates the lower tail): the terms from k to k + 500.
 */
function poissonQuantile(lambda: number, alpha: number): number {
  const key = `${lambda}/${alpha}`;
  const known = quantiles.get(key);
  if (known !== undefined) return known;
  const pmf = (i: number) => Math.exp(-lambda + i * Math.log(lambda) - (LOG_FACTORIAL[i] as number));
  let k = 0;
  for (;;) {
    let tail = 0;
    for (let i = k; i < k + 500; i++) tail += pmf(i);
    if (tail <= alpha) break;
    k++;
  }
  quantiles.set(key, k);
  return k;
}

export function expectedMetrics(rules: ConversationRules, accepted: readonly Msg[]): ConversationMetric[] {
  const { windowMs, hopMs, baselineMs } = rules;
  const byConversation = new Map<string, Msg[]>();
  for (const m of accepted)
    byConversation.set(m.conversation, [...(byConversation.get(m.conversation) ?? []), m]);
  const out: Array<{ end: number; metric: ConversationMetric }> = [];
  for (const [conversation, msgs] of byConversation) {
    const starts = new Set<number>();
    for (const m of msgs) {
      for (let s = m.ts - (m.ts % hopMs); s > m.ts - windowMs; s -= hopMs) starts.add(s);
    }
    for (const s of starts) {
      const inside = msgs.filter((m) => m.ts >= s && m.ts < s + windowMs);
      const people = new Set(inside.flatMap((m) => [m.sender, m.receiver]));
      const before = msgs.filter((m) => m.ts >= s - baselineMs && m.ts < s).length;
      const baseline = (before * windowMs) / baselineMs;
      const threshold = Math.max(
        rules.peakMinCount,
        rules.peakFactor * baseline,
        poissonQuantile(Math.max(baseline, rules.baselineFloor), rules.peakSignificance),
      );
      out.push({
        end: s + windowMs,
        metric: {
          conversation_id: conversation,
          window_start: formatRfc3339(s),
          window_end: formatRfc3339(s + windowMs),
          window_kind: 'hopping',
          message_count: inside.length,
          participant_count: people.size,
          is_peak: inside.length >= threshold,
          baseline_count: baseline,
          peak_threshold: threshold,
        },
      });
    }
  }
  out.sort(
    (a, b) =>
      a.end - b.end ||
      (a.metric.conversation_id < b.metric.conversation_id
        ? -1
        : a.metric.conversation_id > b.metric.conversation_id
          ? 1
          : 0),
  );
  return out.map((o) => o.metric);
}

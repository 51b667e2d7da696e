/**
 * The seed's own workload through our processors (a script, not a test): `--minutes` (default 30) of
 * `--profile seed` traffic (8 users, 5 conversations, 15 sentences, one message every 2 s) through
 * the analytics processors at their defaults, delivered as live traffic; prints what they yield next
 * to what the seed's processors (the rules below) would have printed for the same
 * events:
 *   - anomaly: the seed counts messages per user per calendar minute and alerts at ≥ 8; ours alerts
 *     once per sliding burst (≥ 8 within any 60 s), and on ≥ 5 identical texts within 10 minutes;
 *   - trends: the seed counts every word of more than 3 characters per 2-minute window; ours drops
 *     stop words and ranks by a score against the word's baseline;
 *   - conversations: the seed counts messages per conversation in 30 s windows; ours flags peaks.
 * Ends with one JSON line (also bench/results/quality-seed.json).
 *
 *   node bench/quality-seed.ts [--minutes 30] [--seed 1]
 */
import { createTraffic } from '../src/generator/index.ts';
import { benchArgs } from './args.ts';
import {
  firstMinutes,
  runProcessors,
  windowClosingTail,
  withScratchChdb,
  writeResult,
} from './quality-run.ts';

const { values: args } = benchArgs({
  command: 'node bench/quality-seed.ts',
  about:
    "The seed's own workload (`--profile seed`) through our processors, next to what the seed's processors would have printed.",
  flags: {
    minutes: { type: 'string', default: '30', help: 'simulated minutes of traffic' },
    seed: { type: 'string', default: '1', help: 'generator seed' },
  },
});
const minutes = Number(args.minutes);
const RATE = { threshold: 8, windowMs: 60_000 };

const { events } = firstMinutes(createTraffic({ profile: 'seed', seed: Number(args.seed) }), minutes);
const messages = events.flatMap((e) => (e.kind === 'message' ? [e] : []));
const views = events.length - messages.length;

// ---- what the seed's processors would have printed (brute force on the same events)
const perMinute = new Map<string, number>();
for (const m of messages) {
  const k = `${m.value.sender_id}/${Math.floor(m.timeMs / 60_000)}`;
  perMinute.set(k, (perMinute.get(k) ?? 0) + 1);
}
const seedAlerts = [...perMinute].filter(([, n]) => n >= RATE.threshold).map(([k]) => k);
const seedWindows = new Map<number, Map<string, number>>();
for (const m of messages) {
  const w = Math.floor(m.timeMs / 120_000);
  const counts = seedWindows.get(w) ?? new Map<string, number>();
  for (const word of m.value.content.split(/\s+/)) {
    if (word.length > 3) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  seedWindows.set(w, counts);
}
const seedTop = tally(
  [...seedWindows.values()].flatMap((counts) =>
    [...counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 3)
      .map(([w]) => w),
  ),
);
const per30s = new Map<string, number>();
for (const m of messages) {
  const k = `${m.value.conversation_id}/${Math.floor(m.timeMs / 30_000)}`;
  per30s.set(k, (per30s.get(k) ?? 0) + 1);
}

// Sliding bursts by brute force: maximal runs of a sender's messages in which every message closes
// a window of ≥ threshold within windowMs (the definition in anomaly-detection's README).
function slidingBursts(): number {
  const bySender = new Map<string, number[]>();
  for (const m of messages)
    bySender.set(m.value.sender_id, [...(bySender.get(m.value.sender_id) ?? []), m.timeMs]);
  let bursts = 0;
  for (const ts of bySender.values()) {
    ts.sort((a, b) => a - b);
    let burstEnd = Number.NEGATIVE_INFINITY;
    for (let i = RATE.threshold - 1; i < ts.length; i++) {
      const t = ts[i] as number;
      if (t - (ts[i - RATE.threshold + 1] as number) > RATE.windowMs) continue;
      if (t > burstEnd) bursts++;
      // c(t) ≥ threshold until the oldest of these threshold messages leaves the window.
      burstEnd = Math.max(burstEnd, (ts[i - RATE.threshold + 1] as number) + RATE.windowMs + 1);
    }
  }
  return bursts;
}

function tally(items: readonly string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const i of items) counts.set(i, (counts.get(i) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

// ---- ours
const out = await withScratchChdb((ch) =>
  runProcessors([...events, ...windowClosingTail(events.at(-1)!.timeMs)], ch, {
    env: { STREAMS_COMMIT_INTERVAL_MS: '20' },
  }),
);
const isTail = (user: string) => user.startsWith('tail-');
const latest = new Map<string, (typeof out.alerts)[number]['value']>();
for (const { value } of out.alerts) if (!isTail(value.user_id)) latest.set(value.alert_id, value);
const current = [...latest.values()].filter((a) => a.status !== 'retracted');
const rate = current.filter((a) => a.kind === 'rate');
const duplicate = current.filter((a) => a.kind === 'duplicate_content');
const ourTop = tally(
  out.trends.filter((t) => t.value.rank <= 3 && !t.value.word.startsWith('tail')).map((t) => t.value.word),
);
const metrics = out.metrics.filter((m) => !m.value.conversation_id.startsWith('tail-'));

const result = {
  profile: 'seed',
  minutes,
  messages: messages.length,
  views,
  seed_rate_alerts_user_minutes: seedAlerts.length,
  seed_rate_alert_users: new Set(seedAlerts.map((k) => k.split('/')[0])).size,
  sliding_bursts_brute_force: slidingBursts(),
  our_rate_alerts: rate.length,
  our_rate_alert_users: new Set(rate.map((a) => a.user_id)).size,
  our_rate_severity: Object.fromEntries(tally(rate.map((a) => a.severity))),
  our_duplicate_alerts: duplicate.length,
  seed_top3_words: seedTop.slice(0, 8),
  our_top3_words: ourTop.slice(0, 8),
  trend_windows: new Set(out.trends.map((t) => t.value.window_start)).size,
  seed_30s_windows: per30s.size,
  seed_30s_max_count: Math.max(...per30s.values()),
  our_conversation_windows: metrics.length,
  our_peak_windows: metrics.filter((m) => m.value.is_peak).length,
};
for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(32)} ${JSON.stringify(v)}`);
await writeResult('quality-seed', result);
console.log(JSON.stringify(result));

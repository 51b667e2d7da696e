import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { decodeChatMessage, decodeMessageView } from '../../src/events/index.ts';
import {
  FILLER_WORDS,
  FRAMES,
  type GeneratedEvent,
  ORDINARY_WORDS,
  SPAM_PARTS,
  TREND_WORDS,
  takeTraffic,
  takeTrafficWithTruth,
} from '../../src/generator/index.ts';

const MINUTE = 60_000;

/** 40 simulated minutes at the defaults (20 msg/s): ~48k messages and their receipts. */
const { events, truth } = takeTrafficWithTruth(100_000, { seed: 3 });
const messages = events
  .filter((e) => e.kind === 'message')
  .map((e) => decodeChatMessage(JSON.stringify(e.value)));

const sha = (es: readonly GeneratedEvent[]) =>
  createHash('sha256')
    .update(es.map((e) => `${e.topic}\u0000${e.key}\u0000${JSON.stringify(e.value)}\n`).join(''))
    .digest('hex');

test('the same seed gives the same events byte for byte, and the same truth; another seed others', () => {
  const a = takeTrafficWithTruth(30_000, { seed: 7 });
  const b = takeTrafficWithTruth(30_000, { seed: 7 });
  const seed = takeTrafficWithTruth(3_000, { seed: 7, profile: 'seed' });
  assert.deepStrictEqual(
    {
      same: sha(a.events) === sha(b.events),
      truth: a.truth,
      seedProfile: sha(seed.events) === sha(takeTraffic(3_000, { seed: 7, profile: 'seed' })),
      otherSeed: sha(takeTraffic(30_000, { seed: 8 })) === sha(a.events),
    },
    { same: true, truth: b.truth, seedProfile: true, otherSeed: false },
  );
});

test('events are valid seed wire format, in event-time order, keyed as the seed keys them', () => {
  const ids = new Map<string, number>();
  let last = Number.NEGATIVE_INFINITY;
  let problems = 0;
  for (const e of events) {
    if (e.timeMs < last) problems++;
    last = e.timeMs;
    if (e.kind === 'message') {
      const m = decodeChatMessage(JSON.stringify(e.value));
      if (e.key !== m.conversation_id || m.timestamp !== e.timeMs || ids.has(m.message_id)) problems++;
      ids.set(m.message_id, m.timestamp);
    } else {
      const v = decodeMessageView(JSON.stringify(e.value));
      const sentAt = ids.get(v.message_id);
      if (e.key !== v.user_id || sentAt === undefined || v.viewed_at <= sentAt || v.viewed_at !== e.timeMs)
        problems++;
    }
  }
  assert.equal(problems, 0);
});

test('1:1 and group conversations (3–8 members) with stable participants; heavy-tailed senders', () => {
  const participants = new Map<string, Set<string>>();
  for (const m of messages) {
    const p = participants.get(m.conversation_id) ?? new Set<string>();
    p.add(m.sender_id).add(m.receiver_id);
    participants.set(m.conversation_id, p);
  }
  const sizes = [...participants.values()].map((p) => p.size);
  const sent = new Map<string, number>();
  for (const m of messages) sent.set(m.sender_id, (sent.get(m.sender_id) ?? 0) + 1);
  const counts = [...sent.values()].sort((a, b) => b - a);
  const top1pc = counts.slice(0, 10).reduce((a, b) => a + b, 0);
  assert.deepStrictEqual(
    {
      conversations: participants.size,
      sizesWithin2to8: sizes.every((s) => s >= 2 && s <= 8),
      oneToOne: sizes.filter((s) => s === 2).length > 150,
      groups: sizes.filter((s) => s > 2).length > 80,
      users: truth.users,
      mostUsersSend: sent.size > 900,
      // The busiest 1 % of users send far more than their share (heavy tail).
      top1pcShare: top1pc / messages.length > 0.05,
    },
    {
      conversations: 400,
      sizesWithin2to8: true,
      oneToOne: true,
      groups: true,
      users: 1000,
      mostUsersSend: true,
      top1pcShare: true,
    },
  );
});

/**
 * Brute force over every sender: message i is "hot" when [t_i − 60 s, t_i] holds ≥ 8 of the sender's
 * messages; a run is a maximal sequence of consecutive hot messages plus the 7 before its first.
 * Only spammers have runs, and their runs are exactly the truth's bursts.
 */
test('rate rule: no ordinary user ever has 8 messages within 60 s; the runs are exactly the injected bursts', () => {
  const { threshold, windowMs } = truth.rateRule;
  const bySender = new Map<string, { id: string; t: number }[]>();
  for (const m of messages) {
    const list = bySender.get(m.sender_id) ?? [];
    list.push({ id: m.message_id, t: m.timestamp });
    bySender.set(m.sender_id, list);
  }
  const runs = new Map<string, { thresholdMessageId: string; messageIds: string[] }[]>();
  for (const [user, list] of bySender) {
    let run: { first: number; last: number } | undefined;
    const close = () => {
      if (run === undefined) return;
      const r = runs.get(user) ?? [];
      r.push({
        thresholdMessageId: list[run.first]!.id,
        messageIds: list.slice(run.first - threshold + 1, run.last + 1).map((m) => m.id),
      });
      runs.set(user, r);
      run = undefined;
    };
    for (let i = threshold - 1; i < list.length; i++) {
      const hot = list[i]!.t - list[i - threshold + 1]!.t <= windowMs;
      if (hot) run = run === undefined ? { first: i, last: i } : { first: run.first, last: i };
      else close();
    }
    close();
  }
  const expected = new Map(
    truth.spammers.map((s) => [
      s.userId,
      s.bursts.map((b) => ({ thresholdMessageId: b.thresholdMessageId, messageIds: b.messageIds })),
    ]),
  );
  assert.ok(truth.spammers.reduce((n, s) => n + s.bursts.length, 0) >= 15, 'a burst every ~2 minutes');
  assert.deepStrictEqual(runs, expected);
});

test('duplicate rule: ordinary users never repeat a normalised content within 10 minutes; duplicate bursts do', () => {
  const normalise = (s: string) => (s.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []).join(' ');
  const spammers = new Set(truth.spammers.map((s) => s.userId));
  const seen = new Map<string, number[]>();
  const repeatedByOrdinary: string[] = [];
  const metRule = new Set<string>();
  for (const m of messages) {
    const key = `${m.sender_id}\u0000${normalise(m.content)}`;
    const times = (seen.get(key) ?? []).filter((t) => m.timestamp - t <= truth.duplicateRule.windowMs);
    if (times.length > 0 && !spammers.has(m.sender_id)) repeatedByOrdinary.push(key);
    times.push(m.timestamp);
    if (times.length >= truth.duplicateRule.threshold) metRule.add(key);
    seen.set(key, times);
  }
  const injected = new Set([
    ...truth.spammers.flatMap((s) =>
      s.bursts
        .filter((b) => b.duplicateContent !== null)
        .map((b) => `${s.userId}\u0000${normalise(b.duplicateContent!)}`),
    ),
    ...truth.duplicateOnlyBursts.map((b) => `${b.userId}\u0000${normalise(b.content)}`),
  ]);
  assert.ok(injected.size >= 3);
  assert.deepStrictEqual({ repeatedByOrdinary, metRule }, { repeatedByOrdinary: [], metRule: injected });
});

test('trends: each trend word only within its period, frequent there; the top ordinary word is stable', () => {
  const windowMs = 2 * MINUTE;
  const stop = new Set(truth.stopWords);
  const perWindow = new Map<number, Map<string, number>>();
  const outside: string[] = [];
  for (const m of messages) {
    const words = new Set(
      (m.content.toLowerCase().match(/[\p{L}']+/gu) ?? []).filter((w) => [...w].length > 3),
    );
    const w = Math.floor(m.timestamp / windowMs);
    const counts = perWindow.get(w) ?? new Map<string, number>();
    perWindow.set(w, counts);
    for (const word of words) {
      if (stop.has(word)) continue;
      counts.set(word, (counts.get(word) ?? 0) + 1);
      const trend = truth.trends.find((t) => t.word === word);
      if (
        TREND_WORDS.includes(word) &&
        (trend === undefined || m.timestamp < trend.startMs || m.timestamp >= trend.endMs)
      )
        outside.push(word);
    }
  }
  // Every full window inside a trend: the trend word in ≥ 5 % of its messages.
  const weak: string[] = [];
  for (const t of truth.trends) {
    for (let w = Math.ceil(t.startMs / windowMs); (w + 1) * windowMs <= t.endMs; w++) {
      const counts = perWindow.get(w)!;
      const total = messages.filter((m) => Math.floor(m.timestamp / windowMs) === w).length;
      if ((counts.get(t.word) ?? 0) < 0.05 * total) weak.push(`${t.word}@${w}`);
    }
  }
  const topOrdinary = new Set(
    [...perWindow.values()].map(
      (c) => [...c].filter(([w]) => !TREND_WORDS.includes(w)).sort((a, b) => b[1] - a[1])[0]![0],
    ),
  );
  assert.deepStrictEqual(
    { trends: truth.trends.length >= 3, outside, weak, topOrdinary, mostFrequent: truth.mostFrequentWord },
    {
      trends: true,
      outside: [],
      weak: [],
      topOrdinary: new Set([truth.mostFrequentWord]),
      mostFrequent: 'today',
    },
  );
});

test('peaks: each injected peak is well above its conversation’s usual volume', () => {
  const weak: string[] = [];
  for (const p of truth.peaks) {
    const conv = messages.filter((m) => m.conversation_id === p.conversationId);
    const inPeak = conv.filter((m) => m.timestamp >= p.startMs && m.timestamp <= p.endMs).length;
    const spanMs = Math.max(1, p.endMs - p.startMs);
    const usual = ((conv.length - inPeak) * spanMs) / (truth.endMs - truth.startMs - spanMs);
    if (p.messageIds.length < 10 || inPeak < 3 * usual + 5)
      weak.push(`${p.conversationId}: ${inPeak} vs ${usual}`);
  }
  assert.ok(truth.peaks.length >= 20, `${truth.peaks.length} peaks`);
  assert.deepStrictEqual(weak, []);
});

test('receipts: most messages read by their receiver after a delay, some never, some twice; others view too', () => {
  const byId = new Map(messages.map((m) => [m.message_id, m]));
  const reads = new Map<string, number>();
  const delays: number[] = [];
  let byOthers = 0;
  let secondDevice = 0;
  for (const e of events) {
    if (e.kind !== 'view') continue;
    const v = decodeMessageView(JSON.stringify(e.value));
    const m = byId.get(v.message_id)!;
    if (v.user_id !== m.receiver_id) byOthers++;
    else {
      const n = (reads.get(m.message_id) ?? 0) + 1;
      reads.set(m.message_id, n);
      if (n === 1) delays.push(v.viewed_at - m.timestamp);
      else secondDevice++;
    }
  }
  // Messages of the last 15 minutes may still be unread: judge the first 20 minutes.
  const early = messages.filter((m) => m.timestamp < truth.startMs + 20 * MINUTE);
  const unread = early.filter((m) => !reads.has(m.message_id)).length / early.length;
  delays.sort((a, b) => a - b);
  const median = delays[delays.length >> 1]!;
  assert.deepStrictEqual(
    {
      unread: unread > 0.08 && unread < 0.25,
      medianDelay: median > 2_000 && median < 60_000,
      secondDevice: secondDevice > 0.03 * reads.size,
      byOthers: byOthers > 0.05 * reads.size,
    },
    { unread: true, medianDelay: true, secondDevice: true, byOthers: true },
  );
});

test('day/night: paced to a local day, 03:00 is much quieter than 13:00', () => {
  const perMinute = (hour: number) => {
    // Local time is UTC+1: `hour` local is hour − 1 UTC.
    const startMs = Date.UTC(2025, 10, 8, hour - 1, 0, 0);
    const es = takeTraffic(20_000, { seed: 4, dayNight: true, utcOffsetMinutes: 60, startMs });
    return es.filter((e) => e.kind === 'message' && e.timeMs < startMs + 5 * MINUTE).length / 5;
  };
  const night = perMinute(3);
  const day = perMinute(13);
  assert.ok(night < 0.3 * day && day > 1000, `night ${night}/min, day ${day}/min`);
});

test('the vocabularies are disjoint: trend and spam words never occur in ordinary traffic', () => {
  const spam = new Set(SPAM_PARTS.flat().flatMap((p) => p.toLowerCase().split(' ')));
  const ordinary = new Set(ORDINARY_WORDS);
  assert.deepStrictEqual(
    {
      trendInOrdinary: TREND_WORDS.filter((w) => ordinary.has(w) || FILLER_WORDS.includes(w) || spam.has(w)),
      spamInOrdinary: [...spam].filter((w) => ordinary.has(w)),
      // Frames are made of filler only: they shift no counted word.
      frameWords: FRAMES.flatMap((f) => f.split(' ')).filter(
        (w) => w !== '_' && w.length > 3 && !FILLER_WORDS.includes(w),
      ),
    },
    { trendInOrdinary: [], spamInOrdinary: [], frameWords: [] },
  );
});

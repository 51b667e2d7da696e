/**
 * Generated chat traffic with spam bursts, disorder and late messages, and the anomaly alerts
 * recomputed by brute force from the definitions in src/processors/anomaly-detection/README.md.
 */
import type { AnomalyAlert } from '../../../src/events/index.ts';
import { formatRfc3339 } from '../../../src/events/index.ts';
import { Random } from '../../../src/generator/random.ts';
import { alertIdOf, normaliseContent, severityOf } from '../../../src/processors/anomaly-detection/index.ts';
import { delivered, type Msg } from '../delivery.ts';

export interface TrafficShape {
  readonly seed: number;
  readonly users: number;
  readonly spammers: number;
  readonly minutes: number;
  /** Probability that a message is delivered up to `disorderMs` after its event time. */
  readonly disorderP: number;
  readonly disorderMs: number;
  /** Probability that a message is delivered 10–40 s after its event time (late if the grace is 5 s). */
  readonly lateP: number;
}

const START = Date.UTC(2025, 10, 8, 14, 0, 0);
const WORDS = ['lunch', 'deploy', 'review', 'kafka', 'weekend', 'movie', 'coffee', 'meeting', 'bug', 'party'];

/** Normal users (a message every ~25 s, varied content) and spammers (bursts of 5–30, some identical). */
export function spamTraffic(shape: TrafficShape): Msg[] {
  const r = new Random(shape.seed);
  const end = START + shape.minutes * 60_000;
  const raw: Array<Omit<Msg, 'seq' | 'id' | 'arrival'>> = [];
  const userCount = shape.users + shape.spammers;
  const userName = (i: number) => (i < shape.users ? `user-${i}` : `spammer-${i - shape.users}`);
  const message = (i: number, ts: number, content: string) => {
    const other = (i + 1 + r.int(0, userCount - 2)) % userCount;
    raw.push({
      sender: userName(i),
      receiver: userName(other),
      conversation: `conv-${Math.min(i, other)}-${Math.max(i, other)}`,
      content,
      ts,
    });
  };
  const sentence = () => `${r.pick(WORDS)} ${r.pick(WORDS)} ${r.pick(WORDS)} ${r.int(0, 999)}`;
  for (let i = 0; i < userCount; i++) {
    for (let t = START + r.exponential(25_000); t < end; t += r.exponential(25_000)) {
      message(i, Math.floor(t), sentence());
    }
  }
  for (let s = shape.users; s < userCount; s++) {
    for (let t = START + r.int(0, 120_000); t < end; t += r.int(70_000, 240_000)) {
      const n = r.int(5, 30);
      const gap = r.int(500, 12_000);
      const same = r.chance(0.5) ? `BUY  now at spam-${r.int(0, 9)}.example ` : null;
      let ts = t;
      for (let k = 0; k < n; k++) {
        message(s, Math.floor(ts), same === null ? sentence() : r.chance(0.5) ? same : same.toUpperCase());
        // Sometimes two messages in the same millisecond (ties are ordered by message_id).
        if (!r.chance(0.1)) ts += r.exponential(gap);
      }
    }
  }
  return delivered(raw, r, { ...shape, lateMs: [10_000, 40_000] });
}

/** Messages not late: a stream time (largest event time so far, in delivery order) at most `graceMs` ahead. */
export function accepted(msgs: readonly Msg[], graceMs: number): { accepted: Msg[]; late: number } {
  let st = Number.NEGATIVE_INFINITY;
  const out: Msg[] = [];
  for (const m of msgs) {
    st = Math.max(st, m.ts);
    if (m.ts >= st - graceMs) out.push(m);
  }
  return { accepted: out, late: msgs.length - out.length };
}

export interface Rule {
  readonly kind: 'rate' | 'duplicate_content';
  readonly threshold: number;
  readonly windowMs: number;
}

const order = (a: Msg, b: Msg) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Bursts by brute force: c(t) = messages in [t − W, t], evaluated at every instant where it can
 * change (message times and message times + W + 1); a burst is a maximal run of such instants with
 * c ≥ threshold. The final alert of each burst.
 */
export function bursts(msgs: readonly Msg[], rule: Rule): AnomalyAlert[] {
  const W = rule.windowMs;
  const N = rule.threshold;
  const byKey = new Map<string, Msg[]>();
  for (const m of msgs) {
    const key = rule.kind === 'rate' ? m.sender : `${m.sender}\u0000${normaliseContent(m.content)}`;
    if (rule.kind === 'duplicate_content' && normaliseContent(m.content) === '') continue;
    byKey.set(key, [...(byKey.get(key) ?? []), m]);
  }
  const alerts: AnomalyAlert[] = [];
  for (const list of byKey.values()) {
    const sorted = [...list].sort(order);
    const inWindow = (t: number) => sorted.filter((m) => m.ts >= t - W && m.ts <= t);
    const instants = [...new Set(sorted.flatMap((m) => [m.ts, m.ts + W + 1]))].sort((a, b) => a - b);
    let run: number[] = [];
    const close = (e: number) => {
      const s = run[0] as number;
      const window = inWindow(s);
      const members = sorted.filter((m) => m.ts >= s - W && m.ts < e);
      const first = window[0] as Msg;
      const trigger = window[N - 1] as Msg;
      const last = members.at(-1) as Msg;
      const peak = Math.max(...run.map((t) => inWindow(t).length));
      alerts.push({
        alert_id: alertIdOf(first.sender, rule.kind, trigger.id),
        user_id: first.sender,
        kind: rule.kind,
        count: peak,
        threshold: N,
        window_start: formatRfc3339(first.ts),
        window_end: formatRfc3339(last.ts),
        window_ms: W,
        severity: severityOf(peak, N),
        first_message_id: first.id,
        last_message_id: last.id,
        trigger_message_id: trigger.id,
        triggered_at: formatRfc3339(trigger.ts),
        message_count: members.length,
        status: 'closed',
        version: 4,
      });
      run = [];
    };
    for (const t of instants) {
      if (inWindow(t).length >= N) run.push(t);
      else if (run.length > 0) close(t);
    }
  }
  return alerts.sort((a, b) => (a.alert_id < b.alert_id ? -1 : 1));
}

/** The current state of every alert: its record with the highest version, retracted ones left out. */
export function finalAlerts(records: readonly AnomalyAlert[]): AnomalyAlert[] {
  const latest = new Map<string, AnomalyAlert>();
  for (const a of records) {
    const prev = latest.get(a.alert_id);
    if (prev === undefined || a.version > prev.version) latest.set(a.alert_id, a);
  }
  return [...latest.values()]
    .filter((a) => a.status !== 'retracted')
    .sort((a, b) => (a.alert_id < b.alert_id ? -1 : 1));
}

/** The alerts of both default rules (rate: 8 within 60 s; duplicate content: 5 within 10 min), by id. */
export function expectedAlerts(msgs: readonly Msg[]): AnomalyAlert[] {
  return [
    ...bursts(msgs, { kind: 'rate', threshold: 8, windowMs: 60_000 }),
    ...bursts(msgs, { kind: 'duplicate_content', threshold: 5, windowMs: 600_000 }),
  ].sort((a, b) => (a.alert_id < b.alert_id ? -1 : 1));
}

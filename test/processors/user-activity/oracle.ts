/**
 * Generated messages and views (receipts after a delay, second devices, views by non-receivers,
 * receipts that arrive before their message, disorder and late events), and the user activity per
 * window recomputed by brute force from the definitions in src/processors/user-activity/README.md.
 */
import type { MessageViewWire, UserActivityMetric } from '../../../src/events/index.ts';
import { formatRfc3339 } from '../../../src/events/index.ts';
import { Random } from '../../../src/generator/random.ts';
import { spamTraffic } from '../anomaly-detection/oracle.ts';
import type { Msg } from '../delivery.ts';

export interface View {
  readonly seq: number;
  readonly messageId: string;
  readonly viewer: string;
  readonly ts: number;
  readonly arrival: number;
}

export type Event = { readonly kind: 'm'; readonly m: Msg } | { readonly kind: 'v'; readonly v: View };

export interface ActivityShape {
  readonly seed: number;
  readonly users: number;
  readonly minutes: number;
  /** Probability and bound of a delivery delay within grace. */
  readonly disorderP: number;
  readonly disorderMs: number;
  /** Probability of a delivery 70–150 s after the event time (late for 60 s windows + 5 s grace). */
  readonly lateP: number;
}

/** Messages (spamTraffic) and their views, in delivery order. */
export function activityTraffic(shape: ActivityShape): Event[] {
  const msgs = spamTraffic({
    seed: shape.seed,
    users: shape.users,
    spammers: 2,
    minutes: shape.minutes,
    disorderP: shape.disorderP,
    disorderMs: shape.disorderMs,
    lateP: 0,
  });
  const r = new Random(shape.seed + 1000);
  const users = [...new Set(msgs.map((m) => m.sender))];
  const lag = () => {
    const u = r.next();
    return u < shape.lateP
      ? r.int(70_000, 150_000)
      : u < shape.lateP + shape.disorderP
        ? r.int(1, shape.disorderMs)
        : 0;
  };
  const events: Array<Event & { arrival: number; seq: number }> = [];
  let seq = 1_000_000;
  for (const m0 of msgs) {
    const late = r.chance(shape.lateP);
    const m: Msg = late ? { ...m0, arrival: m0.ts + r.int(70_000, 150_000) } : m0;
    events.push({ kind: 'm', m, arrival: m.arrival, seq: m.seq });
    const view = (viewer: string, ts: number, arrival: number) => {
      const v: View = { seq: seq++, messageId: m.id, viewer, ts, arrival };
      events.push({ kind: 'v', v, arrival, seq: v.seq });
    };
    if (r.chance(0.6)) {
      const ts = m.ts + Math.floor(r.exponential(8_000)) + 1;
      // Some receipts overtake their message (the view is delivered before it).
      view(m.receiver, ts, r.chance(0.05) ? m.arrival - r.int(1, 3_000) : ts + lag());
      if (r.chance(0.15)) {
        const again = ts + r.int(1, 20_000);
        view(m.receiver, again, again + lag());
      }
    }
    if (r.chance(0.05)) {
      const ts = m.ts + r.int(1, 30_000);
      view(r.pick(users), ts, ts + lag());
    }
  }
  return events.sort((a, b) => a.arrival - b.arrival || a.seq - b.seq);
}

export function viewWireOf(v: View): MessageViewWire {
  return { message_id: v.messageId, user_id: v.viewer, viewed_at: formatRfc3339(v.ts), device: 'web' };
}

/** One unit of activity: what the read join sends to the per-user windows. */
export interface Unit {
  readonly user: string;
  readonly kind: 'sent' | 'received' | 'read';
  /** The conversation (sent/received), '' for a read. */
  readonly c: string;
  readonly ts: number;
}

/**
 * The read join by brute force, in delivery order: a message yields sent (sender) and received
 * (receiver) at its time; a view by the receiver of a message delivered before or after it yields a
 * read at the view's time, released when the later of the two is delivered (after the message's own
 * units). Views by anyone else yield nothing.
 */
export function joinUnits(events: readonly Event[]): Unit[] {
  const units: Unit[] = [];
  const messages = new Map<string, Msg>();
  const waiting = new Map<string, View[]>();
  for (const e of events) {
    if (e.kind === 'm') {
      const m = e.m;
      messages.set(m.id, m);
      units.push({ user: m.sender, kind: 'sent', c: m.conversation, ts: m.ts });
      units.push({ user: m.receiver, kind: 'received', c: m.conversation, ts: m.ts });
      for (const v of waiting.get(m.id) ?? []) {
        if (v.viewer === m.receiver) units.push({ user: v.viewer, kind: 'read', c: '', ts: v.ts });
      }
      waiting.delete(m.id);
    } else {
      const m = messages.get(e.v.messageId);
      if (m === undefined) waiting.set(e.v.messageId, [...(waiting.get(e.v.messageId) ?? []), e.v]);
      else if (m.receiver === e.v.viewer) units.push({ user: e.v.viewer, kind: 'read', c: '', ts: e.v.ts });
    }
  }
  return units;
}

/**
 * Tumbling windows by brute force over the units each window task received, in order: a unit is
 * late when an earlier unit of its task is at least its window's end + grace; otherwise it counts in
 * (user, window): sent, received, reads, distinct conversations of sent/received.
 */
export function windowsOf(
  tasks: ReadonlyArray<readonly Unit[]>,
  windowMs: number,
  graceMs: number,
): { metrics: UserActivityMetric[]; late: number } {
  let late = 0;
  const windows = new Map<
    string,
    { user: string; start: number; s: number; r: number; v: number; c: Set<string> }
  >();
  for (const units of tasks) {
    let st = Number.NEGATIVE_INFINITY;
    for (const u of units) {
      st = Math.max(st, u.ts);
      const start = u.ts - (u.ts % windowMs);
      if (start + windowMs + graceMs <= st) {
        late++;
        continue;
      }
      const id = `${u.user}@${start}`;
      const w = windows.get(id) ?? { user: u.user, start, s: 0, r: 0, v: 0, c: new Set<string>() };
      windows.set(id, w);
      if (u.kind === 'read') w.v++;
      else {
        if (u.kind === 'sent') w.s++;
        else w.r++;
        w.c.add(u.c);
      }
    }
  }
  const metrics = [...windows.values()].map((w) => ({
    user_id: w.user,
    window_start: formatRfc3339(w.start),
    window_end: formatRfc3339(w.start + windowMs),
    messages_sent: w.s,
    messages_received: w.r,
    reads: w.v,
    active_conversations: w.c.size,
  }));
  return { metrics: sortMetrics(metrics), late };
}

export function sortMetrics(list: readonly UserActivityMetric[]): UserActivityMetric[] {
  const k = (m: UserActivityMetric) => `${m.user_id}@${m.window_start}`;
  return [...list].sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

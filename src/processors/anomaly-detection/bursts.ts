/**
 * Burst detection for one rule ("≥ threshold messages within any windowMs") over the messages of
 * one key (a sender, or a sender and a content), in event time. Pure logic on a plain state object;
 * the processor keeps that object in a changelogged store (see processor.ts).
 *
 * Definitions (README.md has them with examples). c(t) = the key's messages with event time in
 * [t − windowMs, t] (both bounds included, as KIP-450 sliding windows), for every millisecond t.
 * - A burst is a maximal interval of time [s, e) in which c(t) ≥ threshold. It starts at a message
 *   time s and ends at e, the first instant the count is below the threshold again; so the rule
 *   re-arms only after the trailing count dropped below the threshold.
 * - Its trigger is the threshold-th message, in (event time, message_id) order, of the window
 *   [s − windowMs, s]; its messages are those of every window in which the rule held: event time in
 *   [s − windowMs, last message time before e]; its `count` is the most messages within one window.
 * - The frontier F = stream time − grace: a message with event time < F is late (dropped, counted),
 *   so c(t) for t < F is final and a burst with e < F can no longer change. State keeps only
 *   messages ≥ F − windowMs and a summary of the burst in progress at the checkpoint.
 *
 * Emission, for a key whose messages changed or whose frontier moved: the bursts recomputed from the
 * checkpoint are compared with the alerts sent so far. A new burst → `open` at once; a burst whose
 * severity rose → `open` again; a burst now final → `closed`; an alert
 * whose burst no longer exists under its trigger (an out-of-order message merged it into an earlier
 * burst or moved its start) → `retracted`. With in-order input only open/severity/closed happen.
 */
import { hash } from 'node:crypto';
import {
  type AlertKind,
  AlertStatus,
  type AnomalyAlert,
  formatRfc3339,
  Severity,
} from '../../events/index.ts';

export interface BurstRule {
  readonly kind: (typeof AlertKind)[keyof typeof AlertKind];
  readonly threshold: number;
  readonly windowMs: number;
}

/** A burst as far as it is known. */
interface BurstAcc {
  trigger: string;
  triggerTs: number;
  first: string;
  firstTs: number;
  last: string;
  lastTs: number;
  peak: number;
  messages: number;
}

/** The persisted state of one key (JSON in the store). */
export interface KeyState {
  /** The user the alerts are about. */
  readonly user: string;
  /**
   * Event times and message ids, sorted by (ts, id); ts >= f − windowMs. The store entry of a key
   * carries them while the key has no buckets (a few messages), else leaves them out: they are then
   * changelogged per time bucket (processor.ts).
   */
  ts: number[];
  ids: string[];
  /** The time buckets (ascending) holding this key's messages in the messages store. */
  buckets: number[];
  /** Checkpoint: message groups with time < f are folded into `cur`. */
  f: number;
  /** The burst in progress at the checkpoint (its end `e` >= f), or null. */
  cur: BurstAcc | null;
  e: number;
  /** Alerts sent for bursts that are not final yet, by trigger message id: the last record sent. */
  alerted: Record<string, AnomalyAlert>;
  /** The smallest frontier at which this key needs a pass without new messages (close, purge). */
  due: number;
}

export function newKeyState(user: string): KeyState {
  return {
    user,
    ts: [],
    ids: [],
    buckets: [],
    f: Number.NEGATIVE_INFINITY,
    cur: null,
    e: 0,
    alerted: {},
    due: Number.POSITIVE_INFINITY,
  };
}

/** `low` below 1.5 × threshold, `medium` below 2 ×, `high` from 2 × (on the burst's `count`). */
export function severityOf(peak: number, threshold: number): AnomalyAlert['severity'] {
  if (peak >= 2 * threshold) return Severity.HIGH;
  if (2 * peak >= 3 * threshold) return Severity.MEDIUM;
  return Severity.LOW;
}

const SEVERITY_RANK = { low: 0, medium: 1, high: 2 } as const;

/** sha-256 of user, kind and trigger message id, 32 hex digits: the same burst, the same id. */
export function alertIdOf(user: string, kind: string, triggerMessageId: string): string {
  return hash('sha256', `${user}\u0000${kind}\u0000${triggerMessageId}`, 'hex').slice(0, 32);
}

/**
 * Insert a message (keeps (ts, id) order). Returns false for a repeat of a message still held
 * (same message_id and event time), which is ignored.
 */
export function insertMessage(state: KeyState, ts: number, id: string): boolean {
  const { ts: times, ids } = state;
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const t = times[mid] as number;
    if (t < ts || (t === ts && (ids[mid] as string) < id)) lo = mid + 1;
    else hi = mid;
  }
  if (times[lo] === ts && ids[lo] === id) return false;
  times.splice(lo, 0, ts);
  ids.splice(lo, 0, id);
  return true;
}

/** The first index of sorted `times` whose value is >= `t` (times.length if none). */
export function firstAtOrAfter(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface FoundBurst {
  readonly acc: BurstAcc;
  /** First instant with c(t) < threshold (given the messages known now). */
  readonly e: number;
}

/**
 * Recompute the bursts from the checkpoint with frontier `frontier`, move the checkpoint to it,
 * purge messages no longer needed, and return the alert records to send (in order).
 */
export function pass(state: KeyState, rule: BurstRule, frontier: number): AnomalyAlert[] {
  const N = rule.threshold;
  const W = rule.windowMs;
  const { ts, ids } = state;
  const found: FoundBurst[] = [];
  let acc: BurstAcc | null = state.cur === null ? null : { ...state.cur };
  let e = state.e;
  let checkpointed = false;
  const checkpoint = (): void => {
    checkpointed = true;
    if (acc !== null && e < frontier) {
      found.push({ acc, e });
      acc = null;
    }
    state.cur = acc === null ? null : { ...acc };
    state.e = e;
    state.f = frontier;
  };
  // Only the groups from the checkpoint on are visited (the few seconds of grace, in order), so a
  // pass costs O(log n + messages since the checkpoint), not O(window).
  let i = firstAtOrAfter(ts, state.f);
  let left = i < ts.length ? firstAtOrAfter(ts, (ts[i] as number) - W) : 0;
  while (i < ts.length) {
    const t = ts[i] as number;
    let b = i;
    while (b + 1 < ts.length && ts[b + 1] === t) b++;
    if (!checkpointed && t >= frontier) checkpoint();
    while ((ts[left] as number) < t - W) left++;
    const c = b - left + 1;
    if (acc !== null && (t > e || (t === e && c < N))) {
      found.push({ acc, e });
      acc = null;
    }
    if (c >= N) {
      if (acc === null) {
        const trigger = left + N - 1;
        acc = {
          trigger: ids[trigger] as string,
          triggerTs: t,
          first: ids[left] as string,
          firstTs: ts[left] as number,
          last: ids[b] as string,
          lastTs: t,
          peak: c,
          messages: c,
        };
      } else {
        acc.last = ids[b] as string;
        acc.lastTs = t;
        acc.messages += b - i + 1;
        if (c > acc.peak) acc.peak = c;
      }
      e = (ts[b - N + 1] as number) + W + 1;
    }
    i = b + 1;
  }
  // Every group before the frontier: the checkpoint comes after all of them.
  if (!checkpointed) checkpoint();
  if (acc !== null) found.push({ acc, e });
  // Purge: windows at t >= f need messages >= f − W only.
  const drop = firstAtOrAfter(ts, state.f - W);
  if (drop > 0) {
    ts.splice(0, drop);
    ids.splice(0, drop);
  }
  return reconcile(state, rule, frontier, found);
}

/**
 * An alert's version is a function of what the record says, not a counter, so that the record an
 * alert ends with has the same version whatever updates preceded it (another arrival order, a
 * restart): open low/medium/high = 1/2/3, closed = 4, retracted = 5. Each record of an alert has a
 * higher version than the one before (severity only rises; closed and retracted are last).
 */
export function versionOf(status: AnomalyAlert['status'], severity: AnomalyAlert['severity']): number {
  if (status === AlertStatus.CLOSED) return 4;
  if (status === AlertStatus.RETRACTED) return 5;
  return 1 + SEVERITY_RANK[severity];
}

function record(
  state: KeyState,
  rule: BurstRule,
  acc: BurstAcc,
  status: AnomalyAlert['status'],
): AnomalyAlert {
  const severity = severityOf(acc.peak, rule.threshold);
  return {
    alert_id: alertIdOf(state.user, rule.kind, acc.trigger),
    user_id: state.user,
    kind: rule.kind,
    count: acc.peak,
    threshold: rule.threshold,
    window_start: formatRfc3339(acc.firstTs),
    window_end: formatRfc3339(acc.lastTs),
    window_ms: rule.windowMs,
    severity,
    first_message_id: acc.first,
    last_message_id: acc.last,
    trigger_message_id: acc.trigger,
    triggered_at: formatRfc3339(acc.triggerTs),
    message_count: acc.messages,
    status,
    version: versionOf(status, severity),
  };
}

function reconcile(state: KeyState, rule: BurstRule, frontier: number, found: FoundBurst[]): AnomalyAlert[] {
  const out: AnomalyAlert[] = [];
  const live = new Set<string>();
  let due = Number.POSITIVE_INFINITY;
  for (const { acc } of found) live.add(acc.trigger);
  // Superseded alerts first, so that a reader applying records in order never sees two alerts
  // for one burst.
  for (const [trigger, last] of Object.entries(state.alerted)) {
    if (live.has(trigger)) continue;
    out.push({
      ...last,
      status: AlertStatus.RETRACTED,
      version: versionOf(AlertStatus.RETRACTED, last.severity),
    });
    delete state.alerted[trigger];
  }
  for (const { acc, e } of found) {
    const last = state.alerted[acc.trigger];
    if (e < frontier) {
      out.push(record(state, rule, acc, AlertStatus.CLOSED));
      delete state.alerted[acc.trigger];
      continue;
    }
    due = Math.min(due, e + 1);
    if (last === undefined) {
      const r = record(state, rule, acc, AlertStatus.OPEN);
      state.alerted[acc.trigger] = r;
      out.push(r);
    } else if (SEVERITY_RANK[severityOf(acc.peak, rule.threshold)] > SEVERITY_RANK[last.severity]) {
      const r = record(state, rule, acc, AlertStatus.OPEN);
      state.alerted[acc.trigger] = r;
      out.push(r);
    } else {
      // Kept current (not sent) so that a retraction carries the latest figures.
      state.alerted[acc.trigger] = record(state, rule, acc, AlertStatus.OPEN);
    }
  }
  const newest = state.ts.at(-1);
  if (newest !== undefined) due = Math.min(due, newest + rule.windowMs + 1);
  state.due = due;
  return out;
}

/** True when the key holds nothing any more: its store entry can be deleted. */
export function isEmpty(state: KeyState): boolean {
  return state.ts.length === 0 && state.cur === null && Object.keys(state.alerted).length === 0;
}

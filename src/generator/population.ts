import { cumulativeIndex, type Random } from './random.ts';

/**
 * Who talks to whom: users with a heavy-tailed activity, and conversations with stable participants
 * — about two thirds 1:1, the rest groups of 3–8 members. Every user is a member of at least one
 * conversation as long as the conversations have room (`users` ≤ their total seats).
 */
export interface Population {
  readonly userIds: readonly string[];
  /** Relative activity of each user (Pareto, tail index 1.5): a few users send most messages. */
  readonly activity: Float64Array;
  /** Each user's usual device (`web`, `ios`, `android`). */
  readonly device: readonly Device[];
  readonly conversations: readonly Conversation[];
  /** Conversations each user is a member of (indexes into `conversations`). */
  readonly memberOf: readonly (readonly number[])[];
}

export interface Conversation {
  readonly id: string;
  /** Member indexes into `userIds`; 2 for a 1:1 conversation. */
  readonly members: readonly number[];
  /** Relative activity of the conversation. */
  readonly weight: number;
}

export const DEVICES = ['web', 'ios', 'android'] as const;
export type Device = (typeof DEVICES)[number];

const GROUP_SHARE = 0.35;

export function createPopulation(rnd: Random, users: number, conversations: number): Population {
  const width = Math.max(4, String(users).length);
  const userIds = Array.from({ length: users }, (_, i) => `user-${String(i + 1).padStart(width, '0')}`);
  const activity = new Float64Array(users);
  for (let i = 0; i < users; i++) activity[i] = rnd.pareto(1.5, 60);
  const device = userIds.map(() => {
    const r = rnd.next();
    return r < 0.45 ? 'web' : r < 0.75 ? 'ios' : 'android';
  });

  // Sizes first, then one pass over the users in random order (each user gets a first seat), then the
  // remaining seats by sociability (another heavy tail: some people are in many conversations).
  const sizes = Array.from({ length: conversations }, (): number =>
    users >= 3 && rnd.chance(GROUP_SHARE) ? rnd.int(3, Math.min(8, users)) : 2,
  );
  if (users >= 3 && conversations >= 2 && !sizes.some((s) => s > 2)) sizes[conversations - 1] = 3;
  const order = Array.from({ length: users }, (_, i) => i);
  for (let i = users - 1; i > 0; i--) {
    const j = rnd.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const sociability = Array.from({ length: users }, () => rnd.pareto(1.2, 40));
  const cumulative = new Float64Array(users);
  let total = 0;
  for (let i = 0; i < users; i++) cumulative[i] = total += sociability[i]!;
  const bySociability = (): number => cumulativeIndex(cumulative, rnd.next() * total);
  const members: number[][] = sizes.map(() => []);
  let next = 0;
  for (let c = 0; c < conversations && next < users; c++) {
    for (let s = 0; s < sizes[c]! && next < users; s++) members[c]!.push(order[next++]!);
  }
  for (let c = 0; c < conversations; c++) {
    const m = members[c]!;
    while (m.length < sizes[c]!) {
      const u = bySociability();
      if (!m.includes(u)) m.push(u);
    }
  }
  const memberOf: number[][] = userIds.map(() => []);
  const list: Conversation[] = members.map((m, c) => {
    for (const u of m) memberOf[u]!.push(c);
    return { id: `conv-${c + 1}`, members: m, weight: rnd.pareto(1.5, 30) * (m.length > 2 ? 1.5 : 1) };
  });
  return { userIds, activity, device, conversations: list, memberOf };
}

/**
 * Relative message rate by hour of the local day (index 0 = 00:00–01:00): quiet at night, busiest
 * around midday and in the evening. Interpolated linearly between hour midpoints.
 */
const HOURLY = [
  0.3, 0.2, 0.15, 0.12, 0.12, 0.15, 0.25, 0.45, 0.65, 0.8, 0.9, 0.95, 1, 0.95, 0.9, 0.9, 0.9, 0.95, 1, 1,
  0.95, 0.85, 0.65, 0.45,
];

/** The day/night factor in (0, 1] at an epoch time, for a local time `utcOffsetMinutes` from UTC. */
export function dayNightFactor(epochMs: number, utcOffsetMinutes: number): number {
  const dayMs = 86_400_000;
  const local = (((epochMs + utcOffsetMinutes * 60_000) % dayMs) + dayMs) % dayMs;
  const hours = local / 3_600_000 - 0.5;
  const h0 = Math.floor(hours);
  const f = hours - h0;
  const a = HOURLY[(h0 + 24) % 24]!;
  const b = HOURLY[(h0 + 25) % 24]!;
  return a + (b - a) * f;
}

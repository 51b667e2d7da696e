/** The rules generated traffic is built around, and what they mean for rates and populations. */

export interface Rule {
  readonly threshold: number;
  readonly windowMs: number;
}

export const DEFAULT_START_MS = Date.UTC(2025, 10, 8, 14, 0, 0);
export const DEFAULT_RATE_RULE = { threshold: 8, windowMs: 60_000 } as const;
export const DEFAULT_DUPLICATE_RULE = { threshold: 5, windowMs: 600_000 } as const;
/** An ordinary user's `threshold` messages always span more than the rule's window by this much. */
export const RULE_MARGIN_MS = 1_000;

/**
 * The highest ordinary rate `users` can carry: each user at most half of what the rate rule lets
 * through on average (the heavy tail puts some users at the limit, whose messages then go to others).
 */
export function maxRateFor(users: number, rule: Rule = DEFAULT_RATE_RULE): number {
  return (0.5 * users * (rule.threshold - 1) * 1000) / (rule.windowMs + RULE_MARGIN_MS);
}

/** The default number of users for a rate: 1,000, or as many as `maxRateFor` needs. */
export function usersForRate(rate: number, rule: Rule = DEFAULT_RATE_RULE): number {
  return Math.max(1000, Math.ceil(rate / maxRateFor(1, rule)));
}

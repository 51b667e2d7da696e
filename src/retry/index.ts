/**
 * The one retry policy of the platform: `retry(fn, policy)` calls `fn` until it succeeds, its error
 * is not retriable, the deadline passes or the signal aborts.
 *
 * - Delays grow exponentially (`initialDelayMs × multiplier^attempt`, capped at `maxDelayMs`) with
 *   "equal jitter": each delay is drawn uniformly from [(1 − jitter) × d, d], so members retrying the
 *   same broker do not stay in step. The last sleep is cut so that no attempt starts after the deadline.
 * - The deadline (`deadlineMs` from the first attempt, on the injected clock) bounds the whole call,
 *   as the Java client's `delivery.timeout.ms` / `max.block.ms` do; `maxAttempts` optionally bounds
 *   the number of calls too.
 * - What is thrown: `fn`'s last error, unchanged (so its code and context reach the caller). An abort
 *   before the first attempt throws the signal's reason; an abort while waiting throws the last error.
 *
 * Example: `await retry(() => producer.send(topic, rs), { ...KAFKA_REQUEST, signal })`.
 */
import { type Clock, systemClock } from '../clock/index.ts';
import { isAppError } from '../errors/index.ts';

export interface RetryPolicy {
  /** Total time budget (ms) from the first attempt; Infinity: no deadline. */
  readonly deadlineMs: number;
  /** First delay (ms). Default 100. */
  readonly initialDelayMs?: number;
  /** Largest delay (ms). Default 5 000. */
  readonly maxDelayMs?: number;
  /** Growth per attempt. Default 2. */
  readonly multiplier?: number;
  /** Fraction of each delay that is random, 0..1. Default 0.5. */
  readonly jitter?: number;
  /** At most this many calls of `fn`. Default unbounded (the deadline decides). */
  readonly maxAttempts?: number;
  /** Whether an error is worth another attempt. Default: an `AppError` marked `retriable`. */
  readonly retriable?: (err: unknown) => boolean;
  /** Stops retrying (the current attempt is not interrupted). */
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  /** Waits `ms`; resolves early when `signal` aborts. Default: a timer. Tests inject a fake. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** Called before each wait, e.g. to report the retry on a diagnostics channel. */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** The default predicate: errors from the catalogue marked retriable. */
export const isRetriable = (err: unknown): boolean => isAppError(err) && err.retriable;

/** A timer that resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The delay before attempt `attempt + 1` (0-based `attempt` = the attempt that just failed). */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const initial = policy.initialDelayMs ?? 100;
  const max = policy.maxDelayMs ?? 5_000;
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0.5));
  const d = Math.min(max, initial * (policy.multiplier ?? 2) ** attempt);
  return d * (1 - jitter * random());
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const clock = policy.clock ?? systemClock;
  const wait = policy.sleep ?? sleep;
  const random = policy.random ?? Math.random;
  const retriable = policy.retriable ?? isRetriable;
  const maxAttempts = policy.maxAttempts ?? Number.POSITIVE_INFINITY;
  const signal = policy.signal;
  if (signal?.aborted) throw signal.reason;
  const deadline = clock.now() + policy.deadlineMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!retriable(err) || attempt + 1 >= maxAttempts || signal?.aborted) throw err;
      const left = deadline - clock.now();
      if (left <= 0) throw err;
      const delay = Math.min(left, backoffDelay(attempt, policy, random));
      policy.onRetry?.(err, attempt + 1, delay);
      await wait(delay, signal);
      if (signal?.aborted || clock.now() >= deadline) throw err;
    }
  }
}

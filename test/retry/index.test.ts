import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock/index.ts';
import { AppError, ErrorCode } from '../../src/errors/index.ts';
import { backoffDelay, type RetryPolicy, retry } from '../../src/retry/index.ts';

const transient = (n: number) => new AppError(ErrorCode.LOG_IO, `transient ${n}`, { retriable: true });

/** A policy on a manual clock whose sleeps advance the clock and are recorded. */
function fake(over: Partial<RetryPolicy> = {}): { policy: RetryPolicy; clock: ManualClock; waits: number[] } {
  const clock = new ManualClock(1_000);
  const waits: number[] = [];
  const policy: RetryPolicy = {
    deadlineMs: 10_000,
    clock,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
      clock.advance(ms);
    },
    ...over,
  };
  return { policy, clock, waits };
}

test('retries retriable errors with exponential backoff and jitter until success', async () => {
  const { policy, waits } = fake();
  const calls: number[] = [];
  const value = await retry(async (attempt) => {
    calls.push(attempt);
    if (attempt < 4) throw transient(attempt);
    return 'ok';
  }, policy);
  // 100, 200, 400, 800 ms, each with half of its jitter range (0.5 × 0.5) removed.
  assert.deepStrictEqual(
    { value, calls, waits },
    { value: 'ok', calls: [0, 1, 2, 3, 4], waits: [75, 150, 300, 600] },
  );
});

test('a non-retriable error is thrown at once, unchanged', async () => {
  const { policy, waits } = fake();
  const fatal = new AppError(ErrorCode.LOG_FENCED, 'fenced');
  let calls = 0;
  await assert.rejects(
    retry(async () => {
      calls++;
      throw fatal;
    }, policy),
    (err) => err === fatal,
  );
  assert.deepStrictEqual({ calls, waits }, { calls: 1, waits: [] });
});

test('the deadline bounds the whole call: the last wait is cut and the last error thrown', async () => {
  const { policy, waits, clock } = fake({ deadlineMs: 1_000, maxDelayMs: 400, jitter: 0 });
  let last: unknown;
  await assert.rejects(
    retry(async (attempt) => {
      last = transient(attempt);
      throw last;
    }, policy),
    (err) => err === last,
  );
  assert.deepStrictEqual(
    { waits, elapsed: clock.now() - 1_000 },
    { waits: [100, 200, 400, 300], elapsed: 1_000 },
  );
});

test('maxAttempts, a custom predicate and onRetry', async () => {
  const seen: Array<[string, number, number]> = [];
  const { policy } = fake({
    maxAttempts: 3,
    jitter: 0,
    retriable: (err) => err instanceof Error && err.message.startsWith('busy'),
    onRetry: (err, attempt, delay) => seen.push([(err as Error).message, attempt, delay]),
  });
  await assert.rejects(
    retry(async (attempt) => {
      throw new Error(`busy ${attempt}`);
    }, policy),
    /busy 2/,
  );
  assert.deepStrictEqual(seen, [
    ['busy 0', 1, 100],
    ['busy 1', 2, 200],
  ]);
});

test('an abort signal stops the retries: before the first call its reason, while waiting the last error', async () => {
  const before = new AbortController();
  before.abort(new Error('stopped'));
  await assert.rejects(
    retry(async () => 1, fake({ signal: before.signal }).policy),
    /stopped/,
  );

  const during = new AbortController();
  const { policy } = fake({
    signal: during.signal,
    sleep: async () => during.abort(new Error('stopped')),
  });
  let calls = 0;
  await assert.rejects(
    retry(async (attempt) => {
      calls++;
      throw transient(attempt);
    }, policy),
    /transient 0/,
  );
  assert.equal(calls, 1);
});

test('backoffDelay: capped, jitter within [(1 - jitter) d, d]', () => {
  const p: RetryPolicy = { deadlineMs: 0, initialDelayMs: 50, maxDelayMs: 1_000, multiplier: 3, jitter: 0.2 };
  assert.deepStrictEqual(
    [0, 1, 2, 3, 10].map((a) =>
      [backoffDelay(a, p, () => 0), backoffDelay(a, p, () => 0.999999)].map(Math.round),
    ),
    [
      [50, 40],
      [150, 120],
      [450, 360],
      [1_000, 800],
      [1_000, 800],
    ],
  );
});

test('the default sleep: real timers, ended early by the signal', async () => {
  const ac = new AbortController();
  const started = performance.now();
  setTimeout(() => ac.abort(), 20);
  let calls = 0;
  await assert.rejects(
    retry(
      async (attempt) => {
        calls++;
        throw transient(attempt);
      },
      { deadlineMs: 60_000, initialDelayMs: 5_000, signal: ac.signal },
    ),
  );
  assert.ok(performance.now() - started < 2_000 && calls === 1);
});

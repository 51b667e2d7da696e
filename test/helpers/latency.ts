/**
 * Checking a latency requirement on a shared, noisy machine: one measurement can be hit by a stall
 * that has nothing to do with the code (another process, a GC, a slow fsync). `bestOf` measures up to
 * `attempts` times and stops at the first measurement within the bound; the requirement fails only
 * when every attempt misses it, which a real defect (a loop that does not yield or stop) does every
 * time.
 */
import assert from 'node:assert/strict';

/** The measurements taken (ms), the last within `boundMs`; fails when none is. */
export async function bestOf(
  what: string,
  boundMs: number,
  attempts: number,
  measure: (attempt: number) => Promise<number>,
): Promise<number[]> {
  const taken: number[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    const ms = await measure(attempt);
    taken.push(ms);
    if (ms < boundMs) return taken;
  }
  assert.fail(
    `${what}: ${taken.map((ms) => ms.toFixed(0)).join(', ')} ms in ${attempts} attempts (limit ${boundMs} ms)`,
  );
}

/**
 * Waiting in tests: poll a condition until it holds, failing only after a generous deadline, instead
 * of sleeping a fixed time and hoping the machine was fast enough. The deadline is the bound at which
 * the test gives up (the defect), never the time the test is expected to take: a fast machine passes
 * at the first poll that sees the condition, a slow one keeps polling.
 */

export interface WaitOptions {
  /** Between two probes, ms. Default 50. */
  readonly intervalMs?: number;
  /** Treat a probe that throws as "not yet" (a server still starting). Default false: the error fails the wait. */
  readonly ignoreErrors?: boolean;
}

/**
 * Probe until it returns a value other than `undefined`, and return it; after `timeoutMs` fail with
 * `timed out waiting for <what>` (and the last probe error, when errors are ignored).
 */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
  options: WaitOptions = {},
): Promise<T> {
  const { intervalMs = 50, ignoreErrors = false } = options;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (!ignoreErrors) throw err;
      lastError = err;
    }
    if (performance.now() > deadline) {
      const cause = lastError === undefined ? '' : ` (last error: ${String(lastError)})`;
      throw new Error(`timed out waiting for ${what} after ${timeoutMs} ms${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Wait until `check` holds (see `eventually`). */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => boolean | Promise<boolean>,
  options: WaitOptions = {},
): Promise<void> {
  await eventually(what, timeoutMs, async () => ((await check()) ? true : undefined), options);
}

/**
 * Wall-clock time, injected. Stream time comes from records; wall-clock time (flush timers,
 * punctuation, retention checks, default record timestamps) comes from a `Clock`, so tests can drive it.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A clock that only moves when told to: for tests and the streams test driver. */
export class ManualClock implements Clock {
  #nowMs: number;
  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }
  now(): number {
    return this.#nowMs;
  }
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    this.#nowMs += ms;
    return this.#nowMs;
  }
  set(ms: number): void {
    this.#nowMs = ms;
  }
}

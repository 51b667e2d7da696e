/**
 * Window definitions: validated, immutable value objects. Every factory makes the caller choose the
 * grace period; `DEFAULT_GRACE_MS` is the platform default processors put in their config.
 *
 * Closing rule: a window accepts records until stream time passes its last millisecond plus the grace
 * period; then it closes — final result emitted, state purged — and later records for it are late.
 * - time windows, [start, end): open while streamTime < end + grace; closed once streamTime >= end + grace.
 * - sliding windows, [start, end] (end inclusive): open while streamTime <= end + grace; closed once
 *   streamTime > end + grace.
 */
import { AppError, ErrorCode } from '../errors/index.ts';

/** Default grace period of the platform's windows: 5 s. */
export const DEFAULT_GRACE_MS = 5_000;

function requireMs(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new AppError(ErrorCode.STREAMS_WINDOW, `${name} must be an integer >= ${min} ms, got ${value}`, {
      context: { [name]: value },
    });
  }
}

/**
 * Tumbling (advance = size) and hopping (advance < size) windows, aligned to the epoch, half-open
 * [start, end).
 *
 * Worked example: `TimeWindows.ofSizeAndGrace(30_000, 5_000).advanceBy(10_000)`. A record at
 * t = 47_000 falls in [20_000, 50_000), [30_000, 60_000) and [40_000, 70_000). Window
 * [20_000, 50_000) accepts records while stream time < 55_000 and closes when stream time reaches
 * 55_000: a record at exactly 55_000 closes it, a record at 49_999 arriving afterwards is late.
 */
export class TimeWindows {
  readonly sizeMs: number;
  readonly advanceMs: number;
  readonly graceMs: number;

  private constructor(sizeMs: number, advanceMs: number, graceMs: number) {
    requireMs('sizeMs', sizeMs, 1);
    requireMs('graceMs', graceMs, 0);
    requireMs('advanceMs', advanceMs, 1);
    if (advanceMs > sizeMs) {
      throw new AppError(ErrorCode.STREAMS_WINDOW, `advanceMs (${advanceMs}) must be <= sizeMs (${sizeMs})`);
    }
    this.sizeMs = sizeMs;
    this.advanceMs = advanceMs;
    this.graceMs = graceMs;
    Object.freeze(this);
  }

  /** Tumbling windows of `sizeMs` that accept records up to `graceMs` after their end. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, graceMs);
  }

  /** Tumbling windows that close the moment stream time reaches their end. */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, 0);
  }

  /** Hopping windows: a new window starts every `advanceMs` (0 < advanceMs <= sizeMs). */
  advanceBy(advanceMs: number): TimeWindows {
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  /** Starts of the windows containing `timestampMs` (>= 0), ascending. */
  windowStartsFor(timestampMs: number): number[] {
    const last = timestampMs - (timestampMs % this.advanceMs);
    const starts: number[] = [];
    for (let start = last; start > timestampMs - this.sizeMs && start >= 0; start -= this.advanceMs) {
      starts.push(start);
    }
    return starts.reverse();
  }
}

/**
 * Sliding windows with Kafka Streams KIP-450 semantics: windows of fixed length
 * `timeDifferenceMs`, aligned to records, both bounds inclusive. For every record at t there is a
 * left window [t - timeDifferenceMs, t] and, when it holds any record, a right window
 * [t + 1, t + 1 + timeDifferenceMs]; no other window exists, so an empty window is never emitted.
 *
 * Worked example (the Kafka Streams javadoc): timeDifferenceMs = 5_000, records at 8_000, 9_200 and
 * 12_400 give exactly [3_000, 8_000]{1}, [4_200, 9_200]{1,2}, [7_400, 12_400]{1,2,3},
 * [8_001, 13_001]{2,3} and [9_201, 14_201]{3}. With graceMs = 2_000, [3_000, 8_000] still accepts a
 * record at stream time 10_000 and closes when stream time passes 10_000.
 *
 * Aggregates of sliding windows fold the window's records in timestamp order (ties: arrival order),
 * so a restarted task recomputes exactly what an uninterrupted one would.
 */
export class SlidingWindows {
  readonly timeDifferenceMs: number;
  readonly graceMs: number;

  private constructor(timeDifferenceMs: number, graceMs: number) {
    requireMs('timeDifferenceMs', timeDifferenceMs, 1);
    requireMs('graceMs', graceMs, 0);
    this.timeDifferenceMs = timeDifferenceMs;
    this.graceMs = graceMs;
    Object.freeze(this);
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    return new SlidingWindows(timeDifferenceMs, graceMs);
  }

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    return new SlidingWindows(timeDifferenceMs, 0);
  }
}

export type Windows = TimeWindows | SlidingWindows;

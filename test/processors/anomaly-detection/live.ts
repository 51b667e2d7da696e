/** Running a processor under test as on live traffic: restartable runtimes, a clock that can jump, slices. */
import type { TestContext } from 'node:test';
import { platformTopics } from '../../../src/app/index.ts';
import type { Clock } from '../../../src/clock/index.ts';
import type { Log } from '../../../src/log/index.ts';
import type { StreamsRuntime } from '../../../src/streams/index.ts';
import { produce, type RawEvent, waitCaughtUp } from '../helpers.ts';

/**
 * The options every processor factory takes under the harness: `clock` (the harness's), commits every
 * 20 ms and polls every 5 ms so that slices go through quickly, no repartition purge (the oracles read
 * the repartition topics back).
 */
export const liveOptions = (clock: Clock) =>
  ({ commitIntervalMs: 20, runtime: { clock, pollTimeoutMs: 5, purgeIntervalMs: 1e12 } }) as const;

export function liveHarness(
  t: TestContext,
  log: Log,
  make: (clock: Clock) => StreamsRuntime,
  inputs: readonly string[],
) {
  let skewMs = 0;
  const clock: Clock = { now: () => Date.now() + skewMs };
  const start = async (): Promise<StreamsRuntime> => {
    const runtime = make(clock);
    t.after(() => runtime.stop());
    await runtime.start();
    return runtime;
  };
  /** Wait until the runtime's group committed every record of `inputs`; its counters then. */
  const drain = async (runtime: StreamsRuntime) => {
    await waitCaughtUp(log, runtime.applicationId, inputs, 30_000, 5);
    return runtime.metrics().counters;
  };
  return {
    /**
     * Create the platform's topics, then deliver the slices one by one, each processed before the
     * next, with a stop and a new runtime (restored from the changelogs) half-way. Returns the running
     * runtime and the late records of both.
     */
    async deliver(slices: readonly RawEvent[][]): Promise<{ runtime: StreamsRuntime; lateRecords: number }> {
      await log.createTopics(platformTopics());
      let runtime = await start();
      let lateRecords = 0;
      for (const [i, slice] of slices.entries()) {
        if (i === Math.floor(slices.length / 2)) {
          lateRecords += (await drain(runtime)).lateRecords;
          await runtime.stop();
          runtime = await start();
        }
        await produce(log, slice);
        await drain(runtime);
      }
      lateRecords += (await drain(runtime)).lateRecords;
      return { runtime, lateRecords };
    },
    /** Move the runtimes' wall clock ahead (idle advance follows it). */
    jump(ms: number): void {
      skewMs += ms;
    },
  };
}

/** Consecutive slices of `items` (in delivery order), each spanning at most `sliceMs` of arrival time. */
export function slicesOf<T, R>(
  items: readonly T[],
  arrivalOf: (item: T) => number,
  sliceMs: number,
  map: (item: T) => R,
): R[][] {
  const slices: R[][] = [];
  let end = Number.NEGATIVE_INFINITY;
  for (const item of items) {
    const arrival = arrivalOf(item);
    if (arrival >= end) {
      slices.push([]);
      end = arrival + sliceMs;
    }
    slices.at(-1)?.push(map(item));
  }
  return slices;
}

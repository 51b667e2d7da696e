/**
 * What `StreamsRuntime.metrics()` reports, and the two measurements the runtime keeps for it: commit
 * latency and consumer lag.
 */
import { type Consumer, type Log, tpKey } from '../log/index.ts';
import type { TaskCounters } from './task.ts';

export type RuntimeState = 'created' | 'running' | 'draining' | 'stopped' | 'failed';

export interface RuntimeMetrics {
  readonly state: RuntimeState;
  readonly tasks: readonly string[];
  readonly counters: TaskCounters;
  readonly commits: number;
  readonly commitLatencyMs: { readonly last: number; readonly max: number; readonly avg: number };
  /** Entries held by the stores of this instance's tasks. */
  readonly stateEntries: number;
  /** Per `topic:partition`: last stable offset − position, refreshed about every second. */
  readonly lag: Readonly<Record<string, number>>;
}

/** Count and latency (ms) of successful commits. */
export class CommitLatency {
  #commits = 0;
  #last = 0;
  #max = 0;
  #total = 0;

  get commits(): number {
    return this.#commits;
  }

  record(ms: number): void {
    this.#commits++;
    this.#last = ms;
    this.#total += ms;
    if (ms > this.#max) this.#max = ms;
  }

  snapshot(): RuntimeMetrics['commitLatencyMs'] {
    return {
      last: this.#last,
      max: this.#max,
      avg: this.#commits === 0 ? 0 : this.#total / this.#commits,
    };
  }
}

/** Least time between two lag refreshes, ms (runtime clock). */
const LAG_REFRESH_MS = 1_000;

export interface LagMonitorOptions {
  readonly log: Log;
  /** Reports an `error` event (stage `lag`); lag is a metric, never a reason to stop. */
  readonly publish: (event: Record<string, unknown>) => void;
  /** Called after each refresh (the runtime publishes its metrics). */
  readonly onRefreshed: () => void;
}

/** Consumer lag per assigned partition, refreshed in the background at most every second. */
export class LagMonitor {
  readonly #options: LagMonitorOptions;
  #last = 0;
  #refreshing: Promise<void> | undefined;
  #lag: Record<string, number> = {};

  constructor(options: LagMonitorOptions) {
    this.#options = options;
  }

  /**
   * Start a refresh in the background when the last one started at least a second before `now` and
   * has finished (on Kafka a refresh is a few round trips per partition).
   */
  maybeRefresh(now: number, consumer: Consumer): void {
    if (now - this.#last >= LAG_REFRESH_MS && this.#refreshing === undefined) {
      this.#refreshing = this.#refresh(now, consumer).finally(() => {
        this.#refreshing = undefined;
      });
    }
  }

  snapshot(): Record<string, number> {
    return { ...this.#lag };
  }

  async #refresh(now: number, consumer: Consumer): Promise<void> {
    this.#last = now;
    const lag: Record<string, number> = {};
    await Promise.all(
      consumer.assignment().map(async (tp) => {
        try {
          const { lastStable } = await this.#options.log.partitionOffsets(tp.topic, tp.partition);
          lag[tpKey(tp)] = Math.max(0, lastStable - consumer.position(tp));
        } catch (err) {
          // revoked meanwhile, or the broker is unreachable for a moment: lag is a metric, not a reason to stop
          this.#options.publish({ type: 'error', stage: 'lag', partition: tpKey(tp), error: String(err) });
        }
      }),
    );
    this.#lag = lag;
    this.#options.onRefreshed();
  }
}

/**
 * Repartition purge (Kafka Streams' `repartition.purge.interval.ms`): after a successful commit, at
 * most every `intervalMs` on the runtime's clock, the records of each repartition partition this
 * instance's tasks consume are deleted below the offset committed for it (`Log.deleteRecords`). The
 * group never reads below its committed offsets, so repartition topics (kept without retention) stay
 * bounded. A failed purge is reported (`{ type: 'error', stage: 'purge' }`) and the partition retried
 * at the next one; it never throws.
 */
import type { Clock } from '../clock/index.ts';
import { type Log, type TopicPartitionOffset, tpKey } from '../log/index.ts';

export interface RepartitionPurgerOptions {
  readonly log: Log;
  readonly clock: Clock;
  /** Least time between two purges, ms; 0 purges after every commit. */
  readonly intervalMs: number;
  readonly repartitionTopics: ReadonlySet<string>;
  /** Reports `purge` and `error` events (the runtime's diagnostics channel). */
  readonly publish: (event: Record<string, unknown>) => void;
}

export class RepartitionPurger {
  readonly #options: RepartitionPurgerOptions;
  /** Offsets committed for repartition partitions of this instance's tasks, not purged yet. */
  readonly #toPurge = new Map<string, TopicPartitionOffset>();
  #lastPurge = 0;

  constructor(options: RepartitionPurgerOptions) {
    this.#options = options;
  }

  /** The interval counts from `now` (the runtime started). */
  start(now: number): void {
    this.#lastPurge = now;
  }

  /** After a commit of `offsets`: remember those of repartition topics, and purge when due. */
  async committed(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    for (const o of offsets) {
      if (this.#options.repartitionTopics.has(o.topic)) this.#toPurge.set(tpKey(o), o);
    }
    if (this.#toPurge.size > 0 && this.#options.clock.now() - this.#lastPurge >= this.#options.intervalMs) {
      await this.#purge();
    }
  }

  /** The tasks were closed: their partitions may belong to another instance now. */
  clear(): void {
    this.#toPurge.clear();
  }

  /**
   * Delete the repartition records below the committed offsets (they are never read again). Failures
   * are reported and the partitions retried at the next purge.
   */
  async #purge(): Promise<void> {
    const { log, clock, publish } = this.#options;
    this.#lastPurge = clock.now();
    const started = performance.now();
    const pending = [...this.#toPurge];
    const done = await Promise.all(
      pending.map(async ([key, o]) => {
        try {
          await log.deleteRecords(o.topic, o.partition, o.offset);
          // A newer commit may have replaced the entry meanwhile: keep that one.
          if (this.#toPurge.get(key) === o) this.#toPurge.delete(key);
          return true;
        } catch (err) {
          publish({
            type: 'error',
            stage: 'purge',
            topic: o.topic,
            partition: o.partition,
            offset: o.offset,
            error: String(err),
          });
          return false;
        }
      }),
    );
    publish({
      type: 'purge',
      durationMs: performance.now() - started,
      partitions: done.filter(Boolean).length,
      failed: done.filter((ok) => !ok).length,
    });
  }
}

import type { Clock } from '../clock/index.ts';
import { Topics } from '../events/index.ts';
import type { Log } from '../log/index.ts';
import type { StreamsRuntime } from '../streams/index.ts';

/** One sample of the platform's pace: what the live feed's tick and the status line show. */
export interface Throughput {
  /** Epoch ms of the sample. */
  at: number;
  /** Records appended to chat.messages per second (any producer: API, generator, Kafka clients). */
  messages_in_per_s: number;
  /** Input records processed per second, summed over the processors. */
  processed_per_s: number;
  /** Records the processors have still to read, summed over processors and partitions. */
  lag: number;
  /** Per processor: state and lag. */
  processors: Record<string, { state: string; lag: number; processed_per_s: number }>;
}

/**
 * Samples throughput from the log's high watermarks (chat.messages) and the runtimes' counters.
 * `sample()` is called about once a second by its owner; rates are over the time since the last call.
 */
export class ThroughputSampler {
  readonly #log: Log;
  readonly #clock: Clock;
  readonly #runtimes: () => ReadonlyMap<string, StreamsRuntime>;
  #last: { at: number; appended: number; processed: number; each: Map<string, number> } | undefined;
  #latest: Throughput;

  constructor(log: Log, clock: Clock, runtimes: () => ReadonlyMap<string, StreamsRuntime>) {
    this.#log = log;
    this.#clock = clock;
    this.#runtimes = runtimes;
    this.#latest = { at: clock.now(), messages_in_per_s: 0, processed_per_s: 0, lag: 0, processors: {} };
  }

  /** The last sample taken. */
  get latest(): Throughput {
    return this.#latest;
  }

  async sample(): Promise<Throughput> {
    const at = this.#clock.now();
    let appended = 0;
    const topic = Topics.chatMessages;
    for (let p = 0; p < topic.partitions; p++) {
      appended += (await this.#log.partitionOffsets(topic.name, p)).latest;
    }
    let processed = 0;
    let lag = 0;
    const processors: Throughput['processors'] = {};
    const last = this.#last;
    const seconds = last === undefined ? 0 : (at - last.at) / 1000;
    const rate = (now: number, before: number | undefined) =>
      seconds <= 0 || before === undefined ? 0 : Math.max(0, Math.round((now - before) / seconds));
    const each = new Map<string, number>();
    for (const [name, r] of this.#runtimes()) {
      const m = r.metrics();
      const l = inputLag(r);
      processed += m.counters.recordsProcessed;
      lag += l;
      each.set(name, m.counters.recordsProcessed);
      processors[name] = {
        state: m.state,
        lag: l,
        processed_per_s: rate(m.counters.recordsProcessed, last?.each.get(name)),
      };
    }
    this.#latest = {
      at,
      messages_in_per_s: rate(appended, last?.appended),
      processed_per_s: rate(processed, last?.processed),
      lag,
      processors,
    };
    this.#last = { at, appended, processed, each };
    return this.#latest;
  }
}

/**
 * Records of a runtime's input topics not yet processed. A re-keyed record also waits in the
 * processor's own repartition topic (`<applicationId>-…`), which would count it twice.
 */
export function inputLag(r: StreamsRuntime): number {
  let lag = 0;
  for (const [tp, l] of Object.entries(r.metrics().lag)) if (!tp.startsWith(`${r.applicationId}-`)) lag += l;
  return lag;
}

/** Summed input lag of the runtimes (ingest back-pressure). */
export function totalLag(runtimes: ReadonlyMap<string, StreamsRuntime>): number {
  let lag = 0;
  for (const r of runtimes.values()) lag += inputLag(r);
  return lag;
}

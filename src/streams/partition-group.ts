/**
 * The records an instance has fetched but not processed yet, one queue per assigned partition, and
 * the choice of the next record to process: Kafka Streams' `PartitionGroup`, across all of the
 * instance's tasks.
 *
 * - Next record: the head (lowest offset not processed) of the partition whose head has the lowest
 *   event time (as in Kafka Streams, the head is deserialised and its timestamp extracted when it
 *   becomes the head, once: `StreamTask.prepare`). Within a partition, offset order is kept (an
 *   out-of-order record stays where it is).
 *   So a backlog is processed in event-time order across partitions, and the records a re-keying
 *   task writes to a repartition topic are in about the order of their timestamps — the downstream
 *   task, whose stream time is the largest timestamp it has seen, finds none of them late unless
 *   they were late at the source.
 * - Waiting for data (Kafka Streams' `max.task.idle.ms` = 0, KIP-695): a partition whose queue is
 *   empty but whose last fetch returned records may have more in the log right now; nothing is
 *   processed until a fetch tells (`next()` returns undefined: poll again without waiting). A
 *   partition whose last fetch returned nothing, or that is paused, is not waited for: new data
 *   arriving later is not waited for either.
 * - Bounded: `overfull()` names the partitions holding at least `maxPerPartition` records, for the
 *   runtime to pause (Kafka Streams' `buffered.records.per.partition`).
 */
import type { LogRecord, TopicPartition } from '../log/index.ts';
import { tpKey } from '../log/index.ts';
import type { PreparedRecord, StreamTask } from './task.ts';

interface Queue {
  readonly tp: TopicPartition;
  readonly task: StreamTask;
  /** The head, prepared by the task (undefined until it is needed). */
  prepared: PreparedRecord | undefined;
  /** Fetched chunks in offset order; `head` indexes `chunks[0]`. */
  chunks: LogRecord[][];
  head: number;
  size: number;
  /** The last fetch returned records of this partition: there may be more not fetched yet. */
  mayHaveMore: boolean;
}

export class PartitionGroup {
  readonly #maxPerPartition: number;
  #queues = new Map<string, Queue>();
  #list: Queue[] = [];
  #size = 0;
  /** The task of the record `next()` returned last. */
  #nextTask: StreamTask | undefined;

  constructor(maxPerPartition: number) {
    this.#maxPerPartition = maxPerPartition;
  }

  /** Records buffered, all partitions. */
  get size(): number {
    return this.#size;
  }

  /** Records of `tp` buffered. */
  buffered(tp: TopicPartition): number {
    return this.#queues.get(tpKey(tp))?.size ?? 0;
  }

  /**
   * Add a poll's records. `assigned` is the consumer's assignment at the poll, `paused` the keys of
   * its paused partitions: an unpaused partition without records in the poll had nothing to fetch.
   * Queues of partitions no longer assigned are dropped.
   */
  add(
    records: readonly LogRecord[],
    assigned: readonly TopicPartition[],
    paused: ReadonlySet<string>,
    taskOf: (tp: TopicPartition) => StreamTask | undefined,
  ): void {
    const next = new Map<string, Queue>();
    for (const tp of assigned) {
      const key = tpKey(tp);
      let q = this.#queues.get(key);
      if (q === undefined) {
        const task = taskOf(tp);
        if (task === undefined) continue; // records of a partition without a task are not processed
        q = { tp, task, prepared: undefined, chunks: [], head: 0, size: 0, mayHaveMore: false };
      }
      if (!paused.has(key)) q.mayHaveMore = false;
      next.set(key, q);
    }
    for (const [key, q] of this.#queues) if (!next.has(key)) this.#size -= q.size;
    this.#queues = next;
    this.#list = [...next.values()];
    let i = 0;
    while (i < records.length) {
      const first = records[i] as LogRecord;
      let j = i + 1;
      while (j < records.length) {
        const r = records[j] as LogRecord;
        if (r.partition !== first.partition || r.topic !== first.topic) break;
        j++;
      }
      const q = next.get(tpKey(first));
      if (q !== undefined) {
        q.chunks.push(i === 0 && j === records.length ? (records as LogRecord[]) : records.slice(i, j));
        q.size += j - i;
        q.mayHaveMore = true;
        this.#size += j - i;
      }
      i = j;
    }
  }

  /**
   * Take the next record to process (prepared by its task, `nextTask`), or undefined when there is
   * none or when a partition must be fetched first (see the file comment).
   */
  next(): PreparedRecord | undefined {
    let best: Queue | undefined;
    let bestTs = Number.POSITIVE_INFINITY;
    for (const q of this.#list) {
      if (q.size === 0) {
        if (q.mayHaveMore) return undefined;
        continue;
      }
      q.prepared ??= q.task.prepare((q.chunks[0] as LogRecord[])[q.head] as LogRecord);
      const ts = q.prepared.timestamp;
      if (ts < bestTs || best === undefined) {
        best = q;
        bestTs = ts;
      }
    }
    if (best === undefined) return undefined;
    const r = best.prepared as PreparedRecord;
    best.prepared = undefined;
    const chunk = best.chunks[0] as Array<LogRecord | undefined>;
    // Let the record go as soon as it is taken, not when its whole chunk is done: a chunk holds up
    // to a poll's records, and those still referenced survive (are copied by) every scavenge.
    chunk[best.head] = undefined;
    if (++best.head === chunk.length) {
      best.chunks.shift();
      best.head = 0;
    }
    best.size--;
    this.#size--;
    this.#nextTask = best.task;
    return r;
  }

  /** The task of the record `next()` returned last. */
  get nextTask(): StreamTask {
    return this.#nextTask as StreamTask;
  }

  /** Nothing of `tp` is buffered (its processed offset is the consumer's position). */
  isDrained(tp: TopicPartition): boolean {
    return this.buffered(tp) === 0;
  }

  /** Partitions holding at least `maxPerPartition` records. */
  overfull(): TopicPartition[] {
    return this.#list.filter((q) => q.size >= this.#maxPerPartition).map((q) => q.tp);
  }

  clear(): void {
    this.#queues.clear();
    this.#list = [];
    this.#size = 0;
  }
}

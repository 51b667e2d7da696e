import { randomBytes } from 'node:crypto';
import type { SinkFlushEvent } from './offset-batch-sink.ts';
import type { PartitionProgress, SinkProgress, SinkState } from './sink-state.ts';

/**
 * One ClickHouse table's inserts for every source partition of its topic that a runtime holds: at a
 * commit, the rows buffered by all of them go in ONE insert under one dedup token, with one
 * `sink_progress` statement before and one after (3 statements per table and commit, where one insert
 * per partition took 3 per partition).
 *
 * The protocol of `OffsetBatchSink` per partition, for a batch of partitions:
 *   1. write every range [first, last] of the batch as `inserting`, each naming the batch
 *      (`<id>|<partition>:<first>-<last>,…` in partition order, `<id>` random);
 *   2. insert the batch's rows (partition order, then offset order) with the token
 *      `<application>/<topic>/<batch>`;
 *   3. write every range as `inserted`.
 * The random id makes every batch's token new: only a replay, which reads the batch from the
 * progress, uses a token again. (Tokens made of offsets alone came back after `replay --rebuild`:
 * the same ranges again, and the engine still remembered the token of a part it had detached as
 * broken, so it dropped the re-insert.) Progress saved before batches (`batch` '') replays its range
 * under the token of that time, `<application>/<topic>/<partition>/<first>-<last>`.
 * A replay that finds a partition `inserting` re-inserts the whole batch it names (the other
 * partitions' ranges read again from the log) under the batch's token, so ClickHouse drops it if it
 * had landed; that partition is then `inserted`. The others of the batch do the same when their sinks
 * meet them (in this process the batch is inserted once: the token is remembered). A batch that failed
 * after step 1 is completed as it was (same rows, same token) before any new one starts, and batches
 * run one at a time (no concurrent statements).
 */
export interface TableBatchOptions<Row> {
  readonly applicationId: string;
  readonly topic: string;
  readonly state: SinkState;
  /** Insert rows under a dedup token; rejects with a retriable AppError when ClickHouse is down. */
  readonly insert: (rows: readonly Row[], dedupToken: string) => Promise<unknown>;
  /** The rows of offsets [first, last] of a partition, read again from the log (valid records only). */
  readonly readRange: (topic: string, partition: number, first: number, last: number) => Promise<Row[]>;
  /** The sinks want a flush (the runtime commits at once) once this many rows are buffered in all. */
  readonly batchRows: number;
  readonly onFlush?: (event: SinkFlushEvent) => void;
}

/** A range of one partition in a batch. */
export interface BatchRange {
  readonly partition: number;
  readonly first: number;
  readonly last: number;
}

/** One partition's rows taken for a batch, and how to tell its sink they are in. */
export interface TakenRows<Row> extends BatchRange {
  readonly rows: Row[];
  /** Rows the partition surely had in the table before this range (its progress `rows`). */
  readonly before: number;
  readonly done: (progress: SinkProgress) => void;
}

/** A member of the batch: one partition's buffer (an `OffsetBatchSink`). */
export interface BatchMember<Row> {
  /** Settle a replay, drop rows already in, and hand over the rest (undefined: nothing to insert). */
  take(): Promise<TakenRows<Row> | undefined>;
}

interface Batch<Row> {
  readonly parts: readonly TakenRows<Row>[];
  readonly text: string;
}

/** A new batch's name: a random id and its ranges. */
function batchText(ranges: readonly BatchRange[]): string {
  const id = randomBytes(8).toString('hex');
  return `${id}|${ranges.map((r) => `${r.partition}:${r.first}-${r.last}`).join(',')}`;
}

/** The ranges a progress row's `batch` names (its own range alone when it names none). */
export function batchRanges(partition: number, progress: SinkProgress): BatchRange[] {
  if (progress.batch === undefined || progress.batch === '') {
    return [{ partition, first: progress.first, last: progress.last }];
  }
  const m = /^[0-9a-f]+\|(.+)$/.exec(progress.batch);
  return (m?.[1] ?? '').split(',').map((part) => {
    const r = /^(\d+):(\d+)-(\d+)$/.exec(part);
    if (r === null) throw new Error(`sink_progress: malformed batch "${progress.batch}"`);
    return { partition: Number(r[1]), first: Number(r[2]), last: Number(r[3]) };
  });
}

export class TableBatch<Row> {
  readonly options: TableBatchOptions<Row>;
  readonly #members = new Set<BatchMember<Row>>();
  /** Rows buffered by all members (kept by the members as they write and hand over). */
  buffered = 0;
  #running: Promise<void> = Promise.resolve();
  /** A batch whose progress may say `inserting`: completed as it is before anything else. */
  #pending: Batch<Row> | undefined;
  /** Batch tokens replayed by this process (inserted again once, not once per partition). */
  readonly #replayed = new Set<string>();

  constructor(options: TableBatchOptions<Row>) {
    this.options = options;
  }

  join(member: BatchMember<Row>): void {
    this.#members.add(member);
  }

  leave(member: BatchMember<Row>): void {
    this.#members.delete(member);
  }

  wantsFlush(): boolean {
    return this.buffered >= this.options.batchRows;
  }

  /** The dedup token of the batch a progress row names (`batch`), or of its range alone (''). */
  token(partition: number, progress: SinkProgress): string {
    const { applicationId, topic } = this.options;
    if (progress.batch === undefined || progress.batch === '') {
      return `${applicationId}/${topic}/${partition}/${progress.first}-${progress.last}`;
    }
    return `${applicationId}/${topic}/${progress.batch}`;
  }

  /** Insert what every member buffered (one batch at a time: a flush waits for the one running). */
  flush(): Promise<void> {
    const run = this.#running.then(() => this.#flushOnce());
    this.#running = run.catch(() => undefined);
    return run;
  }

  /**
   * Insert the batch of `partition`'s interrupted `progress` again under its token (a replay), unless
   * this process did already; `rowsOf` gives a partition's rows of its range (from a buffer or the log).
   */
  async replay(
    partition: number,
    progress: SinkProgress,
    rowsOf: (r: BatchRange) => Promise<Row[]>,
  ): Promise<void> {
    const token = this.token(partition, progress);
    if (this.#replayed.has(token)) return;
    const rows: Row[] = [];
    for (const r of batchRanges(partition, progress)) for (const row of await rowsOf(r)) rows.push(row);
    await this.options.insert(rows, token);
    this.#replayed.add(token);
  }

  async #flushOnce(): Promise<void> {
    if (this.#pending !== undefined) await this.#insert(this.#pending);
    const parts: TakenRows<Row>[] = [];
    for (const member of this.#members) {
      const taken = await member.take();
      if (taken !== undefined) parts.push(taken);
    }
    if (parts.length === 0) return;
    parts.sort((a, b) => a.partition - b.partition);
    const batch = { parts, text: batchText(parts) };
    this.#pending = batch;
    await this.#insert(batch);
  }

  async #insert(batch: Batch<Row>): Promise<void> {
    const { applicationId, topic, state } = this.options;
    const save = (list: PartitionProgress[]) =>
      state.saveMany !== undefined
        ? state.saveMany(applicationId, topic, list)
        : list.reduce<Promise<void>>(
            (prev, p) => prev.then(() => state.save(applicationId, topic, p.partition, p.progress)),
            Promise.resolve(),
          );
    const progress = (p: TakenRows<Row>, status: SinkProgress['status']): SinkProgress => ({
      first: p.first,
      last: p.last,
      status,
      rows: status === 'inserted' ? p.before + p.rows.length : p.before,
      batch: batch.text,
    });
    await save(batch.parts.map((p) => ({ partition: p.partition, progress: progress(p, 'inserting') })));
    const rows: Row[] = [];
    for (const p of batch.parts) for (const row of p.rows) rows.push(row);
    await this.options.insert(rows, `${applicationId}/${topic}/${batch.text}`);
    await save(batch.parts.map((p) => ({ partition: p.partition, progress: progress(p, 'inserted') })));
    this.#pending = undefined;
    for (const p of batch.parts) {
      p.done(progress(p, 'inserted'));
      this.options.onFlush?.({
        topic,
        partition: p.partition,
        kind: 'inserted',
        rows: p.rows.length,
        first: p.first,
        last: p.last,
      });
    }
  }
}

import type { ExternalSink, SourceRecordMetadata, StreamRecord } from '../../streams/index.ts';
import type { SinkProgress } from './sink-state.ts';
import type { BatchMember, TableBatch, TakenRows } from './table-batch.ts';

/**
 * One task's rows for one ClickHouse table (one source partition), inserted exactly once.
 *
 * The approach of ClickHouse's own Kafka connector: the sink keeps, in ClickHouse, the last offset
 * range it inserted per source partition and whether that insert finished (`SinkState`):
 *   1. write the range [first, last] as `inserting`, naming the batch it goes in;
 *   2. insert its rows (in the batch: with the other partitions' ranges of the table) under the
 *      batch's dedup token;
 *   3. write the range as `inserted`.
 * The streams runtime commits the input offsets only after `flush()` resolved. On replay (after a
 * crash, a rebalance, or offsets reset to earliest) the sink compares each row's offset with the
 * state: rows below the range, and the range itself once `inserted`, are already in ClickHouse and
 * are skipped; a range left `inserting` may or may not have landed, so exactly its batch is inserted
 * again under its old token (ClickHouse drops it if it had landed) — read from the log when the
 * replayed records do not yet cover it.
 *
 * Crash points: before 1 → nothing inserted, the replay cuts a new range; between 1 and 3 → the
 * range's batch is re-inserted under its token; after 3 → skipped. Nothing is lost or written twice, and
 * reprocessing from the earliest offset adds no row.
 *
 * The sinks of one table's source partitions in a runtime share a `TableBatch` (table-batch.ts): a
 * flush inserts the ranges of all of them in one insert, one statement before and after for all the
 * progress rows.
 */
export interface OffsetBatchSinkOptions<V, Row> {
  /** Map a record's value to its table row. */
  readonly toRow: (value: V) => Row;
  /** The table's batch, shared by the sinks of its source partitions. */
  readonly batch: TableBatch<Row>;
}

export interface SinkFlushEvent {
  readonly topic: string;
  readonly partition: number;
  readonly kind: 'inserted' | 'replayed' | 'skipped';
  readonly rows: number;
  readonly first: number;
  readonly last: number;
}

export class OffsetBatchSink<K, V, Row> implements ExternalSink<K, V>, BatchMember<Row> {
  readonly #toRow: (value: V) => Row;
  readonly #batch: TableBatch<Row>;
  #rows: Row[] = [];
  #offsets: number[] = [];
  #topic = '';
  #partition = -1;
  /** The partition's progress in ClickHouse: loaded at the first flush, then kept up to date. */
  #progress: SinkProgress | null | undefined;

  constructor(options: OffsetBatchSinkOptions<V, Row>) {
    this.#toRow = options.toRow;
    this.#batch = options.batch;
    this.#batch.join(this);
  }

  write(record: StreamRecord<K, V>, source: SourceRecordMetadata): void {
    this.#topic = source.topic;
    this.#partition = source.partition;
    this.#rows.push(this.#toRow(record.value));
    this.#offsets.push(source.offset);
    this.#batch.buffered++;
  }

  wantsFlush(): boolean {
    return this.#batch.wantsFlush();
  }

  /** Insert what this sink and the other partitions' sinks of its table buffered (one batch). */
  flush(): Promise<void> {
    return this.#batch.flush();
  }

  async close(): Promise<void> {
    this.#batch.leave(this);
    this.#batch.buffered -= this.#rows.length;
    this.#rows = [];
    this.#offsets = [];
  }

  async take(): Promise<TakenRows<Row> | undefined> {
    if (this.#rows.length === 0) return undefined;
    if (this.#progress === undefined) {
      const { applicationId, state } = this.#batch.options;
      this.#progress = (await state.load(applicationId, this.#topic, this.#partition)) ?? null;
    }
    const progress = this.#progress;
    if (progress !== null) {
      if (
        progress.status === 'inserting' &&
        this.#offsets.at(-1)! >= progress.first &&
        this.#offsets[0]! <= progress.last
      ) {
        await this.#replay(progress);
      }
      this.#skipThrough(progress.last);
    }
    if (this.#rows.length === 0) return undefined;
    const rows = this.#rows;
    const taken: TakenRows<Row> = {
      partition: this.#partition,
      first: this.#offsets[0]!,
      last: this.#offsets.at(-1)!,
      rows,
      before: this.#progress?.rows ?? 0,
      done: (p) => {
        this.#progress = p;
      },
    };
    this.#batch.buffered -= rows.length;
    this.#rows = [];
    this.#offsets = [];
    return taken;
  }

  /** Insert the batch of the interrupted range `progress` again, under the token it was first inserted with. */
  async #replay(progress: SinkProgress): Promise<void> {
    const { first, last } = progress;
    const lo = this.#offsets.findIndex((o) => o >= first);
    const hi = this.#offsets.findLastIndex((o) => o <= last);
    // The buffer covers the range only when it holds its first and last record; read it otherwise.
    const covered = this.#offsets[lo] === first && this.#offsets[hi] === last;
    const { applicationId, state, readRange, onFlush } = this.#batch.options;
    let own: Row[] | undefined;
    const rowsOf = async (r: { partition: number; first: number; last: number }): Promise<Row[]> => {
      if (r.partition !== this.#partition) return readRange(this.#topic, r.partition, r.first, r.last);
      own ??= covered ? this.#rows.slice(lo, hi + 1) : await readRange(this.#topic, r.partition, first, last);
      return own;
    };
    await this.#batch.replay(this.#partition, progress, rowsOf);
    // This process may have replayed the batch for another of its partitions already.
    const rows = (await rowsOf({ partition: this.#partition, first, last })).length;
    const done: SinkProgress = { ...progress, status: 'inserted', rows: progress.rows + rows };
    await state.save(applicationId, this.#topic, this.#partition, done);
    this.#progress = done;
    onFlush?.({ topic: this.#topic, partition: this.#partition, kind: 'replayed', rows, first, last });
  }

  /** Drop buffered rows at or below `last`: they are in ClickHouse already. */
  #skipThrough(last: number): void {
    let n = 0;
    while (n < this.#offsets.length && this.#offsets[n]! <= last) n++;
    if (n === 0) return;
    const first = this.#offsets[0]!;
    this.#rows = this.#rows.slice(n);
    this.#offsets = this.#offsets.slice(n);
    this.#batch.buffered -= n;
    this.#batch.options.onFlush?.({
      topic: this.#topic,
      partition: this.#partition,
      kind: 'skipped',
      rows: n,
      first,
      last,
    });
  }
}

import type { ExternalSink, SourceRecordMetadata, StreamRecord } from '../../streams/index.ts';
import type { SinkProgress, SinkState } from './sink-state.ts';

/**
 * One task's rows for one ClickHouse table (one source partition), inserted exactly once.
 *
 * The approach of ClickHouse's own Kafka connector: the sink keeps, in ClickHouse, the last offset
 * range it inserted per source partition and whether that insert finished (`SinkState`):
 *   1. write the range [first, last] as `inserting`;
 *   2. insert its rows with the dedup token `<application>/<topic>/<partition>/<first>-<last>`;
 *   3. write the range as `inserted`.
 * The streams runtime commits the input offsets only after `flush()` resolved. On replay (after a
 * crash, a rebalance, or offsets reset to earliest) the sink compares each row's offset with the
 * state: rows below the range, and the range itself once `inserted`, are already in ClickHouse and
 * are skipped; a range left `inserting` may or may not have landed, so exactly that range is inserted
 * again under its old token (ClickHouse drops it if it had landed) — read from the log when the
 * replayed records do not yet cover it.
 *
 * Crash points: before 1 → nothing inserted, the replay cuts a new range; between 1 and 3 → the
 * range is re-inserted under its token; after 3 → skipped. Nothing is lost or written twice, and
 * reprocessing from the earliest offset adds no row.
 */
export interface OffsetBatchSinkOptions<V, Row> {
  readonly applicationId: string;
  readonly state: SinkState;
  /** Map a record's value to its table row. */
  readonly toRow: (value: V) => Row;
  /** Insert rows under a dedup token; rejects with a retriable AppError when ClickHouse is down. */
  readonly insert: (rows: readonly Row[], dedupToken: string) => Promise<unknown>;
  /** The rows of offsets [first, last] of a partition, read again from the log (valid records only). */
  readonly readRange: (topic: string, partition: number, first: number, last: number) => Promise<Row[]>;
  /** `wantsFlush()` once this many rows are buffered: the runtime then commits at once. */
  readonly batchRows: number;
  /** Observability hook, called after each insert (including a replayed one) and each skip. */
  readonly onFlush?: (event: SinkFlushEvent) => void;
}

export interface SinkFlushEvent {
  readonly topic: string;
  readonly partition: number;
  readonly kind: 'inserted' | 'replayed' | 'skipped';
  readonly rows: number;
  readonly first: number;
  readonly last: number;
}

export class OffsetBatchSink<K, V, Row> implements ExternalSink<K, V> {
  readonly #o: OffsetBatchSinkOptions<V, Row>;
  #rows: Row[] = [];
  #offsets: number[] = [];
  #topic = '';
  #partition = -1;
  /** The partition's progress in ClickHouse: loaded at the first flush, then kept up to date. */
  #progress: SinkProgress | null | undefined;

  constructor(options: OffsetBatchSinkOptions<V, Row>) {
    this.#o = options;
  }

  write(record: StreamRecord<K, V>, source: SourceRecordMetadata): void {
    this.#topic = source.topic;
    this.#partition = source.partition;
    this.#rows.push(this.#o.toRow(record.value));
    this.#offsets.push(source.offset);
  }

  wantsFlush(): boolean {
    return this.#rows.length >= this.#o.batchRows;
  }

  async flush(): Promise<void> {
    if (this.#rows.length === 0) return;
    const { applicationId, state } = this.#o;
    if (this.#progress === undefined) {
      this.#progress = (await state.load(applicationId, this.#topic, this.#partition)) ?? null;
    }
    const progress = this.#progress;
    if (progress !== null) {
      if (
        progress.status === 'inserting' &&
        this.#offsets.at(-1)! >= progress.first &&
        this.#offsets[0]! <= progress.last
      ) {
        await this.#replay(progress.first, progress.last, progress.rows);
      }
      this.#skipThrough(progress.last);
    }
    if (this.#rows.length === 0) return;
    const first = this.#offsets[0]!;
    const last = this.#offsets.at(-1)!;
    const before = this.#progress?.rows ?? 0;
    await state.save(applicationId, this.#topic, this.#partition, {
      first,
      last,
      status: 'inserting',
      rows: before,
    });
    await this.#o.insert(this.#rows, this.#token(first, last));
    const rows = before + this.#rows.length;
    await state.save(applicationId, this.#topic, this.#partition, { first, last, status: 'inserted', rows });
    this.#progress = { first, last, status: 'inserted', rows };
    this.#o.onFlush?.({
      topic: this.#topic,
      partition: this.#partition,
      kind: 'inserted',
      rows: this.#rows.length,
      first,
      last,
    });
    this.#rows = [];
    this.#offsets = [];
  }

  /** Insert exactly the range [first, last] again, under the token it was first inserted with. */
  async #replay(first: number, last: number, before: number): Promise<void> {
    const lo = this.#offsets.findIndex((o) => o >= first);
    const hi = this.#offsets.findLastIndex((o) => o <= last);
    // The buffer covers the range only when it holds its first and last record; read it otherwise.
    const covered = this.#offsets[lo] === first && this.#offsets[hi] === last;
    const rows = covered
      ? this.#rows.slice(lo, hi + 1)
      : await this.#o.readRange(this.#topic, this.#partition, first, last);
    await this.#o.insert(rows, this.#token(first, last));
    await this.#o.state.save(this.#o.applicationId, this.#topic, this.#partition, {
      first,
      last,
      status: 'inserted',
      rows: before + rows.length,
    });
    this.#progress = { first, last, status: 'inserted', rows: before + rows.length };
    this.#o.onFlush?.({
      topic: this.#topic,
      partition: this.#partition,
      kind: 'replayed',
      rows: rows.length,
      first,
      last,
    });
  }

  /** Drop buffered rows at or below `last`: they are in ClickHouse already. */
  #skipThrough(last: number): void {
    let n = 0;
    while (n < this.#offsets.length && this.#offsets[n]! <= last) n++;
    if (n === 0) return;
    const first = this.#offsets[0]!;
    this.#rows = this.#rows.slice(n);
    this.#offsets = this.#offsets.slice(n);
    this.#o.onFlush?.({
      topic: this.#topic,
      partition: this.#partition,
      kind: 'skipped',
      rows: n,
      first,
      last,
    });
  }

  #token(first: number, last: number): string {
    return `${this.#o.applicationId}/${this.#topic}/${this.#partition}/${first}-${last}`;
  }
}

import type { ClickHouse } from '../../storage/index.ts';

/** The last offset range a sink inserted for one source partition, and whether the insert finished. */
export interface SinkProgress {
  readonly first: number;
  readonly last: number;
  readonly status: 'inserting' | 'inserted';
  /**
   * Rows this sink surely has in its table for this partition while this is its latest progress: up
   * to the previous range while `inserting`, this range's included once `inserted` (progress saved
   * before migration 6 counts 0). The store check compares tables that never collapse rows with it.
   */
  readonly rows: number;
  /**
   * The batch this range was inserted in: its id and the ranges of every source partition of the
   * table in it (`<id>|<partition>:<first>-<last>,…`, see table-batch.ts); '' or absent: progress
   * saved before batches, the range inserted alone.
   */
  readonly batch?: string;
}

/** One partition's progress, for `saveMany`. */
export interface PartitionProgress {
  readonly partition: number;
  readonly progress: SinkProgress;
}

/** Where the sink keeps its progress: in ClickHouse itself, next to the rows it describes. */
export interface SinkState {
  load(applicationId: string, topic: string, partition: number): Promise<SinkProgress | undefined>;
  save(applicationId: string, topic: string, partition: number, progress: SinkProgress): Promise<void>;
  /** Save several partitions' progress at once (one statement); without it, `save` one by one. */
  saveMany?(applicationId: string, topic: string, progress: readonly PartitionProgress[]): Promise<void>;
}

/**
 * `message_db.sink_progress` (a ReplacingMergeTree keyed by application, topic and partition): one row
 * per save; the latest wins by `seq`, which only grows for a partition because progress only moves
 * forward (the last offset times two, plus one once the insert finished). Reprocessing after an offset
 * reset skips what this table says is in; to load the same offsets again on purpose, delete the
 * application's rows here first.
 */
export class ClickHouseSinkState implements SinkState {
  readonly #ch: ClickHouse;
  readonly #table: string;

  constructor(ch: ClickHouse, database = 'message_db') {
    this.#ch = ch;
    this.#table = `${database}.sink_progress`;
  }

  async load(applicationId: string, topic: string, partition: number): Promise<SinkProgress | undefined> {
    const rows = await this.#ch.query<{
      first_offset: string;
      last_offset: string;
      status: string;
      rows: string;
      batch: string;
    }>(
      `SELECT first_offset, last_offset, status, rows, batch FROM ${this.#table}
       WHERE application_id = {app:String} AND topic = {topic:String} AND partition = {partition:UInt32}
       ORDER BY seq DESC LIMIT 1`,
      { app: applicationId, topic, partition },
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      first: Number(row.first_offset),
      last: Number(row.last_offset),
      status: row.status === 'inserted' ? 'inserted' : 'inserting',
      rows: Number(row.rows),
      batch: row.batch,
    };
  }

  save(applicationId: string, topic: string, partition: number, progress: SinkProgress): Promise<void> {
    return this.saveMany(applicationId, topic, [{ partition, progress }]);
  }

  async saveMany(applicationId: string, topic: string, list: readonly PartitionProgress[]): Promise<void> {
    await this.#ch.insert(
      this.#table,
      list.map(({ partition, progress: p }) => ({
        application_id: applicationId,
        topic,
        partition,
        first_offset: p.first,
        last_offset: p.last,
        status: p.status,
        rows: p.rows,
        batch: p.batch ?? '',
        seq: p.last * 2 + (p.status === 'inserted' ? 1 : 0),
      })),
    );
  }
}

/**
 * The Kafka consumer's fetching and buffering (Java's `Fetcher`): one Fetch request in flight per
 * partition leader, started ahead of need (prefetch) while the consumer's buffered bytes are below a
 * watermark, so the broker's round trip overlaps with the caller's processing of the previous poll.
 *
 * - Each assigned partition has a state: its fetch position (the next offset to request), a pause
 *   flag and a buffer of decoded records not yet returned by `poll`.
 * - Requests and responses are ./fetch-response.ts (our parser on the library's connections); a
 *   partition's batches are decoded once, straight into its buffer (./record-batch.ts), and only
 *   when the partition was not sought, reset or reassigned after the request left (its state's
 *   generation moved): a late answer never puts records from an old position in the buffer.
 * - Errors of a background fetch are kept and handed to the next `poll` (`takeError`): retriable ones
 *   (a broker restarting, a leader moving) only delay the next fetch. A batch that cannot be read
 *   (CRC mismatch, unknown codec) stops its partition before it: the records before it are returned,
 *   then every poll fails with LOG_CORRUPT (as Java's consumer does) until the caller seeks past it.
 */
import type { Consumer as LibConsumer } from '@platformatic/kafka';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { type LogRecord, type TopicPartition, tpKey } from '../types.ts';
import { toAppError } from './errors.ts';
import {
  type FetchedPartition,
  type FetchPartitionRequest,
  fetchByName,
  fetchVersion,
  sendFetch,
} from './fetch-response.ts';
import { decodeBatches } from './record-batch.ts';
import { getMetadata, within } from './wire.ts';

/** Fetch sizes and the prefetch watermark (Java's `fetch.max.bytes`, `max.partition.fetch.bytes`, `fetch.max.wait.ms`). */
export interface FetchSettings {
  /** Most bytes one Fetch response carries (per leader). Default 16 MiB. */
  readonly maxBytes: number;
  /** Most bytes per partition in one response. Default 1 MiB. */
  readonly partitionMaxBytes: number;
  /** Longest broker-side wait of a Fetch for data, ms. Default 500. */
  readonly maxWaitMs: number;
  /** Prefetch only while the consumer buffers fewer record bytes than this. Default 32 MiB. */
  readonly bufferBytes: number;
}

export const DEFAULT_FETCH_SETTINGS: FetchSettings = {
  maxBytes: 16 * 1024 * 1024,
  partitionMaxBytes: 1024 * 1024,
  maxWaitMs: 500,
  bufferBytes: 32 * 1024 * 1024,
};

/** Bytes a buffered record counts for: its key and value bytes, plus this for the object. */
const RECORD_OVERHEAD_BYTES = 64;

export interface PartitionState {
  readonly tp: TopicPartition;
  /** Next offset to fetch; undefined until resolved from the committed offset or the reset policy. */
  fetchPosition: number | undefined;
  paused: boolean;
  /** Fetched records not yet returned by `poll`, in offset order, from index `head` on. */
  buffer: LogRecord[];
  head: number;
  /**
   * Bytes of buffer[head..] (keys, values and RECORD_OVERHEAD_BYTES each); `drain` takes off the
   * records' average share, so that it need not look at each record.
   */
  bytes: number;
  /** Moves on every seek or reset: a response to an older request is dropped. */
  generation: number;
}

export const emptyState = (tp: TopicPartition): PartitionState => ({
  tp,
  fetchPosition: undefined,
  paused: false,
  buffer: [],
  head: 0,
  bytes: 0,
  generation: 0,
});

export interface FetcherOptions {
  readonly client: LibConsumer;
  readonly settings: FetchSettings;
  readonly readCommitted: boolean;
  readonly groupId: string;
  /** The consumer's current partition states (replaced on reassignment). */
  readonly partitions: () => ReadonlyMap<string, PartitionState>;
  /** OFFSET_OUT_OF_RANGE: the new fetch position by the reset policy. */
  readonly resetPosition: (tp: TopicPartition) => Promise<number | undefined>;
  readonly closed: () => boolean;
}

export class Fetcher {
  readonly #o: FetcherOptions;
  /** The request in flight per leader node. */
  readonly #inFlight = new Map<number, Promise<void>>();
  #error: unknown;
  #rr = 0;
  #starting: Promise<void> | undefined;

  constructor(options: FetcherOptions) {
    this.#o = options;
  }

  /** Set a partition's position and drop what was buffered or is in flight for it. */
  static seek(s: PartitionState, offset: number | undefined): void {
    s.fetchPosition = offset;
    s.buffer = [];
    s.head = 0;
    s.bytes = 0;
    s.generation++;
  }

  /** The first error of a background fetch since the last call. */
  takeError(): unknown {
    const err = this.#error;
    this.#error = undefined;
    return err;
  }

  get inFlight(): boolean {
    return this.#inFlight.size > 0;
  }

  #buffered(): number {
    let bytes = 0;
    for (const s of this.#o.partitions().values()) bytes += s.bytes;
    return bytes;
  }

  /** Take up to `max` buffered records of unpaused partitions, round-robin over partitions. */
  drain(max: number): LogRecord[] {
    const states = [...this.#o.partitions().values()];
    let out: LogRecord[] = [];
    const n = states.length;
    for (let k = 0; k < n && out.length < max; k++) {
      const s = states[(this.#rr + k) % n] as PartitionState;
      if (s.paused || s.head >= s.buffer.length) continue;
      const left = s.buffer.length - s.head;
      const take = Math.min(left, max - out.length);
      if (take === left && out.length === 0 && s.head === 0)
        out = s.buffer; // all of it: no copy
      else for (let i = s.head; i < s.head + take; i++) out.push(s.buffer[i] as LogRecord);
      if (take === left) {
        s.buffer = [];
        s.head = 0;
        s.bytes = 0;
      } else {
        s.bytes -= Math.round((s.bytes * take) / left);
        s.head += take;
      }
    }
    this.#rr = n === 0 ? 0 : (this.#rr + 1) % n;
    return out;
  }

  /** Whether any partition could be fetched (unpaused, position known). */
  hasFetchable(): boolean {
    for (const s of this.#o.partitions().values())
      if (!s.paused && s.fetchPosition !== undefined) return true;
    return false;
  }

  /**
   * Start a Fetch (of every unpaused partition it leads) for every leader without one in flight,
   * when the consumer buffers less than the watermark. Returns without waiting for the answers.
   */
  prefetch(): void {
    if (this.#o.closed() || this.#buffered() >= this.#o.settings.bufferBytes) return;
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
  }

  /** Prefetch, then wait (at most `ms`) until a request in flight answers. */
  async fill(ms: number): Promise<void> {
    this.prefetch();
    await within(this.#starting ?? Promise.resolve(), ms);
    if (this.#inFlight.size === 0) return;
    await within(Promise.race(this.#inFlight.values()), ms);
  }

  async #start(): Promise<void> {
    const states = [...this.#o.partitions().values()].filter(
      (s) => !s.paused && s.fetchPosition !== undefined,
    );
    if (states.length === 0) return;
    const topics = [...new Set(states.map((s) => s.tp.topic))];
    let md: Awaited<ReturnType<typeof getMetadata>>;
    let version: number;
    try {
      [md, version] = await Promise.all([getMetadata(this.#o.client, topics), fetchVersion(this.#o.client)]);
    } catch (err) {
      this.#error ??= toAppError(err, 'fetching metadata', { groupId: this.#o.groupId });
      return;
    }
    const byName = fetchByName(version);
    const byLeader = new Map<number, { topics: Map<string, FetchPartitionRequest[]>; sent: Sent[] }>();
    const names = new Map<string, string>();
    for (const s of states) {
      const topic = md.topics.get(s.tp.topic);
      const partition = topic?.partitions[s.tp.partition];
      if (topic === undefined || partition === undefined || s.fetchPosition === undefined) continue;
      if (partition.leader < 0) {
        this.#o.client.clearMetadata(); // a leader election is running: ask again next time
        continue;
      }
      if (this.#inFlight.has(partition.leader)) continue;
      const key = byName ? s.tp.topic : topic.id;
      names.set(key, s.tp.topic);
      let req = byLeader.get(partition.leader);
      if (req === undefined) byLeader.set(partition.leader, (req = { topics: new Map(), sent: [] }));
      let t = req.topics.get(key);
      if (t === undefined) req.topics.set(key, (t = []));
      t.push({
        partition: s.tp.partition,
        fetchOffset: s.fetchPosition,
        partitionMaxBytes: this.#o.settings.partitionMaxBytes,
      });
      req.sent.push({ state: s, generation: s.generation, offset: s.fetchPosition });
    }
    for (const [node, req] of byLeader) {
      const topicsOf = [...req.topics].map(([topic, partitions]) => ({ topic, partitions }));
      const running = this.#fetchFrom(node, version, topicsOf, req.sent, names).finally(() =>
        this.#inFlight.delete(node),
      );
      this.#inFlight.set(node, running);
    }
  }

  async #fetchFrom(
    node: number,
    version: number,
    topics: { topic: string; partitions: FetchPartitionRequest[] }[],
    sent: readonly Sent[],
    names: ReadonlyMap<string, string>,
  ): Promise<void> {
    let response: Awaited<ReturnType<typeof sendFetch>>;
    try {
      response = await sendFetch(this.#o.client, node, version, {
        topics,
        maxWaitMs: this.#o.settings.maxWaitMs,
        minBytes: 1,
        maxBytes: this.#o.settings.maxBytes,
        readCommitted: this.#o.readCommitted,
      });
    } catch (err) {
      if (this.#o.closed()) return;
      this.#o.client.clearMetadata();
      this.#error ??= toAppError(err, 'fetching records', { groupId: this.#o.groupId });
      return;
    }
    const bySent = new Map(sent.map((x) => [tpKey(x.state.tp), x]));
    for (const t of response.topics) {
      const topic = names.get(t.topic) ?? t.topic;
      for (const p of t.partitions) {
        const x = bySent.get(tpKey({ topic, partition: p.partitionIndex }));
        if (x !== undefined) await this.#absorb(x, p);
      }
    }
  }

  /** Put one partition's fetched records into its buffer and move its fetch position. */
  async #absorb(x: Sent, p: FetchedPartition): Promise<void> {
    const { state } = x;
    const current = () =>
      !this.#o.closed() &&
      this.#o.partitions().get(tpKey(state.tp)) === state &&
      state.generation === x.generation &&
      state.fetchPosition === x.offset;
    if (!current()) return;
    if (p.errorCode === OFFSET_OUT_OF_RANGE) {
      // The position is before the log start (retention) or past the end.
      const offset = await this.#o.resetPosition(state.tp);
      if (current()) Fetcher.seek(state, offset);
      return;
    }
    if (p.errorCode !== 0) {
      this.#o.client.clearMetadata();
      return; // leadership moved, or the like: the next fetch retries with fresh metadata
    }
    const before = state.buffer.length;
    const { next, bytes, error } = decodeBatches(
      state.tp.topic,
      p,
      x.offset,
      this.#o.readCommitted,
      state.buffer,
    );
    state.bytes += bytes + RECORD_OVERHEAD_BYTES * (state.buffer.length - before);
    if (next > x.offset) state.fetchPosition = next;
    if (error !== undefined) this.#error ??= error;
  }
}

const OFFSET_OUT_OF_RANGE = 1;

interface Sent {
  readonly state: PartitionState;
  readonly generation: number;
  readonly offset: number;
}

/** A retriable fetch error is the cluster's problem for a moment, not the caller's. */
export function isRetriableFetchError(err: unknown): boolean {
  return err instanceof AppError && err.retriable && err.code !== ErrorCode.LOG_CLOSED;
}

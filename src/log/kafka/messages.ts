/**
 * Port records → the library's produce messages, and back to record metadata; produce requests split
 * by bytes; and `SendBatcher`, which sends the port sends in call order, those of one tick together.
 *
 * Partitioning is ours, not the library's: its default partitioner takes murmur2 as an unsigned
 * number (`hash >>> 0`) where Kafka's Java client masks the sign bit (`hash & 0x7fffffff`), so keys
 * whose hash is negative would land elsewhere. Every message gets an explicit partition here:
 * `partitionForKey` for keys, round-robin per topic for null keys.
 */
import type { Producer as LibProducer } from '@platformatic/kafka';
import type { Clock } from '../../clock/index.ts';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { retry } from '../../retry/index.ts';
import { partitionForKey } from '../partitioner.ts';
import type { ProducerRecord, RecordMetadata } from '../types.ts';
import { kafkaRetry, MAX_BLOCK_MS } from './coordinator.ts';
import { isUnknownTopicError, toAppError } from './errors.ts';
import { getMetadata, sleep } from './wire.ts';

/**
 * Record bytes (keys, values, headers, plus per-record overhead) per produce request at most: below
 * the broker's default `message.max.bytes` (1 MiB per batch), so no batch is refused as too large.
 */
export const MAX_REQUEST_BYTES = 768 * 1024;
const RECORD_OVERHEAD_BYTES = 24;
/** How long (ms) a topic just created may be unknown to the broker answering metadata (seconds on a loaded broker: 2 s was seen to fail a DLQ write). */
const NEW_TOPIC_GRACE_MS = 10_000;

export interface Message {
  topic: string;
  partition: number;
  key: Buffer | undefined;
  value: Buffer | undefined;
  headers: Map<Buffer, Buffer>;
  timestamp: bigint;
}

const toBuffer = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

/**
 * The topic's partition count (undefined: no such topic). A topic created a moment ago may be
 * unknown briefly: asked again for NEW_TOPIC_GRACE_MS; network errors are retried for MAX_BLOCK_MS.
 */
async function partitionCountOf(client: LibProducer, topic: string): Promise<number | undefined> {
  const deadline = performance.now() + NEW_TOPIC_GRACE_MS;
  const lookUp = (forceUpdate: boolean) =>
    retry(async () => {
      try {
        const md = await getMetadata(client, [topic], { retries: 0, forceUpdate });
        return md.topics.get(topic)?.partitionsCount;
      } catch (err) {
        if (isUnknownTopicError(err)) return undefined;
        throw toAppError(err, `looking up topic ${topic}`, { topic });
      }
    }, kafkaRetry(MAX_BLOCK_MS));
  for (let delay = 100; ; delay *= 2) {
    const n = await lookUp(delay > 100);
    if (n !== undefined) return n;
    if (performance.now() + delay > deadline) return undefined;
    await sleep(delay);
  }
}

/** Split messages into requests of at most MAX_REQUEST_BYTES (at least one message each). */
export function chunkByBytes<
  M extends { key: Buffer | undefined; value: Buffer | undefined; headers: Map<Buffer, Buffer> },
>(messages: readonly M[], maxBytes = MAX_REQUEST_BYTES): M[][] {
  const chunks: M[][] = [];
  let current: M[] = [];
  let bytes = 0;
  for (const m of messages) {
    let size = RECORD_OVERHEAD_BYTES + (m.key?.length ?? 0) + (m.value?.length ?? 0);
    for (const [k, v] of m.headers) size += k.length + v.length + 8;
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Turn port records into library messages, each with its partition decided here. */
export async function toMessages(
  client: LibProducer,
  topic: string,
  records: readonly ProducerRecord[],
  clock: Clock,
  roundRobin: Map<string, number>,
): Promise<Message[]> {
  const n = await partitionCountOf(client, topic);
  if (n === undefined) {
    throw new AppError(ErrorCode.LOG_UNKNOWN_TOPIC, `unknown topic ${topic}`, { context: { topic } });
  }
  return records.map((r) => {
    const key = r.key === undefined || r.key === null ? undefined : toBuffer(r.key);
    let partition: number;
    if (r.partition !== undefined) {
      if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= n) {
        throw new AppError(
          ErrorCode.LOG_UNKNOWN_PARTITION,
          `topic ${topic} has no partition ${r.partition}`,
          {
            context: { topic, partition: r.partition, partitions: n },
          },
        );
      }
      partition = r.partition;
    } else if (key !== undefined) {
      partition = partitionForKey(key, n);
    } else {
      const next = roundRobin.get(topic) ?? 0;
      roundRobin.set(topic, next + 1);
      partition = next % n;
    }
    // Distinct Buffer objects as Map keys: repeated header names survive, in order.
    const headers = new Map<Buffer, Buffer>();
    for (const [name, value] of r.headers ?? []) headers.set(Buffer.from(name, 'utf8'), toBuffer(value));
    return {
      topic,
      partition,
      key,
      value: r.value === null ? undefined : toBuffer(r.value),
      headers,
      timestamp: BigInt(r.timestamp ?? clock.now()),
    };
  });
}

/**
 * Offsets of the messages of one produce request: each partition's records take consecutive offsets
 * from the base offset the broker acknowledged for it.
 */
export function metadataOf(
  messages: readonly Message[],
  offsets: readonly { topic: string; partition: number; offset: bigint }[] | undefined,
): RecordMetadata[] {
  const base = new Map<string, number>();
  for (const o of offsets ?? []) base.set(`${o.topic}\u0000${o.partition}`, Number(o.offset));
  const seen = new Map<string, number>();
  return messages.map((m) => {
    const key = `${m.topic}\u0000${m.partition}`;
    const b = base.get(key);
    if (b === undefined) {
      throw new AppError(ErrorCode.LOG_IO, `the broker did not acknowledge ${m.topic}:${m.partition}`, {
        retriable: true,
        context: { topic: m.topic, partition: m.partition },
      });
    }
    const i = seen.get(key) ?? 0;
    seen.set(key, i + 1);
    return { topic: m.topic, partition: m.partition, offset: b + i, timestamp: Number(m.timestamp) };
  });
}

interface Pending {
  /** Undefined until the send's messages are prepared (its partitions looked up). */
  messages: readonly Message[] | undefined;
  readonly resolve: (metadata: RecordMetadata[]) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Sends go out in the order they were called, as Kafka's producer sends a partition's records in
 * the order of `send`: a send takes its place when called, even while its messages are still being
 * prepared (the partition look-up is asynchronous, and a look-up retried after a network error can
 * finish after a later send's), and batches are flushed one at a time. Without that, the chunks of
 * one commit (the streams runtime sends a topic's records in several concurrent sends) could reach
 * the log out of order: a later chunk's records before an earlier one's, in the same transaction.
 *
 * Sends whose messages are ready in one tick go out together (Kafka's `linger.ms` without the
 * wait): a caller sending to several topics at once (`Promise.all` of `send`s, as the streams
 * runtime's commit does) costs one AddPartitionsToTxn and one produce request per
 * MAX_REQUEST_BYTES instead of one of each per send. `flush` sends one batch and returns the
 * metadata of its messages in order; a failed batch fails every send in it, and a send whose
 * preparation failed fails alone.
 */
export class SendBatcher {
  readonly #flush: (messages: readonly Message[]) => Promise<RecordMetadata[]>;
  /** Sends not flushed yet, in call order. */
  #pending: Pending[] = [];
  #scheduled = false;
  /** The flushes, chained: one batch at a time, in order. */
  #flushing: Promise<void> = Promise.resolve();

  constructor(flush: (messages: readonly Message[]) => Promise<RecordMetadata[]>) {
    this.#flush = flush;
  }

  /** Send `messages` (or the messages `messages` resolves to) after every send called before. */
  send(messages: readonly Message[] | Promise<readonly Message[]>): Promise<RecordMetadata[]> {
    return new Promise((resolve, reject) => {
      const pending: Pending = { messages: undefined, resolve, reject };
      this.#pending.push(pending);
      Promise.resolve(messages).then(
        (prepared) => {
          pending.messages = prepared;
          this.#schedule();
        },
        (err: unknown) => {
          const at = this.#pending.indexOf(pending);
          if (at >= 0) this.#pending.splice(at, 1);
          reject(err);
          this.#schedule(); // the sends behind it may be ready
        },
      );
    });
  }

  /** Fail the sends not flushed yet (the transaction they belong to ended). */
  discard(err: unknown): void {
    const pending = this.#pending;
    this.#pending = [];
    for (const p of pending) p.reject(err);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate: after the microtasks and the metadata look-ups answered from the cache, so
    // every send of the caller's tick is in.
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushing = this.#flushing.then(() => this.#run());
    });
  }

  /** Flush the ready sends at the head of the queue (a send still being prepared holds back the rest). */
  async #run(): Promise<void> {
    const batch: Pending[] = [];
    while (this.#pending.length > 0 && (this.#pending[0] as Pending).messages !== undefined) {
      batch.push(this.#pending.shift() as Pending);
    }
    if (batch.length === 0) return;
    const all: Message[] = [];
    for (const p of batch) for (const m of p.messages as readonly Message[]) all.push(m);
    let metadata: RecordMetadata[];
    try {
      metadata = await this.#flush(all);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    let at = 0;
    for (const p of batch) {
      const n = (p.messages as readonly Message[]).length;
      p.resolve(metadata.slice(at, at + n));
      at += n;
    }
  }
}

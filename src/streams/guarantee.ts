/**
 * How the streams runtime makes a commit durable: its processing guarantee (Kafka Streams'
 * `processing.guarantee`).
 *
 * - `exactly_once` (default): one transaction of the instance's transactional producer carries the
 *   outputs, changelog records and input offsets (`sendOffsets` with the consumer's group metadata);
 *   a crash before the commit point leaves nothing visible, after it everything.
 * - `at_least_once`: no transaction. The outputs and changelog records are sent with a plain
 *   (idempotent) producer and awaited until acknowledged, then the input offsets are committed by the
 *   consumer (OffsetCommit, checked against the member's generation). A crash between the two, or a
 *   failed offset commit, makes the next owner process those inputs again: after a crash outputs may
 *   repeat and restored state may count the repeated records twice; without one, outputs are
 *   exactly those of an exactly-once run. It saves the transaction's round trips (AddPartitionsToTxn,
 *   AddOffsetsToTxn, EndTxn, the markers) on every commit.
 *
 * Both write `records` in SEND_CHUNK pieces, all topics concurrently.
 */
import { AppError, ErrorCode, isAppError } from '../errors/index.ts';
import type {
  Consumer,
  Log,
  Producer,
  ProducerRecord,
  TopicPartitionOffset,
  TransactionalProducer,
} from '../log/index.ts';

export const ProcessingGuarantee = {
  EXACTLY_ONCE: 'exactly_once',
  AT_LEAST_ONCE: 'at_least_once',
} as const;
export type ProcessingGuarantee = (typeof ProcessingGuarantee)[keyof typeof ProcessingGuarantee];

/** Records per `send` call: keeps the log's batches small (at most ~2 000 records per partition). */
const SEND_CHUNK = 2_000;

export interface Committer {
  readonly guarantee: ProcessingGuarantee;
  /**
   * Make `records` (per topic) and the consumer's `offsets` durable; when it throws, the offsets were
   * not committed (exactly-once: nothing is visible; at-least-once: some records may be).
   */
  commit(
    records: ReadonlyMap<string, ProducerRecord[]>,
    offsets: readonly TopicPartitionOffset[],
  ): Promise<void>;
  /**
   * After a failed commit: leave the committer ready for the next one. Throws `cause` when this
   * instance cannot go on (its transactional producer was fenced by another process with its id).
   */
  recover(cause: unknown): Promise<void>;
  close(): Promise<void>;
}

/** The committer for `guarantee`, writing through `log` for the group of `consumer`. */
export async function openCommitter(
  guarantee: ProcessingGuarantee,
  log: Log,
  consumer: Consumer,
  transactionalId: string,
): Promise<Committer> {
  if (guarantee === ProcessingGuarantee.EXACTLY_ONCE) {
    return new TransactionalCommitter(await log.transactionalProducer(transactionalId), consumer);
  }
  if (guarantee === ProcessingGuarantee.AT_LEAST_ONCE)
    return new AtLeastOnceCommitter(log.producer(), consumer);
  throw new AppError(
    ErrorCode.CONFIG_INVALID,
    `processingGuarantee must be ${Object.values(ProcessingGuarantee).join(' or ')}, got ${String(guarantee)}`,
    { context: { key: 'processingGuarantee' } },
  );
}

function sendAll(
  producer: Producer | TransactionalProducer,
  records: ReadonlyMap<string, ProducerRecord[]>,
): Promise<unknown> {
  const sends: Promise<unknown>[] = [];
  for (const [topic, list] of records) {
    for (let i = 0; i < list.length; i += SEND_CHUNK)
      sends.push(producer.send(topic, list.slice(i, i + SEND_CHUNK)));
  }
  return Promise.all(sends);
}

class TransactionalCommitter implements Committer {
  readonly guarantee = ProcessingGuarantee.EXACTLY_ONCE;
  readonly #producer: TransactionalProducer;
  readonly #consumer: Consumer;

  constructor(producer: TransactionalProducer, consumer: Consumer) {
    this.#producer = producer;
    this.#consumer = consumer;
  }

  async commit(
    records: ReadonlyMap<string, ProducerRecord[]>,
    offsets: readonly TopicPartitionOffset[],
  ): Promise<void> {
    const producer = this.#producer;
    producer.begin();
    try {
      // The offsets go to the coordinators while the records are produced (no order between them
      // inside a transaction): the commit waits for the slower of the two, not for their sum.
      await Promise.all([
        sendAll(producer, records),
        offsets.length > 0 ? producer.sendOffsets(this.#consumer.groupMetadata(), offsets) : undefined,
      ]);
      await producer.commit();
    } catch (err) {
      await producer.abort().catch(() => {});
      throw err;
    }
  }

  /** The failed commit was aborted; a producer fenced meanwhile (another process took the id) fails. */
  async recover(cause: unknown): Promise<void> {
    try {
      this.#producer.begin();
      await this.#producer.abort();
    } catch (e) {
      if (isAppError(e, ErrorCode.LOG_FENCED) || isAppError(e, ErrorCode.LOG_CLOSED)) throw cause;
    }
  }

  close(): Promise<void> {
    return this.#producer.close();
  }
}

class AtLeastOnceCommitter implements Committer {
  readonly guarantee = ProcessingGuarantee.AT_LEAST_ONCE;
  readonly #producer: Producer;
  readonly #consumer: Consumer;
  #closed = false;

  constructor(producer: Producer, consumer: Consumer) {
    this.#producer = producer;
    this.#consumer = consumer;
  }

  async commit(
    records: ReadonlyMap<string, ProducerRecord[]>,
    offsets: readonly TopicPartitionOffset[],
  ): Promise<void> {
    // Offsets only after every output is acknowledged: a failure before leaves them uncommitted.
    await sendAll(this.#producer, records);
    if (offsets.length > 0) await this.#consumer.commit(offsets);
  }

  /** Nothing to abort; a closed committer cannot go on. */
  async recover(cause: unknown): Promise<void> {
    if (this.#closed) throw cause;
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#producer.close();
  }
}

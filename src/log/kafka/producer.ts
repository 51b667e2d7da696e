/**
 * Producers of the `Log` port on Apache Kafka, over `@platformatic/kafka`'s `Producer`.
 *
 * - Partitioning is ours (./messages.ts): Kafka's Java client's for keys, round-robin per topic for
 *   null keys (the Java client's sticky partitioner is not round-robin; the port asks for round-robin).
 * - Both producers are idempotent with acks=all. Retriable produce errors (NOT_ENOUGH_REPLICAS while
 *   a broker starts, leader moves, network) are retried by the library with the same sequence
 *   numbers, paced by the one retry policy, for about DELIVERY_TIMEOUT_MS (Java's
 *   `delivery.timeout.ms`).
 * - A send is split into requests of at most MAX_REQUEST_BYTES of records (below the broker's
 *   default `message.max.bytes` of 1 MiB per batch), sent in order: a large commit never fails with
 *   MESSAGE_TOO_LARGE. Sends reach the log in the order they were called, concurrent ones too (a
 *   partition's records in `send` order, as Kafka's producer keeps them), and the sends made in one
 *   tick go out together (`SendBatcher`): a commit writing to several topics costs one
 *   AddPartitionsToTxn and one produce request, not one per topic.
 * - The transactional producer fences at open (InitProducerId with the transactional id, which also
 *   aborts the fenced producer's open transaction), adds offsets with AddOffsetsToTxn (retried while
 *   the coordinator answers CONCURRENT_TRANSACTIONS, as it does right after an abort) and
 *   TxnOffsetCommit carrying the group's generation and member id (so a zombie group member's
 *   offsets are refused), and once fenced answers every call with LOG_FENCED.
 * - `abort()` and `commit()` leave the producer usable whatever the broker answered: after an abort
 *   the producer id is re-initialised (a new epoch: sequence numbers a refused batch used are not
 *   reused, and an abort the broker refused or never got is completed by the coordinator);
 *   `commit()` never fails after its commit point. A fencing error fences the producer only when it
 *   answers a call of the open transaction.
 */

import { type CompressionAlgorithmValue, Producer as LibProducer, ProduceAcks } from '@platformatic/kafka';
import type { Clock } from '../../clock/index.ts';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { retry } from '../../retry/index.ts';
import type {
  ConsumerGroupMetadata,
  Producer,
  ProducerRecord,
  RecordMetadata,
  TopicPartitionOffset,
  TransactionalProducer,
} from '../types.ts';
import { Coordinators, DELIVERY_TIMEOUT_MS, kafkaRetry, MAX_BLOCK_MS } from './coordinator.ts';
import { edge, isFencingError, toAppError } from './errors.ts';
import { offsetFetchGroups, offsetTopics } from './group-offsets.ts';
import { chunkByBytes, type Message, metadataOf, SendBatcher, toMessages } from './messages.ts';
import { clientOptions, type KafkaClientSettings, libraryRetries } from './settings.ts';
import { getMetadata, within } from './wire.ts';

/** How long (ms) close() waits for sends in flight. */
const CLOSE_DRAIN_MS = 30_000;
/** How long (ms) commit() waits for the transaction's offsets to become stable. */
const STABLE_OFFSETS_TIMEOUT_MS = 10_000;

type LibTransaction = Awaited<ReturnType<LibProducer['beginTransaction']>>;

const EMPTY = Buffer.alloc(0);

function libProducer(settings: KafkaClientSettings, transactionalId?: string): LibProducer {
  return new LibProducer({
    ...clientOptions(settings, `${settings.clientId}-${transactionalId === undefined ? 'producer' : 'txn'}`),
    idempotent: true,
    acks: ProduceAcks.ALL,
    timeout: 30_000,
    ...libraryRetries(DELIVERY_TIMEOUT_MS),
    ...(settings.compression === undefined || settings.compression === 'none'
      ? {}
      : { compression: settings.compression as CompressionAlgorithmValue }),
    ...(transactionalId === undefined ? {} : { transactionalId }),
  });
}

const topicsOf = (messages: readonly Message[]): string => {
  const topics = new Set<string>();
  for (const m of messages) topics.add(m.topic);
  return [...topics].join(', ');
};

export class KafkaProducer implements Producer {
  readonly #client: LibProducer;
  readonly #clock: Clock;
  readonly #roundRobin = new Map<string, number>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #batcher = new SendBatcher((messages) => this.#produce(messages));
  #closed = false;

  constructor(settings: KafkaClientSettings, clock: Clock) {
    this.#client = libProducer(settings);
    this.#clock = clock;
  }

  async send(topic: string, records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.#closed)
      throw new AppError(ErrorCode.LOG_CLOSED, 'the producer is closed', { context: { topic } });
    if (records.length === 0) return [];
    // In call order: the batcher holds this send's place while its partitions are looked up.
    const sending = this.#batcher.send(
      toMessages(this.#client, topic, records, this.#clock, this.#roundRobin),
    );
    this.#inFlight.add(sending);
    try {
      return await sending;
    } finally {
      this.#inFlight.delete(sending);
    }
  }

  async #produce(messages: readonly Message[]): Promise<RecordMetadata[]> {
    const topics = topicsOf(messages);
    const out: RecordMetadata[] = [];
    for (const chunk of chunkByBytes(messages)) {
      const result = await edge(`producing to ${topics}`, { topic: topics }, () =>
        this.#client.send({ messages: chunk }),
      );
      for (const m of metadataOf(chunk, result.offsets)) out.push(m);
    }
    return out;
  }

  /** Stop accepting sends, wait (bounded) for the ones in flight to be acknowledged, then disconnect. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await within(Promise.allSettled([...this.#inFlight]), CLOSE_DRAIN_MS);
    await this.#client.close(true).catch(() => {});
  }
}

export class KafkaTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string;
  readonly #client: LibProducer;
  readonly #clock: Clock;
  readonly #roundRobin = new Map<string, number>();
  readonly #closing = new AbortController();
  readonly #groups: Coordinators;
  readonly #txnCoordinators: Coordinators;
  /** 'open' once begin() was called; the broker-side transaction starts with the first write. */
  #state: 'ready' | 'open' | 'fenced' | 'closed' = 'ready';
  #tx: Promise<LibTransaction> | undefined;
  /** An abort failed: the producer id is re-initialised before the next transaction. */
  #reinit = false;
  /** The AddPartitionsToTxn calls of this producer, chained. */
  #adding: Promise<void> = Promise.resolve();
  /** Offsets added in the open transaction, per group. */
  #txnOffsets = new Map<string, TopicPartitionOffset[]>();
  /** The open transaction's sends, batched per tick (a new batcher per transaction). */
  #batcher = new SendBatcher((messages) => this.#produce(messages, this.#generation));
  /**
   * Moves when a transaction begins and when it ends: a call still in flight from a transaction that
   * already ended (a send left running when another failed, answered late) cannot fence the producer.
   */
  #generation = 0;
  /** Aborted when the open transaction ends: its calls still retrying stop. */
  #txnEnded = new AbortController();

  private constructor(settings: KafkaClientSettings, transactionalId: string, clock: Clock) {
    this.transactionalId = transactionalId;
    this.#client = libProducer(settings, transactionalId);
    this.#clock = clock;
    this.#groups = new Coordinators(this.#client, 'group', this.#closing.signal);
    this.#txnCoordinators = new Coordinators(this.#client, 'transaction', this.#closing.signal);
  }

  /** Open, and fence any earlier producer with this id (its open transaction is aborted). */
  static async open(
    settings: KafkaClientSettings,
    transactionalId: string,
    clock: Clock,
  ): Promise<KafkaTransactionalProducer> {
    if (typeof transactionalId !== 'string' || transactionalId.length === 0) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'transactionalId must be a non-empty string');
    }
    const p = new KafkaTransactionalProducer(settings, transactionalId, clock);
    try {
      // beginTransaction runs InitProducerId for the transactional id (bumping its epoch: that is
      // the fencing); nothing is started on the broker until a partition or offsets are added, so
      // the local transaction is simply dropped.
      // producerId/epoch -1: a new producer (the library's default of 0/0 claims to be producer 0
      // and would itself be answered PRODUCER_FENCED once the id has a history).
      const tx = await p.#client.beginTransaction({ producerId: -1n, producerEpoch: -1 });
      await tx.cancel();
    } catch (err) {
      await p.#client.close(true).catch(() => {});
      throw toAppError(err, `initialising transactional producer ${transactionalId}`, { transactionalId });
    }
    return p;
  }

  begin(): void {
    this.#assertUsable();
    if (this.#state === 'open') {
      throw new AppError(ErrorCode.LOG_TXN_STATE, 'a transaction is already open', {
        context: { transactionalId: this.transactionalId },
      });
    }
    this.#state = 'open';
    this.#generation++;
    this.#txnEnded = new AbortController();
    this.#tx = undefined;
    this.#txnOffsets = new Map();
    const generation = this.#generation;
    this.#batcher = new SendBatcher((messages) => this.#produce(messages, generation));
  }

  async send(topic: string, records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    this.#assertOpenTxn('send');
    if (records.length === 0) return [];
    const generation = this.#generation;
    // In call order (the batcher holds this send's place while its partitions are looked up): the
    // chunks of one commit reach the log in the order they were sent.
    const messages = toMessages(this.#client, topic, records, this.#clock, this.#roundRobin).then((m) => {
      this.#assertStillOpen(generation, 'send');
      return m;
    });
    return this.#batcher.send(messages);
  }

  /** One batch of the open transaction's sends: its partitions added, then produced. */
  #produce(messages: readonly Message[], generation: number): Promise<RecordMetadata[]> {
    const topics = topicsOf(messages);
    return this.#guard(`producing to ${topics} in a transaction`, { topic: topics }, async () => {
      // A send that ended up here after its transaction ended must not start the next one.
      this.#assertStillOpen(generation, 'send');
      const tx = await this.#transaction();
      // Every call on the library's transaction is made only while it is still this send's open
      // transaction: the library sends a record batch given after its transaction ended as a plain
      // idempotent write (it drops the transactional producer id and takes a new one), which would
      // put an aborted transaction's records outside any transaction, visible to every reader.
      const stillOpen = (): void => {
        if (!this.#isOpen(generation) || this.#client.transaction !== tx || tx.completed)
          throw this.#ended('send');
      };
      // AddPartitionsToTxn one call at a time: the library deduplicates concurrent calls into the
      // first one in flight, so the partitions of a concurrent batch would never be added (the broker
      // then refuses their records with TRANSACTION_ABORTABLE). Its own call inside send() then
      // finds nothing left to add; the produce requests themselves may run concurrently.
      const adding = this.#adding.then(async () => {
        const md = await getMetadata(this.#client, [...new Set(messages.map((m) => m.topic))]);
        const partitions = messages.map((m) => ({ topic: m.topic, partition: m.partition, value: EMPTY }));
        stillOpen();
        await tx.addPartitions(md, partitions);
      });
      this.#adding = adding.catch(() => {});
      await adding;
      const out: RecordMetadata[] = [];
      for (const chunk of chunkByBytes(messages)) {
        stillOpen();
        const result = await tx.send({ messages: chunk });
        for (const m of metadataOf(chunk, result.offsets)) out.push(m);
      }
      return out;
    });
  }

  async sendOffsets(
    group: ConsumerGroupMetadata | string,
    offsets: readonly TopicPartitionOffset[],
  ): Promise<void> {
    this.#assertOpenTxn('sendOffsets');
    const meta: ConsumerGroupMetadata =
      typeof group === 'string' ? { groupId: group, generationId: -1, memberId: '' } : group;
    if (offsets.length === 0) return;
    const topics = offsetTopics(offsets);
    const context = { transactionalId: this.transactionalId, groupId: meta.groupId };
    const generation = this.#generation;
    // Retries stop when the transaction ends: a late AddOffsetsToTxn would start a coordinator-side
    // transaction of its own, and a late TxnOffsetCommit would put this one's offsets in the next.
    const policy = kafkaRetry(MAX_BLOCK_MS, AbortSignal.any([this.#closing.signal, this.#txnEnded.signal]));
    await this.#guard('adding offsets to the transaction', { groupId: meta.groupId }, async () => {
      await this.#transaction();
      this.#assertStillOpen(generation, 'sendOffsets');
      const producerId = this.#client.producerId as bigint;
      const producerEpoch = this.#client.producerEpoch as number;
      // AddOffsetsToTxn: the transaction coordinator adds the group's offsets partition to the
      // transaction (CONCURRENT_TRANSACTIONS while the previous transaction's markers are written:
      // retried); TxnOffsetCommit: the group coordinator holds the offsets pending until EndTxn, and
      // refuses them (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) from a member that is no longer in the group.
      await this.#txnCoordinators.call(
        this.transactionalId,
        'adding offsets to the transaction',
        context,
        'AddOffsetsToTxn',
        [this.transactionalId, producerId, producerEpoch, meta.groupId],
        policy,
      );
      this.#assertStillOpen(generation, 'sendOffsets');
      this.#txnOffsets.set(meta.groupId, [...(this.#txnOffsets.get(meta.groupId) ?? []), ...offsets]);
      await this.#groups.call(
        meta.groupId,
        'committing offsets in the transaction',
        context,
        'TxnOffsetCommit',
        [
          this.transactionalId,
          meta.groupId,
          producerId,
          producerEpoch,
          meta.generationId,
          meta.memberId,
          meta.groupInstanceId ?? null,
          topics,
        ],
        policy,
      );
    });
  }

  /**
   * EndTxn(commit). A failure before the commit point leaves the transaction open (abort() it);
   * once EndTxn succeeded nothing fails: waiting for the offsets to be stable is best effort.
   */
  async commit(): Promise<void> {
    this.#assertOpenTxn('commit');
    const tx = this.#tx;
    if (tx !== undefined) {
      await this.#guard('committing the transaction', {}, async () => (await tx).commit());
    }
    const offsets = this.#txnOffsets;
    this.#state = 'ready';
    this.#generation++;
    this.#txnEnded.abort();
    this.#tx = undefined;
    this.#txnOffsets = new Map();
    this.#batcher.discard(this.#ended('send'));
    await this.#awaitStable(offsets).catch(() => {});
  }

  /**
   * EndTxn returns once the commit is decided; the group coordinator turns the transaction's pending
   * offsets into committed ones when the commit marker reaches it, a moment later. Wait for that
   * (OffsetFetch with requireStable answers UNSTABLE_OFFSET_COMMIT until then), so that once
   * `commit()` resolved every reader, not only read_committed consumers, sees the offsets.
   */
  async #awaitStable(offsets: ReadonlyMap<string, readonly TopicPartitionOffset[]>): Promise<void> {
    for (const [groupId, list] of offsets) {
      await this.#groups.call(
        groupId,
        `waiting for the committed offsets of group ${groupId}`,
        { transactionalId: this.transactionalId, groupId },
        'OffsetFetch',
        [offsetFetchGroups(groupId, list), true],
        {
          ...kafkaRetry(STABLE_OFFSETS_TIMEOUT_MS, this.#closing.signal),
          initialDelayMs: 10,
          maxDelayMs: 100,
        },
      );
    }
  }

  /**
   * EndTxn(abort). Whatever the broker answers the producer stays usable (unless fenced): the next
   * transaction first re-initialises the producer id (a new epoch), which also aborts whatever is
   * still open when the abort failed (nothing to abort, coordinator unreachable, a bad state).
   */
  async abort(): Promise<void> {
    this.#assertOpenTxn('abort');
    const tx = this.#tx;
    this.#state = 'ready';
    this.#generation++;
    this.#txnEnded.abort();
    this.#tx = undefined;
    this.#txnOffsets = new Map();
    this.#batcher.discard(this.#ended('send'));
    if (tx === undefined) return;
    // The next transaction starts on a new epoch (the library then numbers every partition's records
    // from 0 again), as Java's client does after an abortable error: a record batch of this one that
    // the broker refused, or that is still on its way, has used sequence numbers the broker never
    // appended, and every later send to its partition would be refused OUT_OF_ORDER_SEQUENCE_NUMBER.
    this.#reinit = true;
    try {
      await (await tx).abort();
    } catch (err) {
      if (isFencingError(err)) {
        this.#state = 'fenced';
        throw this.#fenced(err, {});
      }
      await this.#reinitialise().catch(() => {}); // else retried by the next transaction
    }
  }

  /** Drop the library's transaction and take a new epoch (the coordinator aborts what was open). */
  async #reinitialise(): Promise<void> {
    const stale = this.#client.transaction;
    if (stale !== undefined && !stale.completed) await stale.cancel();
    await retry(
      async () => {
        const tx = await this.#client.beginTransaction();
        try {
          await this.#client.initIdempotentProducer({
            producerId: this.#client.producerId ?? -1n,
            producerEpoch: this.#client.producerEpoch ?? -1,
          });
        } finally {
          await tx.cancel();
        }
      },
      kafkaRetry(MAX_BLOCK_MS, this.#closing.signal),
    ).catch((err: unknown) => {
      if (isFencingError(err)) {
        this.#state = 'fenced';
        throw this.#fenced(err, {});
      }
      throw toAppError(err, `re-initialising transactional producer ${this.transactionalId}`, {
        transactionalId: this.transactionalId,
      });
    });
    this.#reinit = false;
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const open = this.#state === 'open' && this.#tx !== undefined ? this.#tx : undefined;
    this.#state = 'closed';
    if (open !== undefined) await open.then((tx) => tx.abort()).catch(() => {});
    this.#closing.abort();
    await this.#client.close(true).catch(() => {});
  }

  /** The library transaction, started on first use inside an open transaction. */
  #transaction(): Promise<LibTransaction> {
    this.#tx ??= (async () => {
      if (this.#reinit) await this.#reinitialise();
      return this.#client.beginTransaction();
    })();
    return this.#tx;
  }

  /** Whether the transaction of `generation` is still the open one. */
  #isOpen(generation: number): boolean {
    return this.#state === 'open' && generation === this.#generation;
  }

  /** Throw (`op` after its transaction ended) unless the transaction of `generation` is still open. */
  #assertStillOpen(generation: number, op: string): void {
    if (!this.#isOpen(generation)) throw this.#ended(op);
  }

  #ended(op: string): AppError {
    return new AppError(ErrorCode.LOG_TXN_STATE, `${op}() after its transaction ended`, {
      context: { transactionalId: this.transactionalId },
    });
  }

  #fenced(cause: unknown, context: Record<string, string>): AppError {
    return new AppError(
      ErrorCode.LOG_FENCED,
      `transactional producer ${this.transactionalId} was fenced by a newer producer with the same id`,
      { context: { transactionalId: this.transactionalId, ...context }, cause },
    );
  }

  /**
   * Run one call of the open transaction. A fencing answer fences the producer only while that
   * transaction is still the open one: after our own abort or re-initialisation bumped the epoch,
   * the old transaction's late calls are answered with a fencing error that is about them, not us.
   */
  async #guard<T>(doing: string, context: Record<string, string>, fn: () => Promise<T>): Promise<T> {
    const generation = this.#generation;
    try {
      return await fn();
    } catch (err) {
      if (isFencingError(err) && this.#isOpen(generation)) {
        this.#state = 'fenced';
        throw this.#fenced(err, context);
      }
      throw toAppError(err, doing, { transactionalId: this.transactionalId, ...context });
    }
  }

  #assertUsable(): void {
    if (this.#state === 'closed') {
      throw new AppError(ErrorCode.LOG_CLOSED, 'the transactional producer is closed', {
        context: { transactionalId: this.transactionalId },
      });
    }
    if (this.#state === 'fenced') throw this.#fenced(undefined, {});
  }

  #assertOpenTxn(op: string): void {
    this.#assertUsable();
    if (this.#state !== 'open') {
      throw new AppError(ErrorCode.LOG_TXN_STATE, `${op}() needs an open transaction: call begin() first`, {
        context: { transactionalId: this.transactionalId },
      });
    }
  }
}

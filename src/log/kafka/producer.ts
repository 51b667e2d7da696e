/**
 * Producers of the `Log` port on Apache Kafka, over `@platformatic/kafka`'s `Producer`.
 *
 * - Partitioning is ours, not the library's: its default partitioner takes murmur2 as an unsigned
 *   number (`hash >>> 0`) where Kafka's Java client masks the sign bit (`hash & 0x7fffffff`), so keys
 *   whose hash is negative would land elsewhere. We pass every record with an explicit partition:
 *   `partitionForKey` for keys, round-robin per topic for null keys (the Java client's sticky
 *   partitioner is not round-robin; the port asks for round-robin).
 * - Both producers are idempotent with acks=all.
 * - The transactional producer fences at open (InitProducerId with the transactional id, which also
 *   aborts the fenced producer's open transaction), adds offsets with AddOffsetsToTxn +
 *   TxnOffsetCommit carrying the group's generation and member id (so a zombie group member's
 *   offsets are refused), and after any fencing error answers every call with LOG_FENCED.
 */

import { FindCoordinatorKeyTypes, Producer as LibProducer, ProduceAcks } from '@platformatic/kafka';
import type { Clock } from '../../clock/index.ts';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { partitionForKey } from '../partitioner.ts';
import type {
  ConsumerGroupMetadata,
  Producer,
  ProducerRecord,
  RecordMetadata,
  TopicPartitionOffset,
  TransactionalProducer,
} from '../types.ts';
import { type KafkaClientSettings, offsetTopics } from './consumer.ts';
import { edge, hasApiId, isFencingError, toAppError } from './errors.ts';
import { callApi, callBootstrap, getMetadata, sleep, within } from './wire.ts';

/** How long (ms) close() waits for sends in flight. */
const CLOSE_DRAIN_MS = 30_000;
/** How long (ms) commit() waits for the transaction's offsets to become stable. */
const STABLE_OFFSETS_TIMEOUT_MS = 10_000;

type LibTransaction = Awaited<ReturnType<LibProducer['beginTransaction']>>;

interface Message {
  topic: string;
  partition: number;
  key: Buffer | undefined;
  value: Buffer | undefined;
  headers: Map<Buffer, Buffer>;
  timestamp: bigint;
}

const EMPTY = Buffer.alloc(0);
const toBuffer = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

function libProducer(settings: KafkaClientSettings, transactionalId?: string): LibProducer {
  return new LibProducer({
    clientId: `${settings.clientId}-${transactionalId === undefined ? 'producer' : 'txn'}`,
    bootstrapBrokers: [...settings.brokers],
    idempotent: true,
    acks: ProduceAcks.ALL,
    timeout: 30_000,
    // InitProducerId answers CONCURRENT_TRANSACTIONS while it aborts a fenced producer's transaction.
    retries: 30,
    retryDelay: 100,
    ...(transactionalId === undefined ? {} : { transactionalId }),
  });
}

/** Turn port records into library messages, each with its partition decided here. */
async function toMessages(
  client: LibProducer,
  topic: string,
  records: readonly ProducerRecord[],
  clock: Clock,
  roundRobin: Map<string, number>,
): Promise<Message[]> {
  const md = await edge(`looking up topic ${topic}`, { topic }, () =>
    getMetadata(client, [topic], { retries: 0 }),
  );
  const n = md.topics.get(topic)?.partitionsCount;
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

/** Offsets of the sent messages: each partition's records take consecutive offsets from its base offset. */
function metadataOf(
  messages: readonly Message[],
  offsets: readonly { topic: string; partition: number; offset: bigint }[] | undefined,
): RecordMetadata[] {
  const base = new Map<number, number>();
  for (const o of offsets ?? []) base.set(o.partition, Number(o.offset));
  const seen = new Map<number, number>();
  return messages.map((m) => {
    const b = base.get(m.partition);
    if (b === undefined) {
      throw new AppError(ErrorCode.LOG_IO, `the broker did not acknowledge partition ${m.partition}`, {
        retriable: true,
        context: { topic: m.topic, partition: m.partition },
      });
    }
    const i = seen.get(m.partition) ?? 0;
    seen.set(m.partition, i + 1);
    return { topic: m.topic, partition: m.partition, offset: b + i, timestamp: Number(m.timestamp) };
  });
}

export class KafkaProducer implements Producer {
  readonly #client: LibProducer;
  readonly #clock: Clock;
  readonly #roundRobin = new Map<string, number>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(settings: KafkaClientSettings, clock: Clock) {
    this.#client = libProducer(settings);
    this.#clock = clock;
  }

  async send(topic: string, records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.#closed)
      throw new AppError(ErrorCode.LOG_CLOSED, 'the producer is closed', { context: { topic } });
    if (records.length === 0) return [];
    const sending = (async () => {
      const messages = await toMessages(this.#client, topic, records, this.#clock, this.#roundRobin);
      const result = await edge(`producing to ${topic}`, { topic }, () => this.#client.send({ messages }));
      return metadataOf(messages, result.offsets);
    })();
    this.#inFlight.add(sending);
    try {
      return await sending;
    } finally {
      this.#inFlight.delete(sending);
    }
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
  /** 'open' once begin() was called; the broker-side transaction starts with the first write. */
  #state: 'ready' | 'open' | 'fenced' | 'closed' = 'ready';
  #tx: Promise<LibTransaction> | undefined;
  #groupCoordinators = new Map<string, number>();
  /** The AddPartitionsToTxn calls of this producer, chained. */
  #adding: Promise<void> = Promise.resolve();
  /** Offsets added in the open transaction, per group. */
  #txnOffsets = new Map<string, TopicPartitionOffset[]>();

  private constructor(settings: KafkaClientSettings, transactionalId: string, clock: Clock) {
    this.transactionalId = transactionalId;
    this.#client = libProducer(settings, transactionalId);
    this.#clock = clock;
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
    this.#tx = undefined;
    this.#txnOffsets = new Map();
  }

  async send(topic: string, records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    this.#assertOpenTxn('send');
    if (records.length === 0) return [];
    const messages = await toMessages(this.#client, topic, records, this.#clock, this.#roundRobin);
    const result = await this.#guard(`producing to ${topic} in a transaction`, { topic }, async () => {
      const tx = await this.#transaction();
      // AddPartitionsToTxn one call at a time: the library deduplicates concurrent calls into the
      // first one in flight, so the partitions of a concurrent send would never be added (the broker
      // then refuses their records with TRANSACTION_ABORTABLE). Its own call inside send() then
      // finds nothing left to add; the produce requests themselves may run concurrently.
      const adding = this.#adding.then(async () => {
        const md = await getMetadata(this.#client, [topic]);
        const partitions = messages.map((m) => ({ topic: m.topic, partition: m.partition, value: EMPTY }));
        await tx.addPartitions(md, partitions);
      });
      this.#adding = adding.catch(() => {});
      await adding;
      return tx.send({ messages });
    });
    return metadataOf(messages, result.offsets);
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
    await this.#guard('adding offsets to the transaction', { groupId: meta.groupId }, async () => {
      await this.#transaction();
      const producerId = this.#client.producerId!;
      const producerEpoch = this.#client.producerEpoch!;
      const txnCoordinator = this.#client.coordinatorId!;
      // AddOffsetsToTxn: the transaction coordinator adds the group's offsets partition to the
      // transaction; TxnOffsetCommit: the group coordinator holds the offsets pending until EndTxn.
      await callApi(
        this.#client,
        txnCoordinator,
        'AddOffsetsToTxn',
        this.transactionalId,
        producerId,
        producerEpoch,
        meta.groupId,
      );
      this.#txnOffsets.set(meta.groupId, [...(this.#txnOffsets.get(meta.groupId) ?? []), ...offsets]);
      const groupCoordinator = await this.#groupCoordinator(meta.groupId);
      await callApi(
        this.#client,
        groupCoordinator,
        'TxnOffsetCommit',
        this.transactionalId,
        meta.groupId,
        producerId,
        producerEpoch,
        meta.generationId,
        meta.memberId,
        null,
        topics,
      );
    });
  }

  async commit(): Promise<void> {
    this.#assertOpenTxn('commit');
    const tx = this.#tx;
    if (tx !== undefined) {
      await this.#guard('committing the transaction', {}, async () => (await tx).commit());
    }
    const offsets = this.#txnOffsets;
    this.#state = 'ready';
    this.#tx = undefined;
    this.#txnOffsets = new Map();
    await this.#awaitStable(offsets);
  }

  /**
   * EndTxn returns once the commit is decided; the group coordinator turns the transaction's pending
   * offsets into committed ones when the commit marker reaches it, a moment later. Wait for that
   * (OffsetFetch with requireStable answers UNSTABLE_OFFSET_COMMIT until then), so that once
   * `commit()` resolved every reader, not only read_committed consumers, sees the offsets.
   */
  async #awaitStable(offsets: ReadonlyMap<string, readonly TopicPartitionOffset[]>): Promise<void> {
    for (const [groupId, list] of offsets) {
      const topics = new Map<string, number[]>();
      for (const o of list) topics.set(o.topic, [...(topics.get(o.topic) ?? []), o.partition]);
      const request = [
        {
          groupId,
          memberId: null,
          memberEpoch: -1,
          topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        },
      ];
      const deadline = performance.now() + STABLE_OFFSETS_TIMEOUT_MS;
      for (;;) {
        try {
          await callApi(this.#client, await this.#groupCoordinator(groupId), 'OffsetFetch', request, true);
          break;
        } catch (err) {
          if (!hasApiId(err, 'UNSTABLE_OFFSET_COMMIT') || performance.now() > deadline) {
            this.#groupCoordinators.clear();
            throw toAppError(err, `waiting for the committed offsets of group ${groupId}`, {
              transactionalId: this.transactionalId,
              groupId,
            });
          }
          await sleep(10);
        }
      }
    }
  }

  async abort(): Promise<void> {
    this.#assertOpenTxn('abort');
    const tx = this.#tx;
    if (tx !== undefined) {
      await this.#guard('aborting the transaction', {}, async () => (await tx).abort());
    }
    this.#state = 'ready';
    this.#tx = undefined;
    this.#txnOffsets = new Map();
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const open = this.#state === 'open' && this.#tx !== undefined ? this.#tx : undefined;
    this.#state = 'closed';
    if (open !== undefined) await open.then((tx) => tx.abort()).catch(() => {});
    await this.#client.close(true).catch(() => {});
  }

  /** The library transaction, started on first use inside an open transaction. */
  #transaction(): Promise<LibTransaction> {
    this.#tx ??= this.#client.beginTransaction();
    return this.#tx;
  }

  async #groupCoordinator(groupId: string): Promise<number> {
    const known = this.#groupCoordinators.get(groupId);
    if (known !== undefined) return known;
    const res = await callBootstrap<{ coordinators: { nodeId: number }[] }>(
      this.#client,
      'FindCoordinator',
      FindCoordinatorKeyTypes.GROUP,
      [groupId],
    );
    const nodeId = res.coordinators[0]?.nodeId;
    if (nodeId === undefined || nodeId < 0) throw new Error(`no coordinator for group ${groupId}`);
    this.#groupCoordinators.set(groupId, nodeId);
    return nodeId;
  }

  async #guard<T>(doing: string, context: Record<string, string>, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isFencingError(err)) {
        this.#state = 'fenced';
        throw new AppError(
          ErrorCode.LOG_FENCED,
          `transactional producer ${this.transactionalId} was fenced by a newer producer with the same id`,
          { context: { transactionalId: this.transactionalId, ...context }, cause: err },
        );
      }
      this.#groupCoordinators.clear();
      throw toAppError(err, doing, { transactionalId: this.transactionalId, ...context });
    }
  }

  #assertUsable(): void {
    if (this.#state === 'closed') {
      throw new AppError(ErrorCode.LOG_CLOSED, 'the transactional producer is closed', {
        context: { transactionalId: this.transactionalId },
      });
    }
    if (this.#state === 'fenced') {
      throw new AppError(
        ErrorCode.LOG_FENCED,
        `transactional producer ${this.transactionalId} was fenced by a newer producer with the same id`,
        { context: { transactionalId: this.transactionalId } },
      );
    }
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

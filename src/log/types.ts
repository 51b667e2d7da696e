/**
 * The `Log` port: a partitioned, durable record log with Kafka's semantics. The streams layer, the
 * API and the CLI talk only to this interface; the embedded log (`./embedded`) and Apache Kafka
 * (a later adapter) implement it unchanged.
 *
 * Semantics every implementation must keep (the conformance suite in test/log/ checks them):
 * - A topic has N partitions, fixed at creation. Records in one partition have strictly increasing
 *   offsets and are served in offset order. Offsets need not be dense (Kafka's transaction markers
 *   take offsets): readers must use the offsets they are given.
 * - A keyed record without an explicit partition goes to `partitionForKey(key, N)` (Kafka's murmur2
 *   default partitioner); a record with a null key goes round-robin.
 * - `partitionOffsets` reports the log start offset (earliest retained), the high watermark (offset
 *   of the next record to be written) and the last stable offset (LSO: read_committed readers never
 *   see at or beyond it while a transaction that wrote before it is open).
 * - Retention: with cleanup policy `delete`, whole segments whose newest record is older than
 *   `retentionMs` are removed (the log start offset moves forward). With `compact`, only the latest
 *   record per key is guaranteed to be kept, and a key whose latest value is null (a tombstone) may
 *   disappear entirely; offsets of kept records never change.
 * - Purge (`deleteRecords`, Kafka's DeleteRecords): an explicit request moves a partition's log start
 *   offset forward; records below it are never served again, whatever the retention or policy says.
 * - Transactions: a `TransactionalProducer` writes records to any partitions and consumer-group
 *   offsets; `commit()` makes all of them visible to read_committed consumers and the offsets
 *   committed, atomically; `abort()` (or a crash before commit) makes none of them visible and leaves
 *   the offsets as they were. Opening a transactional producer with a `transactionalId` fences any
 *   earlier producer with the same id (its later calls fail with LOG_FENCED) and aborts its open
 *   transaction.
 * - Consumer groups: members of one group share the partitions of their subscribed topics (each
 *   partition to exactly one member); a member joining or leaving triggers a rebalance that first
 *   revokes then assigns, calling the listener. A consumer starts each assigned partition at the
 *   group's committed offset, or at `autoOffsetReset` when there is none.
 */

/** A record as stored and served. */
export interface LogRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Milliseconds since the epoch: the producer's timestamp (CreateTime), or the append time. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  /** null is a tombstone (deletes the key on compacted topics). */
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
}

export type RecordHeader = readonly [name: string, value: Buffer];

/** A record to write. Strings are encoded as UTF-8. */
export interface ProducerRecord {
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers?: readonly (readonly [string, Buffer | string])[];
  /** Milliseconds since the epoch; default: the log's clock at send time. */
  readonly timestamp?: number;
  /** An explicit partition; default: by key (murmur2), or round-robin for a null key. */
  readonly partition?: number;
}

export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** Offsets committed for a group: `offset` is the next offset to read, as in Kafka. */
export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: number;
  readonly metadata?: string;
}

export const CleanupPolicy = {
  DELETE: 'delete',
  COMPACT: 'compact',
  COMPACT_DELETE: 'compact,delete',
} as const;
export type CleanupPolicy = (typeof CleanupPolicy)[keyof typeof CleanupPolicy];

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** How long records are kept (ms) under the `delete` policy; null keeps them forever. Default 7 days. */
  readonly retentionMs?: number | null;
  /** Default `delete`. Changelog topics use `compact`. */
  readonly cleanupPolicy?: CleanupPolicy;
}

export interface TopicDescription {
  readonly name: string;
  readonly partitions: number;
  readonly retentionMs: number | null;
  readonly cleanupPolicy: CleanupPolicy;
}

export interface PartitionOffsets {
  /** The log start offset: the first offset still retained. */
  readonly earliest: number;
  /** The high watermark: the offset the next record will get. */
  readonly latest: number;
  /** The last stable offset: read_committed readers see only records below it. */
  readonly lastStable: number;
}

export type IsolationLevel = 'read_committed' | 'read_uncommitted';
export type OffsetReset = 'earliest' | 'latest';

export interface ConsumerOptions {
  readonly groupId: string;
  /** Default `read_committed`. */
  readonly isolationLevel?: IsolationLevel;
  /** Where to start a partition the group has no committed offset for. Default `earliest`. */
  readonly autoOffsetReset?: OffsetReset;
  /** At most this many records per `poll`. Default 500. */
  readonly maxPollRecords?: number;
  readonly clientId?: string;
  /**
   * Static membership (Kafka's `group.instance.id`): a member restarted within the session timeout
   * keeps its assignment, without a rebalance; closing does not leave the group. Unique per
   * process. Adapters without group sessions ignore it.
   */
  readonly groupInstanceId?: string;
  /**
   * Kafka's `max.poll.interval.ms`: a member whose loop does not call `poll` for this long leaves
   * the group and loses its partitions. Default 300 000. Adapters without group sessions ignore it.
   */
  readonly maxPollIntervalMs?: number;
  /**
   * Kafka's `session.timeout.ms`: a member whose heartbeats stop for this long is removed from the
   * group (within the broker's group.min/max.session.timeout.ms). Default 10 000. Adapters without
   * group sessions ignore it.
   */
  readonly sessionTimeoutMs?: number;
}

/** What a transaction needs to commit offsets for a group and to fence zombie members. */
export interface ConsumerGroupMetadata {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId?: string;
}

export interface RebalanceListener {
  /** Called before partitions are taken away: commit or flush what belongs to them. */
  onPartitionsRevoked?(partitions: readonly TopicPartition[]): void | Promise<void>;
  /**
   * Called instead of `onPartitionsRevoked` when the member was removed from the group (session
   * expired, poll interval exceeded, generation over): the partitions may already be someone
   * else's, so nothing may be committed for them: close them without commit. Absent: the adapter
   * calls `onPartitionsRevoked`, whose commits then fail with LOG_FENCED.
   */
  onPartitionsLost?(partitions: readonly TopicPartition[]): void | Promise<void>;
  /** Called after partitions were given: restore state before processing them. */
  onPartitionsAssigned?(partitions: readonly TopicPartition[]): void | Promise<void>;
}

export interface Consumer {
  readonly groupId: string;
  /** Join the group for these topics; the assignment arrives through rebalances. */
  subscribe(topics: readonly string[], listener?: RebalanceListener): Promise<void>;
  /** Manual assignment, without group membership (e.g. to restore a changelog). Offsets are not committed automatically. */
  assign(partitions: readonly TopicPartition[]): void;
  assignment(): TopicPartition[];
  /** Records from the assigned, unpaused partitions; waits up to `timeoutMs` when there are none. */
  poll(timeoutMs: number): Promise<LogRecord[]>;
  /** The next offset `poll` will return for a partition. */
  position(tp: TopicPartition): number;
  seek(tp: TopicPartition, offset: number): void;
  seekToBeginning(tps: readonly TopicPartition[]): Promise<void>;
  seekToEnd(tps: readonly TopicPartition[]): Promise<void>;
  pause(tps: readonly TopicPartition[]): void;
  resume(tps: readonly TopicPartition[]): void;
  /** Commit offsets for the group (default: the current positions of all assigned partitions). */
  commit(offsets?: readonly TopicPartitionOffset[]): Promise<void>;
  committed(tps: readonly TopicPartition[]): Promise<Map<string, number | undefined>>;
  groupMetadata(): ConsumerGroupMetadata;
  /** Leave the group (triggers a rebalance for the others); idempotent. */
  close(): Promise<void>;
}

export interface Producer {
  /** Append records; resolves once they are durable under the log's fsync policy. */
  send(topic: string, records: readonly ProducerRecord[]): Promise<RecordMetadata[]>;
  close(): Promise<void>;
}

export interface TransactionalProducer {
  readonly transactionalId: string;
  begin(): void;
  /** Append records inside the open transaction: invisible to read_committed readers until commit. */
  send(topic: string, records: readonly ProducerRecord[]): Promise<RecordMetadata[]>;
  /** Add the group's input offsets to the open transaction. */
  sendOffsets(group: ConsumerGroupMetadata | string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  /** Abort any open transaction and release the id; idempotent. */
  close(): Promise<void>;
}

export interface GroupDescription {
  readonly groupId: string;
  readonly members: number;
  readonly offsets: readonly TopicPartitionOffset[];
}

export interface Log {
  readonly kind: 'embedded' | 'kafka';
  /** Create topics that do not exist; an existing topic with other partitions fails with LOG_TOPIC_MISMATCH. */
  createTopics(specs: readonly TopicSpec[]): Promise<void>;
  listTopics(): Promise<TopicDescription[]>;
  /** Fails with LOG_UNKNOWN_TOPIC. */
  describeTopic(topic: string): Promise<TopicDescription>;
  partitionOffsets(topic: string, partition: number): Promise<PartitionOffsets>;
  producer(): Producer;
  /** Fences any earlier producer with the same id. */
  transactionalProducer(transactionalId: string): Promise<TransactionalProducer>;
  consumer(options: ConsumerOptions): Consumer;
  listGroups(): Promise<GroupDescription[]>;
  /**
   * Delete the records of a partition below `beforeOffset` (Kafka's DeleteRecords; Kafka Streams
   * purges its repartition topics this way after each commit). The log start offset becomes
   * `beforeOffset` when that is higher, durably, and never moves back; a lower offset is a no-op.
   * Readers never see a record below it: `partitionOffsets().earliest` reports it, and a consumer
   * positioned below it is reset by its `autoOffsetReset` (Kafka's OFFSET_OUT_OF_RANGE on fetch).
   * Storage is reclaimed by whole segments (the segment holding `beforeOffset` stays on disk).
   * Retention and compaction are unchanged. Fails with LOG_OFFSET_OUT_OF_RANGE when `beforeOffset`
   * is beyond the high watermark, LOG_INVALID_ARGUMENT when it is not a non-negative integer or the
   * topic's cleanup policy is `compact` only (Kafka's POLICY_VIOLATION), LOG_UNKNOWN_TOPIC /
   * LOG_UNKNOWN_PARTITION.
   */
  deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<void>;
  /** Set a group's committed offsets (admin; the group should have no active members). */
  setGroupOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Stop everything, flush, release the data dir; idempotent. */
  close(): Promise<void>;
}

/** `topic:partition`, the key used in maps of partitions. */
export function tpKey(tp: TopicPartition): string {
  return `${tp.topic}:${tp.partition}`;
}

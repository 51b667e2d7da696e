/**
 * The `Log` port on Apache Kafka (`@platformatic/kafka`, pure JS). Topics, offsets and groups go
 * through one `Admin` client; every producer and consumer has its own client (connections, fetch
 * sessions, producer ids). See ./consumer.ts and ./producer.ts for what is ours and why.
 */

import { Admin, ConfigResourceTypes, FetchIsolationLevels } from '@platformatic/kafka';
import { type Clock, systemClock } from '../../clock/index.ts';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { validateTopicSpec } from '../assignor.ts';
import type {
  CleanupPolicy,
  Consumer,
  ConsumerOptions,
  GroupDescription,
  Log,
  PartitionOffsets,
  Producer,
  TopicDescription,
  TopicPartitionOffset,
  TopicSpec,
  TransactionalProducer,
} from '../types.ts';
import { type KafkaClientSettings, KafkaConsumer } from './consumer.ts';
import { edge, hasApiId, isAuthError, isNetworkError, isUnknownTopicError, toAppError } from './errors.ts';
import { DEFAULT_FETCH_SETTINGS, type FetchSettings } from './fetcher.ts';
import { KafkaProducer, KafkaTransactionalProducer } from './producer.ts';
import { clientOptions, type KafkaSasl, type KafkaTls, tlsOptions } from './settings.ts';
import { probeTls, type TlsRefusal } from './tls-probe.ts';
import { getMetadata, sleep, within } from './wire.ts';

export interface KafkaLogOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** Prefix of every client id. Default `msgtrack`. */
  readonly clientId?: string;
  /** Default record timestamps. Default: the system clock. */
  readonly clock?: Clock;
  /** How long to wait (ms) for the cluster to answer at open. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** Produce compression. Default lz4. */
  readonly compression?: KafkaClientSettings['compression'];
  readonly tls?: KafkaTls | undefined;
  readonly sasl?: KafkaSasl | undefined;
  /** Replication factor of every topic created. Default: 1 on a one-broker cluster, else 3. */
  readonly replicationFactor?: number | undefined;
  /** `min.insync.replicas` of every topic created. Default: 1 on a one-broker cluster, else 2. */
  readonly minInsyncReplicas?: number | undefined;
  /** Consumers' fetch sizes and prefetch watermark; each default as in DEFAULT_FETCH_SETTINGS. */
  readonly fetch?: Partial<FetchSettings> | undefined;
}

/** TopicSpec's default retention: 7 days. */
const DEFAULT_RETENTION_MS = 7 * 24 * 3_600_000;
/** How long (ms) createTopics waits for a new topic's partitions to get leaders. */
const TOPIC_READY_TIMEOUT_MS = 15_000;

interface Closable {
  close(): Promise<void>;
}

/** Connect to the cluster (failing with a retriable LOG_IO when it does not answer) and return the log. */
export async function openKafkaLog(options: KafkaLogOptions): Promise<Log> {
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
    throw new AppError(
      ErrorCode.LOG_INVALID_ARGUMENT,
      'openKafkaLog: brokers must list at least one host:port',
    );
  }
  const log = new KafkaLog(options);
  try {
    await log.connect(options.connectTimeoutMs ?? 10_000);
  } catch (err) {
    await log.close();
    throw err;
  }
  return log;
}

export class KafkaLog implements Log {
  readonly kind = 'kafka' as const;
  readonly #settings: KafkaClientSettings;
  readonly #clock: Clock;
  readonly #admin: Admin;
  readonly #open = new Set<Closable>();
  readonly #replicationFactor: number | undefined;
  readonly #minInsyncReplicas: number | undefined;
  /** The number of brokers seen at connect (for the replication defaults). */
  #brokerCount = 1;
  #closed = false;

  constructor(options: KafkaLogOptions) {
    this.#settings = {
      brokers: [...options.brokers],
      clientId: options.clientId ?? 'msgtrack',
      compression: options.compression ?? 'lz4',
      tls: options.tls,
      sasl: options.sasl,
      fetch: fetchSettings(options.fetch),
    };
    this.#replicationFactor = options.replicationFactor;
    this.#minInsyncReplicas = options.minInsyncReplicas;
    this.#clock = options.clock ?? systemClock;
    this.#admin = new Admin({
      ...clientOptions(this.#settings, `${this.#settings.clientId}-admin`),
      timeout: 30_000,
      retries: 3,
      retryDelay: 200,
      metadataMaxAge: 1_000,
    });
  }

  async connect(timeoutMs: number): Promise<void> {
    const brokers = this.#settings.brokers.join(',');
    try {
      const answer = await within(getMetadata(this.#admin, [], { forceUpdate: true }), timeoutMs);
      if (answer === undefined) throw new Error(`no answer within ${timeoutMs} ms`);
      this.#brokerCount = Math.max(1, answer.brokers.size);
    } catch (err) {
      if (isAuthError(err)) {
        const mechanism = this.#settings.sasl?.mechanism ?? 'none';
        // The broker's answer names what failed; our credentials never appear in the message.
        throw new AppError(
          ErrorCode.LOG_AUTH,
          `Kafka at ${brokers} refused the authentication (SASL ${mechanism}${this.#settings.sasl !== undefined && 'username' in this.#settings.sasl ? `, user ${this.#settings.sasl.username}` : ''}): check the credentials`,
          { context: { brokers, mechanism }, cause: err },
        );
      }
      const refused = await this.#tlsRefusal(err);
      if (refused !== undefined) {
        throw new AppError(
          ErrorCode.LOG_AUTH,
          refused.side === 'client-certificate'
            ? `Kafka at ${brokers} refused the TLS client certificate (${refused.reason}): check KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE (mutual TLS)`
            : `the certificate of Kafka at ${brokers} is not trusted (${refused.reason}): check KAFKA_TLS_CA_FILE and KAFKA_TLS_SERVER_NAME`,
          { context: { brokers, mechanism: 'TLS', reason: refused.reason }, cause: err },
        );
      }
      throw new AppError(ErrorCode.LOG_IO, `cannot reach Kafka at ${brokers}: ${(err as Error).message}`, {
        retriable: true,
        context: { brokers },
        cause: err,
      });
    }
  }

  /** A connection closed under TLS: was a certificate refused (by the broker, or ours of the broker's)? */
  async #tlsRefusal(err: unknown): Promise<TlsRefusal | undefined> {
    const tls = this.#settings.tls;
    const first = this.#settings.brokers[0];
    if (tls === undefined || first === undefined || !isNetworkError(err)) return undefined;
    const at = first.lastIndexOf(':');
    return probeTls(first.slice(0, at), Number(first.slice(at + 1)), tlsOptions(tls));
  }

  // ---- topics ----------------------------------------------------------------------------------

  async createTopics(specs: readonly TopicSpec[]): Promise<void> {
    this.#assertOpen();
    for (const spec of specs) validateTopicSpec(spec);
    for (const spec of specs) await this.#createTopic(spec);
  }

  async #createTopic(spec: TopicSpec): Promise<void> {
    const retentionMs = spec.retentionMs === undefined ? DEFAULT_RETENTION_MS : spec.retentionMs;
    try {
      await this.#admin.createTopics({
        topics: [spec.name],
        partitions: spec.partitions,
        replicas: this.#replicationFactor ?? (this.#brokerCount === 1 ? 1 : 3),
        configs: [
          { name: 'retention.ms', value: String(retentionMs ?? -1) },
          { name: 'cleanup.policy', value: spec.cleanupPolicy ?? 'delete' },
          {
            name: 'min.insync.replicas',
            value: String(this.#minInsyncReplicas ?? (this.#brokerCount === 1 ? 1 : 2)),
          },
        ],
      });
    } catch (err) {
      if (!hasApiId(err, 'TOPIC_ALREADY_EXISTS')) {
        throw toAppError(err, `creating topic ${spec.name}`, { topic: spec.name });
      }
      // Created by someone else moments ago (another instance starting at the same time): the
      // metadata may not know it yet, so it is awaited like a topic of our own.
    }
    await this.#awaitTopicReady(spec);
  }

  /**
   * Waits until every partition of a topic just created (by us or by another client) has a leader.
   * The controller answers before every broker knows the topic. A topic that exists with another
   * partition count is refused with LOG_TOPIC_MISMATCH.
   */
  async #awaitTopicReady(spec: TopicSpec): Promise<void> {
    const deadline = performance.now() + TOPIC_READY_TIMEOUT_MS;
    for (;;) {
      try {
        const md = await getMetadata(this.#admin, [spec.name], { forceUpdate: true, retries: 0 });
        const t = md.topics.get(spec.name);
        if (t !== undefined && t.partitionsCount !== spec.partitions) {
          throw new AppError(
            ErrorCode.LOG_TOPIC_MISMATCH,
            `topic ${spec.name} exists with ${t.partitionsCount} partitions, not ${spec.partitions}`,
            { context: { topic: spec.name, existing: t.partitionsCount, wanted: spec.partitions } },
          );
        }
        if (t?.partitions.every((p) => p.leader >= 0)) return;
      } catch (err) {
        if (err instanceof AppError) throw err;
        if (!isUnknownTopicError(err) && !hasApiId(err, 'LEADER_NOT_AVAILABLE')) {
          throw toAppError(err, `waiting for topic ${spec.name}`, { topic: spec.name });
        }
      }
      if (performance.now() > deadline) {
        throw new AppError(
          ErrorCode.LOG_IO,
          `topic ${spec.name} has no leaders after ${TOPIC_READY_TIMEOUT_MS} ms`,
          {
            retriable: true,
            context: { topic: spec.name },
          },
        );
      }
      await sleep(50);
    }
  }

  async listTopics(): Promise<TopicDescription[]> {
    this.#assertOpen();
    const names = await edge('listing topics', {}, () => this.#admin.listTopics({ includeInternals: false }));
    if (names.length === 0) return [];
    const sorted = [...names].sort();
    const [md, configs] = await Promise.all([
      edge('listing topics', {}, () => getMetadata(this.#admin, sorted, { forceUpdate: true })),
      this.#topicConfigs(sorted),
    ]);
    const out: TopicDescription[] = [];
    for (const name of sorted) {
      const t = md.topics.get(name);
      if (t === undefined) continue;
      out.push(describeFrom(name, t.partitionsCount, configs.get(name)));
    }
    return out;
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    this.#assertOpen();
    const n = await this.#partitionCount(topic);
    const configs = await this.#topicConfigs([topic]);
    return describeFrom(topic, n, configs.get(topic));
  }

  async #partitionCount(topic: string, fresh = true): Promise<number> {
    try {
      const md = await getMetadata(this.#admin, [topic], { forceUpdate: fresh, retries: 0 });
      const n = md.topics.get(topic)?.partitionsCount;
      if (n !== undefined) return n;
    } catch (err) {
      if (!isUnknownTopicError(err)) throw toAppError(err, `describing topic ${topic}`, { topic });
    }
    throw new AppError(ErrorCode.LOG_UNKNOWN_TOPIC, `unknown topic ${topic}`, { context: { topic } });
  }

  async #topicConfigs(
    topics: readonly string[],
  ): Promise<Map<string, Map<string, string | null | undefined>>> {
    const res = await edge('describing topic configs', {}, () =>
      this.#admin.describeConfigs({
        resources: topics.map((name) => ({
          resourceType: ConfigResourceTypes.TOPIC,
          resourceName: name,
          configurationKeys: ['retention.ms', 'cleanup.policy'],
        })),
      }),
    );
    return new Map(res.map((r) => [r.resourceName, new Map(r.configs.map((c) => [c.name, c.value]))]));
  }

  async partitionOffsets(topic: string, partition: number): Promise<PartitionOffsets> {
    this.#assertOpen();
    // The cached partition count (the admin's metadata is at most 1 s old) unless it rules the partition out.
    let n = await this.#partitionCount(topic, false);
    if (partition >= n) n = await this.#partitionCount(topic);
    if (!Number.isInteger(partition) || partition < 0 || partition >= n) {
      throw new AppError(ErrorCode.LOG_UNKNOWN_PARTITION, `topic ${topic} has no partition ${partition}`, {
        context: { topic, partition, partitions: n },
      });
    }
    const list = (timestamp: bigint, isolationLevel: number) =>
      edge(`listing offsets of ${topic}:${partition}`, { topic, partition }, async () => {
        const res = await this.#admin.listOffsets({
          topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp }] }],
          isolationLevel: isolationLevel as 0 | 1,
        });
        return Number(res[0]?.partitions.find((p) => p.partitionIndex === partition)?.offset ?? 0n);
      });
    // ListOffsets: -2 is the log start offset; -1 the high watermark under read_uncommitted and the
    // last stable offset under read_committed.
    const [earliest, latest, lastStable] = await Promise.all([
      list(-2n, FetchIsolationLevels.READ_UNCOMMITTED),
      list(-1n, FetchIsolationLevels.READ_UNCOMMITTED),
      list(-1n, FetchIsolationLevels.READ_COMMITTED),
    ]);
    return { earliest, latest, lastStable };
  }

  /**
   * DeleteRecords (API key 21) through the admin client, on the partition's leader. The broker makes
   * the checks: OFFSET_OUT_OF_RANGE beyond the high watermark, POLICY_VIOLATION on a compact-only
   * topic; an offset at or below the log start offset is a no-op.
   */
  async deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<void> {
    this.#assertOpen();
    if (!Number.isSafeInteger(beforeOffset) || beforeOffset < 0) {
      throw new AppError(
        ErrorCode.LOG_INVALID_ARGUMENT,
        'deleteRecords: beforeOffset must be a non-negative integer',
        { context: { topic, partition, offset: beforeOffset } },
      );
    }
    // The client retries an unknown partition until its retries run out: answer at once instead.
    const n = await this.#partitionCount(topic);
    if (!Number.isInteger(partition) || partition < 0 || partition >= n) {
      throw new AppError(ErrorCode.LOG_UNKNOWN_PARTITION, `topic ${topic} has no partition ${partition}`, {
        context: { topic, partition, partitions: n },
      });
    }
    await edge(
      `deleting records of ${topic}:${partition} below ${beforeOffset}`,
      { topic, partition, offset: beforeOffset },
      () =>
        this.#admin.deleteRecords({
          topics: [{ name: topic, partitions: [{ partition, offset: BigInt(beforeOffset) }] }],
        }),
    );
  }

  // ---- clients ---------------------------------------------------------------------------------

  producer(): Producer {
    this.#assertOpen();
    return this.#track(new KafkaProducer(this.#settings, this.#clock));
  }

  async transactionalProducer(transactionalId: string): Promise<TransactionalProducer> {
    this.#assertOpen();
    return this.#track(await KafkaTransactionalProducer.open(this.#settings, transactionalId, this.#clock));
  }

  consumer(options: ConsumerOptions): Consumer {
    this.#assertOpen();
    const c = new KafkaConsumer(this.#settings, options, (closed) => this.#open.delete(closed));
    this.#open.add(c);
    return c;
  }

  #track<T extends Closable>(client: T): T {
    this.#open.add(client);
    const close = client.close.bind(client);
    client.close = async () => {
      this.#open.delete(client);
      await close();
    };
    return client;
  }

  // ---- groups ----------------------------------------------------------------------------------

  async listGroups(): Promise<GroupDescription[]> {
    this.#assertOpen();
    const groups = await edge('listing groups', {}, () => this.#admin.listGroups());
    const ids = [...groups.keys()].sort();
    if (ids.length === 0) return [];
    const [described, offsets] = await Promise.all([
      edge('describing groups', {}, () => this.#admin.describeGroups({ groups: ids })),
      edge('listing group offsets', {}, () => this.#admin.listConsumerGroupOffsets({ groups: ids })),
    ]);
    const byGroup = new Map(offsets.map((g) => [g.groupId, g]));
    return ids.map((groupId) => {
      const list: TopicPartitionOffset[] = [];
      for (const t of byGroup.get(groupId)?.topics ?? []) {
        for (const p of t.partitions) {
          if (p.committedOffset < 0n) continue;
          list.push({
            topic: t.name,
            partition: p.partitionIndex,
            offset: Number(p.committedOffset),
            ...(p.metadata ? { metadata: p.metadata } : {}),
          });
        }
      }
      list.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
      return { groupId, members: described.get(groupId)?.members.size ?? 0, offsets: list };
    });
  }

  async setGroupOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.#assertOpen();
    const topics = new Map<string, { partition: number; offset: bigint }[]>();
    for (const o of offsets) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, 'a group offset must be a non-negative integer', {
          context: { groupId, topic: o.topic, partition: o.partition, offset: o.offset },
        });
      }
      topics.set(o.topic, [
        ...(topics.get(o.topic) ?? []),
        { partition: o.partition, offset: BigInt(o.offset) },
      ]);
    }
    try {
      await this.#admin.alterConsumerGroupOffsets({
        groupId,
        topics: [...topics].map(([name, partitionOffsets]) => ({ name, partitionOffsets })),
      });
    } catch (err) {
      if (hasApiId(err, 'UNKNOWN_MEMBER_ID')) {
        // Kafka only lets an admin commit for a group without members.
        throw new AppError(
          ErrorCode.LOG_INVALID_ARGUMENT,
          `group ${groupId} has active members: stop them first`,
          {
            context: { groupId },
            cause: err,
          },
        );
      }
      throw toAppError(err, `setting offsets of group ${groupId}`, { groupId });
    }
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const clients = [...this.#open];
    this.#open.clear();
    await Promise.allSettled(clients.map((c) => (c instanceof KafkaConsumer ? c.detach() : c.close())));
    await this.#admin.close().catch(() => {});
  }

  #assertOpen(): void {
    if (this.#closed) throw new AppError(ErrorCode.LOG_CLOSED, 'the Kafka log is closed');
  }
}

/** The fetch settings with defaults; each must be a positive integer. */
function fetchSettings(given: Partial<FetchSettings> | undefined): FetchSettings {
  const settings = { ...DEFAULT_FETCH_SETTINGS };
  for (const [key, value] of Object.entries(given ?? {}) as [keyof FetchSettings, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new AppError(ErrorCode.LOG_INVALID_ARGUMENT, `fetch.${key} must be a positive integer`, {
        context: { [key]: value },
      });
    }
    settings[key] = value;
  }
  return settings;
}

function describeFrom(
  name: string,
  partitions: number,
  configs: Map<string, string | null | undefined> | undefined,
): TopicDescription {
  const retention = Number(configs?.get('retention.ms') ?? DEFAULT_RETENTION_MS);
  const policy = (configs?.get('cleanup.policy') ?? 'delete').replace(/\s/g, '');
  const cleanupPolicy: CleanupPolicy =
    policy === 'compact'
      ? 'compact'
      : policy === 'compact,delete' || policy === 'delete,compact'
        ? 'compact,delete'
        : 'delete';
  return { name, partitions, retentionMs: retention < 0 ? null : retention, cleanupPolicy };
}

/**
 * Kafka's Fetch API (key 1), versions 12–17, sent on `@platformatic/kafka`'s pooled connections with
 * our own response parser. The parser reads the response's structure only (topics, partitions,
 * errors, aborted transactions) and hands each partition's records over as the bytes they are on
 * the wire, a view into the response: the record batches are decoded once, later and only for the
 * partitions still wanted, by ./record-batch.ts. (The library's own parser decodes every record
 * into objects of its own, through a chunked buffer whose every read walks the chunk list.)
 *
 * Requests are sessionless full fetches (session id 0, epoch -1: KIP-227's form without a session):
 * each names every partition it wants, so no session state can go stale between a seek, a
 * rebalance or a reconnect and the next request.
 *
 * Fetch Response (v12–v17, flexible) => throttle_time_ms error_code session_id [responses] TAG_BUFFER
 *   responses => topic (v12: COMPACT_STRING name; v13+: UUID topic_id) [partitions] TAG_BUFFER
 *     partitions => partition_index INT32, error_code INT16, high_watermark INT64,
 *       last_stable_offset INT64, log_start_offset INT64,
 *       [aborted_transactions => producer_id INT64, first_offset INT64, TAG_BUFFER] (nullable),
 *       preferred_read_replica INT32, records COMPACT_RECORDS (nullable), TAG_BUFFER
 *       (tagged: diverging_epoch, current_leader, snapshot_id: skipped)
 *   (top-level tagged, v16+: node_endpoints: skipped)
 */
import * as lib from '@platformatic/kafka';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { type AnyBase, connectionTo, getApi } from './wire.ts';

/** Fetch versions this parser reads (Fetch v12 came with Kafka 2.7, topic ids with v13 in 3.1). */
export const FETCH_MIN_VERSION = 12;
export const FETCH_MAX_VERSION = 17;
const FETCH_API_KEY = 1;

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: number;
}

export interface FetchedPartition {
  readonly partitionIndex: number;
  /** Kafka error code (0: none). */
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  /** read_committed: the aborted transactions overlapping the returned range (null: none listed). */
  readonly abortedTransactions: readonly AbortedTransaction[] | null;
  /** The record batches' bytes as received (a view into the response; the last batch may be cut short). */
  readonly records: Buffer | null;
}

export interface FetchedTopic {
  /** The topic id (v13+) or name (v12), as the request named it. */
  readonly topic: string;
  readonly partitions: readonly FetchedPartition[];
}

export interface FetchResponse {
  readonly errorCode: number;
  readonly topics: readonly FetchedTopic[];
}

export interface FetchPartitionRequest {
  readonly partition: number;
  readonly fetchOffset: number;
  readonly partitionMaxBytes: number;
}

export interface FetchRequest {
  /** Topic id (v13+) or name (v12): `fetchByName(version)` says which. */
  readonly topics: readonly {
    readonly topic: string;
    readonly partitions: readonly FetchPartitionRequest[];
  }[];
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly readCommitted: boolean;
}

/** Whether requests of `version` name topics (v12) rather than identify them (v13+). */
export const fetchByName = (version: number): boolean => version <= 12;

/**
 * The Fetch version to use with the cluster of `client` (the highest both sides support). A broker
 * older than Kafka 2.7 cannot be read.
 */
export async function fetchVersion(client: AnyBase): Promise<number> {
  const api = await getApi(client, 'Fetch');
  if (api.version < FETCH_MIN_VERSION) {
    throw new AppError(
      ErrorCode.LOG_IO,
      `the broker supports Fetch up to v${api.version}; this client needs v${FETCH_MIN_VERSION} or later (Kafka 2.7+)`,
      { context: { fetchVersion: api.version } },
    );
  }
  return Math.min(api.version, FETCH_MAX_VERSION);
}

type RequestCreator = (...args: unknown[]) => lib.Writer;

/** Send one Fetch to broker `node` and parse the answer (a top-level error is thrown, partition errors are in the result). */
export async function sendFetch(
  client: AnyBase,
  node: number,
  version: number,
  request: FetchRequest,
): Promise<FetchResponse> {
  const conn = await connectionTo(client, node);
  const createRequest = (lib as unknown as Record<string, { createRequest: RequestCreator }>)[
    `fetchV${version}`
  ]?.createRequest;
  if (createRequest === undefined) throw new Error(`no Fetch v${version} request encoder`);
  const topics = request.topics.map((t) => ({
    topicId: t.topic,
    partitions: t.partitions.map((p) => ({
      partition: p.partition,
      currentLeaderEpoch: -1,
      fetchOffset: BigInt(p.fetchOffset),
      lastFetchedEpoch: -1,
      partitionMaxBytes: p.partitionMaxBytes,
    })),
  }));
  const response = await new Promise<FetchResponse>((resolve, reject) => {
    conn.send(
      FETCH_API_KEY,
      version,
      () =>
        createRequest(
          request.maxWaitMs,
          request.minBytes,
          request.maxBytes,
          request.readCommitted
            ? lib.FetchIsolationLevels.READ_COMMITTED
            : lib.FetchIsolationLevels.READ_UNCOMMITTED,
          0, // no fetch session
          -1,
          topics,
          [],
          '',
        ),
      (_correlationId, _apiKey, apiVersion, reader) =>
        // The reader spans the socket's chunks: one copy into a single buffer when there are several.
        parseFetchResponse(reader.buffer.buffer.subarray(reader.position), apiVersion),
      true,
      true,
      (err, res) => (err ? reject(err) : resolve(res as FetchResponse)),
    );
  });
  if (response.errorCode !== 0) throw new lib.ProtocolError(response.errorCode);
  return response;
}

/** Parse a Fetch response body (after the response header) of `version`. */
export function parseFetchResponse(buf: Buffer, version: number): FetchResponse {
  if (version < FETCH_MIN_VERSION || version > FETCH_MAX_VERSION) {
    throw new Error(`Fetch v${version} responses are not supported`);
  }
  const r = new WireReader(buf);
  r.skip(4); // throttle_time_ms
  const errorCode = r.int16();
  r.skip(4); // session_id
  const topics: FetchedTopic[] = [];
  for (let t = r.compactLength(); t > 0; t--) {
    const topic = fetchByName(version) ? r.compactString() : r.uuid();
    const partitions: FetchedPartition[] = [];
    for (let p = r.compactLength(); p > 0; p--) {
      const partitionIndex = r.int32();
      const partitionError = r.int16();
      const highWatermark = r.int64();
      const lastStableOffset = r.int64();
      r.skip(8); // log_start_offset
      let abortedTransactions: AbortedTransaction[] | null = null;
      const aborted = r.compactLength();
      if (aborted >= 0) {
        abortedTransactions = [];
        for (let a = 0; a < aborted; a++) {
          const producerId = r.bigInt64();
          abortedTransactions.push({ producerId, firstOffset: r.int64() });
          r.skipTags();
        }
      }
      r.skip(4); // preferred_read_replica
      const size = r.compactLength();
      const records = size > 0 ? r.bytes(size) : null;
      r.skipTags();
      partitions.push({
        partitionIndex,
        errorCode: partitionError,
        highWatermark,
        lastStableOffset,
        abortedTransactions,
        records,
      });
    }
    r.skipTags();
    topics.push({ topic, partitions });
  }
  r.skipTags();
  return { errorCode, topics };
}

/** Big-endian reads over one buffer, with the flexible versions' compact lengths and tagged fields. */
class WireReader {
  readonly #buf: Buffer;
  #pos = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  #need(n: number): number {
    const at = this.#pos;
    if (at + n > this.#buf.length) {
      throw new AppError(ErrorCode.LOG_CORRUPT, 'a Fetch response ended early', {
        context: { at, length: this.#buf.length },
      });
    }
    this.#pos = at + n;
    return at;
  }

  skip(n: number): void {
    this.#need(n);
  }

  int16(): number {
    return this.#buf.readInt16BE(this.#need(2));
  }

  int32(): number {
    return this.#buf.readInt32BE(this.#need(4));
  }

  /** An INT64 offset or position as a number (exact below 2^53). */
  int64(): number {
    const at = this.#need(8);
    return this.#buf.readInt32BE(at) * 0x1_0000_0000 + this.#buf.readUInt32BE(at + 4);
  }

  bigInt64(): bigint {
    return this.#buf.readBigInt64BE(this.#need(8));
  }

  unsignedVarInt(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.#buf[this.#need(1)] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new AppError(ErrorCode.LOG_CORRUPT, 'a Fetch response holds a malformed varint', {
      context: { at: this.#pos },
    });
  }

  /** A compact array's or field's length: -1 for null. */
  compactLength(): number {
    return this.unsignedVarInt() - 1;
  }

  compactString(): string {
    const n = this.compactLength();
    if (n < 0) return '';
    const at = this.#need(n);
    return this.#buf.toString('utf8', at, at + n);
  }

  uuid(): string {
    const at = this.#need(16);
    const hex = this.#buf.toString('hex', at, at + 16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  bytes(n: number): Buffer {
    const at = this.#need(n);
    return this.#buf.subarray(at, at + n);
  }

  skipTags(): void {
    for (let n = this.unsignedVarInt(); n > 0; n--) {
      this.unsignedVarInt(); // tag
      this.skip(this.unsignedVarInt());
    }
  }
}

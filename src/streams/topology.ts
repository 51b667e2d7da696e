/**
 * The topology DSL. A processor is a plain function over a `StreamsBuilder`:
 *
 *   export function spamTopology(b: StreamsBuilder): void {
 *     b.stream('chat.messages', { value: messageCodec, timestamp: (_k, m) => Date.parse(m.timestamp) })
 *       .selectKey((_k, m) => m.sender_id)
 *       .groupByKey({ key: Codecs.string, value: messageCodec, name: 'by-sender' })
 *       .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(60_000, 5_000))
 *       .count({ name: 'sender-counts', emit: 'onUpdate' })
 *       .filter((_w, n) => n === 8)
 *       .to('anomaly-alerts', { key: windowedKey, value: Codecs.json() });
 *   }
 *
 * and the same function runs in `StreamsRuntime` (on a Log) and in `TopologyTestDriver`.
 * Re-keying (`selectKey`, `map`, `flatMap`, `process`) followed by `groupByKey`, and every `groupBy`,
 * writes through the internal topic `<applicationId>-<name>-repartition`, partitioned by the new key,
 * so that each key's records meet in one task (as in Kafka Streams).
 */
import { AppError, ErrorCode } from '../errors/index.ts';
import { type Codec, Codecs } from './codec.ts';
import { KStream, produceNode } from './kstream.ts';
import type {
  NodeContext,
  NodeDef,
  NodeImpl,
  RepartitionTopic,
  SourceDef,
  SubTopology,
  TimestampExtractor,
  Topology,
} from './node.ts';
import type { StoreSpec } from './stores.ts';
import type { EmitStrategy, ErrorPolicy } from './types.ts';

export interface SourceOptions<K, V> {
  /** Default: UTF-8 string, null keys allowed. */
  readonly key?: Codec<K>;
  readonly value: Codec<V>;
  /** Event time of a record (ms since the epoch, >= 0); default: the log record's timestamp. */
  readonly timestamp?: TimestampExtractor<K, V>;
  /** Deserialisation/validation policy for this source; default: the application's. */
  readonly errorPolicy?: ErrorPolicy;
}

export interface GroupedOptions<K, V> {
  /** Names the repartition topic `<applicationId>-<name>-repartition` (when one is needed). */
  readonly name?: string;
  /** Codecs of the repartition topic and of the store keys. Default JSON. */
  readonly key?: Codec<K>;
  readonly value?: Codec<V>;
  /** Partitions of the repartition topic; default: the most partitions among the upstream sources. */
  readonly partitions?: number;
}

export interface AggregateOptions<A> {
  /** The store name; its changelog is `<applicationId>-<name>-changelog`. Name it: it must stay stable. */
  readonly name?: string;
  /** Default `onWindowClose` for windowed aggregations (ignored for non-windowed ones: every update). */
  readonly emit?: EmitStrategy;
  /** Codec of the aggregate in the changelog. Default JSON (float64 for count). */
  readonly codec?: Codec<A>;
}

export interface ProduceOptions<K, V> {
  readonly key: Codec<K>;
  readonly value: Codec<V>;
}

export class StreamsBuilder {
  readonly applicationId: string;
  readonly #nodes: NodeDef[] = [];
  readonly #sources = new Map<string, SourceDef>();
  readonly #stores = new Map<string, StoreSpec>();
  readonly #repartitions: Array<{
    topic: string;
    partitions: number | undefined;
    sink: NodeDef;
    source: NodeDef;
  }> = [];
  readonly #outputs = new Set<string>();
  readonly #names = new Set<string>();
  #counter = 0;

  constructor(applicationId: string) {
    if (!/^[A-Za-z0-9._-]+$/.test(applicationId)) {
      throw new AppError(
        ErrorCode.STREAMS_TOPOLOGY,
        `invalid applicationId ${JSON.stringify(applicationId)}`,
      );
    }
    this.applicationId = applicationId;
  }

  /** A stream of one topic, or of several co-partitioned topics (same partition count, same keys). */
  stream<V, K = string | null>(
    topics: string | readonly string[],
    options: SourceOptions<K, V>,
  ): KStream<K, V> {
    const list = typeof topics === 'string' ? [topics] : [...topics];
    const node = this.addNode(`SOURCE-${list.join(',')}`, [], (ctx) => ({ process: (r) => ctx.forward(r) }), {
      sourceTopics: list,
    });
    for (const topic of list) {
      if (this.#sources.has(topic)) {
        throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `topic ${topic} is already a source`, {
          context: { topic },
        });
      }
      this.#sources.set(topic, {
        topic,
        node,
        keyCodec: (options.key ?? Codecs.nullable(Codecs.string)) as Codec<unknown>,
        valueCodec: options.value as Codec<unknown>,
        timestamp: options.timestamp as TimestampExtractor<unknown, unknown> | undefined,
        errorPolicy: options.errorPolicy,
        internal: false,
      });
    }
    return new KStream<K, V>(this, node, false);
  }

  addStateStore(spec: StoreSpec): this {
    if (this.#stores.has(spec.name)) {
      throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `store ${spec.name} already exists`, {
        context: { store: spec.name },
      });
    }
    this.#stores.set(spec.name, spec);
    return this;
  }

  /** @internal */
  addNode(
    name: string,
    parents: readonly NodeDef[],
    make: (ctx: NodeContext) => NodeImpl,
    extra: { stores?: readonly string[]; sourceTopics?: readonly string[]; sinkTopic?: string } = {},
  ): NodeDef {
    const node: NodeDef = {
      id: this.#nodes.length,
      name,
      children: [],
      stores: extra.stores ?? [],
      ...(extra.sourceTopics === undefined ? {} : { sourceTopics: extra.sourceTopics }),
      ...(extra.sinkTopic === undefined ? {} : { sinkTopic: extra.sinkTopic }),
      make,
    };
    this.#nodes.push(node);
    for (const p of parents) p.children.push(node);
    return node;
  }

  /** @internal a unique generated name */
  nextName(prefix: string): string {
    return `${prefix}-${String(this.#counter++).padStart(10, '0')}`;
  }

  /** @internal */
  uniqueName(kind: string, name: string): string {
    const k = `${kind}:${name}`;
    if (this.#names.has(k)) {
      throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `duplicate ${kind} name ${name}`, { context: { name } });
    }
    this.#names.add(k);
    return name;
  }

  /** @internal */
  addOutput(topic: string): void {
    this.#outputs.add(topic);
  }

  /** @internal: a repartition through `<applicationId>-<name>-repartition`; returns the new source node. */
  repartition(
    parent: NodeDef,
    name: string,
    keyCodec: Codec<unknown>,
    valueCodec: Codec<unknown>,
    partitions: number | undefined,
  ): NodeDef {
    const topic = `${this.applicationId}-${this.uniqueName('repartition', name)}-repartition`;
    const sink = this.addNode(
      `REPARTITION-SINK-${name}`,
      [parent],
      produceNode(topic, keyCodec, valueCodec),
      {
        sinkTopic: topic,
      },
    );
    const source = this.addNode(
      `REPARTITION-SOURCE-${name}`,
      [],
      (ctx) => ({ process: (r) => ctx.forward(r) }),
      {
        sourceTopics: [topic],
      },
    );
    this.#sources.set(topic, {
      topic,
      node: source,
      keyCodec,
      valueCodec,
      timestamp: undefined,
      errorPolicy: undefined,
      internal: true,
    });
    this.#repartitions.push({ topic, partitions, sink, source });
    return source;
  }

  /** @internal */
  hasStore(name: string): boolean {
    return this.#stores.has(name);
  }

  /** Compile: split into sub-topologies (connected by parent/child edges and shared stores). */
  build(): Topology {
    const parent = this.#nodes.map((_, i) => i);
    const find = (i: number): number => {
      let r = i;
      while (parent[r] !== r) r = parent[r] as number;
      parent[i] = r;
      return r;
    };
    const union = (a: number, b: number): void => {
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
    };
    const storeOwner = new Map<string, number>();
    for (const n of this.#nodes) {
      for (const c of n.children) union(n.id, c.id);
      for (const s of n.stores) {
        if (!this.#stores.has(s)) {
          throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `node ${n.name} uses unknown store ${s}`, {
            context: { store: s },
          });
        }
        const o = storeOwner.get(s);
        if (o === undefined) storeOwner.set(s, n.id);
        else union(o, n.id);
      }
    }
    const groups = new Map<number, NodeDef[]>();
    for (const n of this.#nodes) {
      const r = find(n.id);
      const g = groups.get(r) ?? [];
      g.push(n);
      groups.set(r, g);
    }
    const subtopologies: SubTopology[] = [];
    const subOfNode = new Map<number, number>();
    for (const nodes of [...groups.values()].sort((a, b) => (a[0] as NodeDef).id - (b[0] as NodeDef).id)) {
      const id = subtopologies.length;
      const sources = new Map<string, SourceDef>();
      for (const n of nodes) {
        subOfNode.set(n.id, id);
        for (const t of n.sourceTopics ?? []) sources.set(t, this.#sources.get(t) as SourceDef);
      }
      if (sources.size === 0) {
        throw new AppError(
          ErrorCode.STREAMS_TOPOLOGY,
          `nodes ${nodes.map((n) => n.name).join(', ')} have no source`,
        );
      }
      const stores = [...new Set(nodes.flatMap((n) => n.stores))].sort();
      subtopologies.push({ id, sourceTopics: [...sources.keys()], sources, nodes, stores });
    }
    const repartitionTopics: RepartitionTopic[] = this.#repartitions.map((r) => ({
      topic: r.topic,
      partitions: r.partitions,
      writer: subOfNode.get(r.sink.id) as number,
      reader: subOfNode.get(r.source.id) as number,
    }));
    const applicationId = this.applicationId;
    const stores = new Map(this.#stores);
    const outputTopics = [...this.#outputs];
    return Object.freeze({
      applicationId,
      subtopologies,
      stores,
      repartitionTopics,
      outputTopics,
      changelogTopic: (store: string) => `${applicationId}-${store}-changelog`,
      describe: () =>
        subtopologies
          .map(
            (s) =>
              `Sub-topology ${s.id} (sources: ${s.sourceTopics.join(', ')}; stores: ${s.stores.join(', ') || '-'})\n` +
              s.nodes
                .map((n) => `  ${n.name} --> ${n.children.map((c) => c.name).join(', ') || '-'}`)
                .join('\n'),
          )
          .join('\n'),
    });
  }
}

/** Build a topology function into a runnable description. */
export function buildTopology(applicationId: string, topology: (builder: StreamsBuilder) => void): Topology {
  const b = new StreamsBuilder(applicationId);
  topology(b);
  return b.build();
}

/**
 * `KStream`, the record stream of the topology DSL (./topology.ts has the builder and an example):
 * stateless operators, low-level processors, repartitioning and grouping (the grouped and windowed
 * streams are in ./grouped-streams.ts), and the sinks.
 */
import { AppError, ErrorCode } from '../errors/index.ts';
import { type Codec, Codecs } from './codec.ts';
import { KGroupedStream } from './grouped-streams.ts';
import type { AnyRecord, NodeContext, NodeDef, NodeImpl } from './node.ts';
import type { GroupedOptions, ProduceOptions, StreamsBuilder } from './topology.ts';
import type { ExternalSink, Processor, ProcessorContext, StreamRecord } from './types.ts';

type Supplier<T> = () => T;

/** A node that writes each record to `topic` (in the commit's transaction): a sink or a repartition. */
export function produceNode(
  topic: string,
  keyCodec: Codec<unknown>,
  valueCodec: Codec<unknown>,
): (ctx: NodeContext) => NodeImpl {
  return (ctx) => ({
    process(r) {
      ctx.task.send(topic, keyCodec.serialize(r.key), valueCodec.serialize(r.value), r.timestamp, r.headers);
    },
  });
}

export class KStream<K, V> {
  readonly #b: StreamsBuilder;
  /** @internal */
  readonly node: NodeDef;
  /** The key changed since the last partitioning: groupByKey must repartition. */
  readonly #keyChanged: boolean;

  /** @internal */
  constructor(builder: StreamsBuilder, node: NodeDef, keyChanged: boolean) {
    this.#b = builder;
    this.node = node;
    this.#keyChanged = keyChanged;
  }

  #child<K2, V2>(
    prefix: string,
    make: (ctx: NodeContext) => NodeImpl,
    keyChanged: boolean,
    stores?: readonly string[],
  ): KStream<K2, V2> {
    const node = this.#b.addNode(this.#b.nextName(prefix), [this.node], make, stores ? { stores } : {});
    return new KStream<K2, V2>(this.#b, node, keyChanged);
  }

  filter(predicate: (key: K, value: V) => boolean): KStream<K, V> {
    return this.#child(
      'KSTREAM-FILTER',
      (ctx) => ({
        process: (r) => {
          if (predicate(r.key as K, r.value as V)) ctx.forward(r);
        },
      }),
      this.#keyChanged,
    );
  }

  filterNot(predicate: (key: K, value: V) => boolean): KStream<K, V> {
    return this.filter((k, v) => !predicate(k, v));
  }

  mapValues<V2>(fn: (value: V, key: K) => V2): KStream<K, V2> {
    return this.#child(
      'KSTREAM-MAPVALUES',
      (ctx) => ({
        process: (r) =>
          ctx.forward({
            key: r.key,
            value: fn(r.value as V, r.key as K),
            timestamp: r.timestamp,
            headers: r.headers,
          }),
      }),
      this.#keyChanged,
    );
  }

  map<K2, V2>(fn: (key: K, value: V) => readonly [K2, V2]): KStream<K2, V2> {
    return this.#child(
      'KSTREAM-MAP',
      (ctx) => ({
        process: (r) => {
          const [key, value] = fn(r.key as K, r.value as V);
          ctx.forward({ key, value, timestamp: r.timestamp, headers: r.headers });
        },
      }),
      true,
    );
  }

  selectKey<K2>(fn: (key: K, value: V) => K2): KStream<K2, V> {
    return this.#child(
      'KSTREAM-KEY-SELECT',
      (ctx) => ({
        process: (r) =>
          ctx.forward({
            key: fn(r.key as K, r.value as V),
            value: r.value,
            timestamp: r.timestamp,
            headers: r.headers,
          }),
      }),
      true,
    );
  }

  flatMap<K2, V2>(fn: (key: K, value: V) => Iterable<readonly [K2, V2]>): KStream<K2, V2> {
    return this.#child(
      'KSTREAM-FLATMAP',
      (ctx) => ({
        process: (r) => {
          for (const [key, value] of fn(r.key as K, r.value as V)) {
            ctx.forward({ key, value, timestamp: r.timestamp, headers: r.headers });
          }
        },
      }),
      true,
    );
  }

  flatMapValues<V2>(fn: (value: V, key: K) => Iterable<V2>): KStream<K, V2> {
    return this.#child(
      'KSTREAM-FLATMAPVALUES',
      (ctx) => ({
        process: (r) => {
          for (const value of fn(r.value as V, r.key as K)) {
            ctx.forward({ key: r.key, value, timestamp: r.timestamp, headers: r.headers });
          }
        },
      }),
      this.#keyChanged,
    );
  }

  peek(fn: (key: K, value: V) => void): KStream<K, V> {
    return this.#child(
      'KSTREAM-PEEK',
      (ctx) => ({
        process: (r) => {
          fn(r.key as K, r.value as V);
          ctx.forward(r);
        },
      }),
      this.#keyChanged,
    );
  }

  merge(other: KStream<K, V>): KStream<K, V> {
    const node = this.#b.addNode(this.#b.nextName('KSTREAM-MERGE'), [this.node, other.node], (ctx) => ({
      process: (r) => ctx.forward(r),
    }));
    return new KStream<K, V>(this.#b, node, this.#keyChanged || other.#keyChanged);
  }

  /**
   * A low-level processor: `supplier` makes one instance per task. `stores` names the stores (added
   * with `builder.addStateStore`) it may use. The output is treated as re-keyed.
   */
  process<K2, V2>(
    supplier: Supplier<Processor<K, V, K2, V2>>,
    options: { name?: string; stores?: readonly string[] } = {},
  ): KStream<K2, V2> {
    const stores = options.stores ?? [];
    const node = this.#b.addNode(
      options.name ?? this.#b.nextName('KSTREAM-PROCESSOR'),
      [this.node],
      (ctx) => {
        const proc = supplier();
        const task = ctx.task;
        const pctx: ProcessorContext<K2, V2> = {
          applicationId: task.applicationId,
          taskId: task.taskId,
          partition: task.partition,
          forward: (r: StreamRecord<K2, V2>) => ctx.forward(r as AnyRecord),
          getStateStore: <S>(name: string): S => {
            if (!stores.includes(name)) {
              throw new AppError(
                ErrorCode.STREAMS_TOPOLOGY,
                `store ${name} is not connected to this processor`,
                {
                  context: { store: name },
                },
              );
            }
            return task.store<S>(name);
          },
          schedule: (intervalMs, type, callback) => task.schedule(intervalMs, type, callback),
          streamTimeMs: () => task.streamTime(),
          wallClockTimeMs: () => task.wallClock(),
          recordMetadata: () => task.recordMetadata(),
          late: (reason: string) => task.late(reason),
        };
        proc.init?.(pctx);
        return {
          process: (r) => proc.process(r as StreamRecord<K, V>),
          ...(proc.close === undefined ? {} : { close: () => proc.close?.() }),
        };
      },
      { stores },
    );
    return new KStream<K2, V2>(this.#b, node, true);
  }

  /**
   * Re-partition by the current key through `<applicationId>-<name>-repartition` (Kafka Streams'
   * `KStream#repartition`), so that a downstream low-level processor sees every record of a key in one
   * task. Always writes the topic, whether or not the key changed. Give streams that a processor
   * reads together the same `partitions` (they must be co-partitioned).
   */
  repartition(options: GroupedOptions<K, V> = {}): KStream<K, V> {
    const source = this.#b.repartition(
      this.node,
      options.name ?? this.#b.nextName('KSTREAM-REPARTITION'),
      (options.key ?? Codecs.json<K>()) as Codec<unknown>,
      (options.value ?? Codecs.json<V>()) as Codec<unknown>,
      options.partitions,
    );
    return new KStream<K, V>(this.#b, source, false);
  }

  /** Group by the current key; repartitions first if the key was changed upstream. */
  groupByKey(options: GroupedOptions<K, V> = {}): KGroupedStream<K, V> {
    const keyCodec = options.key ?? Codecs.json<K>();
    if (!this.#keyChanged) return new KGroupedStream<K, V>(this.#b, this.node, keyCodec, options.value);
    const name = options.name ?? this.#b.nextName('KSTREAM-GROUPBYKEY');
    const source = this.#b.repartition(
      this.node,
      name,
      keyCodec as Codec<unknown>,
      (options.value ?? Codecs.json<V>()) as Codec<unknown>,
      options.partitions,
    );
    return new KGroupedStream<K, V>(this.#b, source, keyCodec, options.value);
  }

  /** Re-key with `fn` and group: always through a repartition topic. */
  groupBy<K2>(fn: (key: K, value: V) => K2, options: GroupedOptions<K2, V> = {}): KGroupedStream<K2, V> {
    return this.selectKey(fn).groupByKey(options);
  }

  /** Write to a topic (in the commit's transaction). */
  to(topic: string, options: ProduceOptions<K, V>): void {
    this.#b.addNode(
      this.#b.nextName('KSTREAM-SINK'),
      [this.node],
      produceNode(topic, options.key as Codec<unknown>, options.value as Codec<unknown>),
      { sinkTopic: topic },
    );
    this.#b.addOutput(topic);
  }

  /** Hand records to an external sink; see `ExternalSink` for the flush/commit contract. */
  sink(supplier: Supplier<ExternalSink<K, V>>, options: { name?: string } = {}): void {
    this.#b.addNode(options.name ?? this.#b.nextName('KSTREAM-EXTERNAL-SINK'), [this.node], (ctx) => {
      const sink = supplier();
      ctx.task.registerSink(sink as ExternalSink<unknown, unknown>);
      return {
        process: (r) => {
          sink.write(
            r as StreamRecord<K, V>,
            ctx.task.recordMetadata() ?? { topic: '', partition: -1, offset: -1 },
          );
        },
      };
    });
  }
}

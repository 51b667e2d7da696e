/**
 * The topology DSL, part: grouped and windowed streams — what `groupByKey`/`groupBy` and
 * `windowedBy` return, and the aggregations (count, reduce, aggregate) that turn them back into a
 * `KStream` of results, each backed by a state store with a changelog.
 */
import { AppError, ErrorCode } from '../errors/index.ts';
import {
  type Aggregator,
  keyValueAggregate,
  slidingWindowAggregate,
  timeWindowAggregate,
} from './aggregate-nodes.ts';
import { type Codec, Codecs } from './codec.ts';
import { KStream } from './kstream.ts';
import type { NodeDef } from './node.ts';
import { SlidingWindowStore } from './sliding-store.ts';
import { Stores, TimeWindowStore } from './stores.ts';
import type { AggregateOptions, StreamsBuilder } from './topology.ts';
import type { EmitStrategy, Windowed } from './types.ts';
import { SlidingWindows, TimeWindows } from './windows.ts';

const countInit = (): number => 0;
const countAdd = (_k: unknown, _v: unknown, n: number): number => n + 1;

export class KGroupedStream<K, V> {
  readonly #b: StreamsBuilder;
  readonly #node: NodeDef;
  readonly #keyCodec: Codec<K>;
  readonly #valueCodec: Codec<V> | undefined;

  /** @internal */
  constructor(builder: StreamsBuilder, node: NodeDef, keyCodec: Codec<K>, valueCodec: Codec<V> | undefined) {
    this.#b = builder;
    this.#node = node;
    this.#keyCodec = keyCodec;
    this.#valueCodec = valueCodec;
  }

  windowedBy(windows: TimeWindows): TimeWindowedStream<K, V>;
  windowedBy(windows: SlidingWindows): SlidingWindowedStream<K, V>;
  windowedBy(windows: TimeWindows | SlidingWindows): TimeWindowedStream<K, V> | SlidingWindowedStream<K, V> {
    if (windows instanceof TimeWindows)
      return new TimeWindowedStream(this.#b, this.#node, this.#keyCodec, windows);
    if (windows instanceof SlidingWindows) {
      return new SlidingWindowedStream(this.#b, this.#node, this.#keyCodec, this.#valueCodec, windows);
    }
    throw new AppError(ErrorCode.STREAMS_WINDOW, 'windowedBy: unknown window type');
  }

  count(options: AggregateOptions<number> = {}): KStream<K, number> {
    return this.aggregate(countInit, countAdd, { ...options, codec: options.codec ?? Codecs.float64 });
  }

  reduce(reducer: (a: V, b: V) => V, options: AggregateOptions<V> = {}): KStream<K, V> {
    return this.aggregate<V | undefined>(
      () => undefined,
      (_k, v, agg) => (agg === undefined ? v : reducer(agg, v)),
      options as AggregateOptions<V | undefined>,
    ) as KStream<K, V>;
  }

  aggregate<A>(
    initializer: () => A,
    aggregator: Aggregator<K, V, A>,
    options: AggregateOptions<A> = {},
  ): KStream<K, A> {
    const name = this.#b.uniqueName(
      'store',
      options.name ?? this.#b.nextName('KSTREAM-AGGREGATE-STATE-STORE'),
    );
    this.#b.addStateStore(
      Stores.keyValue(name, { key: this.#keyCodec, value: options.codec ?? Codecs.json<A>() }),
    );
    const node = this.#b.addNode(
      this.#b.nextName('KSTREAM-AGGREGATE'),
      [this.#node],
      keyValueAggregate<K, V, A>({ storeName: name, initializer, aggregator }),
      { stores: [name] },
    );
    return new KStream<K, A>(this.#b, node, false);
  }
}

export class TimeWindowedStream<K, V> {
  readonly #b: StreamsBuilder;
  readonly #node: NodeDef;
  readonly #keyCodec: Codec<K>;
  readonly #windows: TimeWindows;

  /** @internal */
  constructor(builder: StreamsBuilder, node: NodeDef, keyCodec: Codec<K>, windows: TimeWindows) {
    this.#b = builder;
    this.#node = node;
    this.#keyCodec = keyCodec;
    this.#windows = windows;
  }

  count(options: AggregateOptions<number> = {}): KStream<Windowed<K>, number> {
    return this.aggregate(countInit, countAdd, { ...options, codec: options.codec ?? Codecs.float64 });
  }

  reduce(
    reducer: (a: V, b: V) => V,
    options: AggregateOptions<V> & { codec: Codec<V> },
  ): KStream<Windowed<K>, V> {
    const codec = options.codec;
    const optional: Codec<V | undefined> = {
      serialize: (v) => (v === undefined ? Buffer.alloc(0) : (codec.serialize(v) ?? Buffer.alloc(0))),
      deserialize: (b) => (b === null || b.length === 0 ? undefined : codec.deserialize(b)),
    };
    return this.aggregate<V | undefined>(
      () => undefined,
      (_k, v, agg) => (agg === undefined ? v : reducer(agg, v)),
      { ...options, codec: optional },
    ) as KStream<Windowed<K>, V>;
  }

  aggregate<A>(
    initializer: () => A,
    aggregator: Aggregator<K, V, A>,
    options: AggregateOptions<A> = {},
  ): KStream<Windowed<K>, A> {
    const name = this.#b.uniqueName(
      'store',
      options.name ?? this.#b.nextName('KSTREAM-AGGREGATE-STATE-STORE'),
    );
    const windows = this.#windows;
    const keyCodec = this.#keyCodec;
    const aggCodec = options.codec ?? Codecs.json<A>();
    this.#b.addStateStore({
      name,
      kind: 'window',
      create: () => new TimeWindowStore<K, A>(name, windows.sizeMs, keyCodec, aggCodec),
    });
    const node = this.#b.addNode(
      this.#b.nextName('KSTREAM-WINDOW-AGGREGATE'),
      [this.#node],
      timeWindowAggregate<K, V, A>({
        windows,
        storeName: name,
        keyCodec,
        initializer,
        aggregator,
        emit: options.emit ?? 'onWindowClose',
      }),
      { stores: [name] },
    );
    return new KStream<Windowed<K>, A>(this.#b, node, false);
  }
}

export class SlidingWindowedStream<K, V> {
  readonly #b: StreamsBuilder;
  readonly #node: NodeDef;
  readonly #keyCodec: Codec<K>;
  readonly #valueCodec: Codec<V> | undefined;
  readonly #windows: SlidingWindows;

  /** @internal */
  constructor(
    builder: StreamsBuilder,
    node: NodeDef,
    keyCodec: Codec<K>,
    valueCodec: Codec<V> | undefined,
    windows: SlidingWindows,
  ) {
    this.#b = builder;
    this.#node = node;
    this.#keyCodec = keyCodec;
    this.#valueCodec = valueCodec;
    this.#windows = windows;
  }

  count(options: { name?: string; emit?: EmitStrategy } = {}): KStream<Windowed<K>, number> {
    return this.#add(countInit, countAdd, options, false);
  }

  reduce(
    reducer: (a: V, b: V) => V,
    options: { name?: string; emit?: EmitStrategy } = {},
  ): KStream<Windowed<K>, V> {
    return this.#add<V | undefined>(
      () => undefined,
      (_k, v, agg) => (agg === undefined ? v : reducer(agg, v)),
      options,
      true,
    ) as KStream<Windowed<K>, V>;
  }

  /**
   * The aggregator folds a window's records in timestamp order. The key's buffered records are
   * changelogged with the grouped value codec (`groupByKey({ value })`, default JSON).
   */
  aggregate<A>(
    initializer: () => A,
    aggregator: Aggregator<K, V, A>,
    options: { name?: string; emit?: EmitStrategy } = {},
  ): KStream<Windowed<K>, A> {
    return this.#add(initializer, aggregator, options, true);
  }

  #add<A>(
    initializer: () => A,
    aggregator: Aggregator<K, V, A>,
    options: { name?: string; emit?: EmitStrategy },
    keepValues: boolean,
  ): KStream<Windowed<K>, A> {
    const name = this.#b.uniqueName('store', options.name ?? this.#b.nextName('KSTREAM-SLIDING-STATE-STORE'));
    const windows = this.#windows;
    const keyCodec = this.#keyCodec;
    const valueCodec = keepValues ? (this.#valueCodec ?? Codecs.json<V>()) : null;
    this.#b.addStateStore({
      name,
      kind: 'sliding',
      create: () =>
        new SlidingWindowStore<K, V, A>(
          name,
          windows.timeDifferenceMs,
          keyCodec,
          valueCodec,
          initializer,
          aggregator,
          windows.graceMs,
        ),
    });
    const node = this.#b.addNode(
      this.#b.nextName('KSTREAM-SLIDING-AGGREGATE'),
      [this.#node],
      slidingWindowAggregate<K, V, A>({
        windows,
        storeName: name,
        keyCodec,
        emit: options.emit ?? 'onWindowClose',
      }),
      { stores: [name] },
    );
    return new KStream<Windowed<K>, A>(this.#b, node, false);
  }
}

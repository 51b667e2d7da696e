/** Topologies shared by the runtime tests on the embedded log and on Apache Kafka. */
import { Codecs, type StreamsBuilder, TimeWindows, windowedKeyCodec } from '../../../src/streams/index.ts';

export interface UserMsg {
  user: string;
  ts: number;
}

const str = Codecs.string;

/**
 * Messages re-keyed by user (through the `by-user` repartition topic), counted per 10 s window
 * (store `user-counts`), final results to `output`; user "ignored" is filtered out. Grace (60 s)
 * covers the disorder that interleaving the input partitions in the repartition topic causes.
 */
export function windowedCountByUser(input = 'in', output = 'out') {
  return (b: StreamsBuilder): void => {
    b.stream(input, { key: str, value: Codecs.json<UserMsg>(), timestamp: (_k, m) => m.ts })
      .filter((_k, m) => m.user !== 'ignored')
      .selectKey((_k, m) => m.user)
      .groupByKey({ name: 'by-user', key: str, value: Codecs.json<UserMsg>() })
      .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 60_000))
      .count({ name: 'user-counts' })
      .to(output, { key: windowedKeyCodec(str), value: Codecs.json<number>() });
  };
}

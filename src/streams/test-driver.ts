/**
 * `TopologyTestDriver`: runs a topology function synchronously, without a log — the counterpart of
 * Kafka Streams' driver. It uses the same `StreamTask` core as the runtime (one task per
 * sub-topology, partition 0): records are serialised with the given codecs and deserialised by the
 * topology's own codecs, repartition topics are fed back to their reader at once, and every `pipe`
 * is followed by a commit (stores flush their changelog). Wall-clock time is a `ManualClock`
 * moved by `advanceWallClockTime`.
 *
 *   const driver = new TopologyTestDriver(myTopology, { applicationId: 'test' });
 *   const input = driver.createInputTopic('chat.messages', { key: Codecs.string, value: Codecs.json() });
 *   const output = driver.createOutputTopic('counts', { key: windowedKeyCodec(Codecs.string), value: Codecs.json() });
 *   input.pipe('u1', { … }, 1_000);
 *   driver.advanceWallClockTime(10_000);
 *   assert.deepStrictEqual(output.readKeyValues(), [...]);
 */
import { ManualClock } from '../clock/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import type { LogRecord, RecordHeader } from '../log/index.ts';
import type { Codec } from './codec.ts';
import type { DeadLetterEnvelope } from './dead-letter.ts';
import type { Topology } from './node.ts';
import { newCounters, type OutgoingRecord, StreamTask, type TaskCounters } from './task.ts';
import { buildTopology, type StreamsBuilder } from './topology.ts';
import type { ErrorPolicies } from './types.ts';

export interface TestDriverOptions {
  readonly applicationId?: string;
  /** Initial wall-clock time (ms). Default 0. */
  readonly wallClockStartMs?: number;
  readonly errorPolicies?: ErrorPolicies;
  /** See StreamTask; default null here (stream time moves only with records unless set). */
  readonly idleAdvanceMs?: number | null;
}

export interface TestRecord<K, V> {
  readonly key: K;
  readonly value: V;
  readonly timestamp: number;
  readonly headers: readonly RecordHeader[];
}

interface StoredRecord {
  readonly offset: number;
  readonly record: OutgoingRecord;
}

export class TestInputTopic<K, V> {
  readonly #driver: TopologyTestDriver;
  readonly #topic: string;
  readonly #codecs: { key: Codec<K>; value: Codec<V> };

  /** @internal */
  constructor(driver: TopologyTestDriver, topic: string, codecs: { key: Codec<K>; value: Codec<V> }) {
    this.#driver = driver;
    this.#topic = topic;
    this.#codecs = codecs;
  }

  /** Pipe one record; `timestampMs` defaults to the driver's wall-clock time. */
  pipe(key: K, value: V, timestampMs?: number, headers: readonly RecordHeader[] = []): void {
    this.#driver.pipeRaw(
      this.#topic,
      this.#codecs.key.serialize(key),
      this.#codecs.value.serialize(value),
      timestampMs,
      headers,
    );
  }

  pipeAll(records: Iterable<{ key: K; value: V; timestamp?: number }>): void {
    for (const r of records) this.pipe(r.key, r.value, r.timestamp);
  }
}

export class TestOutputTopic<K, V> {
  readonly #driver: TopologyTestDriver;
  readonly #topic: string;
  readonly #codecs: { key: Codec<K>; value: Codec<V> };
  #position = 0;

  /** @internal */
  constructor(driver: TopologyTestDriver, topic: string, codecs: { key: Codec<K>; value: Codec<V> }) {
    this.#driver = driver;
    this.#topic = topic;
    this.#codecs = codecs;
  }

  /** Records not read yet, in output order; reading consumes them. */
  readRecords(): TestRecord<K, V>[] {
    const all = this.#driver.topicRecords(this.#topic);
    const out = all.slice(this.#position).map(({ record }) => ({
      key: this.#codecs.key.deserialize(record.key),
      value: this.#codecs.value.deserialize(record.value),
      timestamp: record.timestamp,
      headers: record.headers,
    }));
    this.#position = all.length;
    return out;
  }

  readKeyValues(): Array<[K, V]> {
    return this.readRecords().map((r) => [r.key, r.value]);
  }

  readValues(): V[] {
    return this.readRecords().map((r) => r.value);
  }

  isEmpty(): boolean {
    return this.#driver.topicRecords(this.#topic).length === this.#position;
  }
}

export class TopologyTestDriver {
  readonly topology: Topology;
  readonly clock: ManualClock;
  readonly #tasks: StreamTask[] = [];
  readonly #taskOf = new Map<string, StreamTask>();
  readonly #topics = new Map<string, StoredRecord[]>();
  readonly #inputOffsets = new Map<string, number>();
  readonly #dlqPositions = new Map<string, number>();

  constructor(topology: (builder: StreamsBuilder) => void, options: TestDriverOptions = {}) {
    this.topology = buildTopology(options.applicationId ?? 'test-app', topology);
    this.clock = new ManualClock(options.wallClockStartMs ?? 0);
    const errorPolicies = {
      deserialization: options.errorPolicies?.deserialization ?? 'dead-letter',
      processing: options.errorPolicies?.processing ?? 'dead-letter',
      late: options.errorPolicies?.late ?? 'drop',
    } as const;
    for (const sub of this.topology.subtopologies) {
      const task = new StreamTask({
        topology: this.topology,
        sub,
        partition: 0,
        clock: this.clock,
        errorPolicies,
        idleAdvanceMs: options.idleAdvanceMs ?? null,
      });
      this.#tasks.push(task);
      for (const t of sub.sourceTopics) this.#taskOf.set(t, task);
    }
  }

  createInputTopic<K, V>(topic: string, codecs: { key: Codec<K>; value: Codec<V> }): TestInputTopic<K, V> {
    if (!this.#taskOf.has(topic)) {
      throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `${topic} is not a source topic of the topology`, {
        context: { topic },
      });
    }
    return new TestInputTopic(this, topic, codecs);
  }

  createOutputTopic<K, V>(topic: string, codecs: { key: Codec<K>; value: Codec<V> }): TestOutputTopic<K, V> {
    return new TestOutputTopic(this, topic, codecs);
  }

  /** Pipe raw bytes (e.g. malformed payloads) into a source topic. */
  pipeRaw(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    timestampMs?: number,
    headers: readonly RecordHeader[] = [],
  ): void {
    if (!this.#taskOf.has(topic)) {
      throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `${topic} is not a source topic of the topology`);
    }
    const timestamp = timestampMs ?? this.clock.now();
    this.#deliver({ topic, key, value, timestamp, headers });
    this.#commit();
  }

  #append(record: OutgoingRecord): LogRecord {
    let list = this.#topics.get(record.topic);
    if (list === undefined) {
      list = [];
      this.#topics.set(record.topic, list);
    }
    const offset = this.#inputOffsets.get(record.topic) ?? 0;
    this.#inputOffsets.set(record.topic, offset + 1);
    list.push({ offset, record });
    return {
      topic: record.topic,
      partition: 0,
      offset,
      timestamp: record.timestamp,
      key: record.key,
      value: record.value,
      headers: record.headers,
    };
  }

  #deliver(first: OutgoingRecord): void {
    const queue: LogRecord[] = [this.#append(first)];
    while (queue.length > 0) {
      const raw = queue.shift() as LogRecord;
      const task = this.#taskOf.get(raw.topic) as StreamTask;
      task.process(raw);
      this.#drain(queue);
    }
  }

  #drain(queue: LogRecord[]): void {
    for (const task of this.#tasks) {
      for (const out of task.takeOutputs()) {
        const raw = this.#append(out);
        if (this.#taskOf.has(out.topic)) queue.push(raw);
      }
    }
  }

  #commit(): void {
    for (const task of this.#tasks) {
      for (const rec of task.takeChangelog(this.topology.changelogTopic)) this.#append(rec);
      task.takeOffsets();
    }
  }

  /** Move wall-clock time: runs due wall-clock punctuations and idle advance, then commits. */
  advanceWallClockTime(ms: number): void {
    this.clock.advance(ms);
    const queue: LogRecord[] = [];
    for (const task of this.#tasks) task.tick();
    this.#drain(queue);
    while (queue.length > 0) {
      const raw = queue.shift() as LogRecord;
      (this.#taskOf.get(raw.topic) as StreamTask).process(raw);
      this.#drain(queue);
    }
    this.#commit();
  }

  /** Await every external sink's flush (what the runtime does before each commit). */
  async flushSinks(): Promise<void> {
    for (const task of this.#tasks) for (const sink of task.sinks) await sink.flush();
  }

  /** A store by name (`KeyValueStore`, or `ReadOnlyWindowStore` for windowed aggregations). */
  getStore<S>(name: string): S {
    for (const task of this.#tasks) {
      const s = task.stores.get(name);
      if (s !== undefined) return s as S;
    }
    throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `no store ${name}`, { context: { store: name } });
  }

  /** Dead letters written for `sourceTopic` not read yet (reading consumes them). */
  readDeadLetters(sourceTopic: string): Array<{ key: Buffer | null; envelope: DeadLetterEnvelope }> {
    const topic = `${sourceTopic}.dlq`;
    const all = this.topicRecords(topic);
    const from = this.#dlqPositions.get(topic) ?? 0;
    this.#dlqPositions.set(topic, all.length);
    return all.slice(from).map(({ record }) => ({
      key: record.key,
      envelope: JSON.parse((record.value as Buffer).toString('utf8')) as DeadLetterEnvelope,
    }));
  }

  /** Everything written to a topic (outputs, repartition, changelog, DLQ), in order. */
  topicRecords(topic: string): readonly StoredRecord[] {
    return this.#topics.get(topic) ?? [];
  }

  /** Counters summed over the tasks. */
  metrics(): TaskCounters & { stateEntries: number; streamTimeMs: number } {
    const total = { ...newCounters(), stateEntries: 0, streamTimeMs: Number.NEGATIVE_INFINITY };
    for (const t of this.#tasks) {
      for (const k of Object.keys(t.counters) as Array<keyof TaskCounters>) total[k] += t.counters[k];
      total.stateEntries += t.stateSize();
      total.streamTimeMs = Math.max(total.streamTimeMs, t.streamTimeMs);
    }
    return total;
  }

  close(): void {
    for (const t of this.#tasks) t.close();
  }
}

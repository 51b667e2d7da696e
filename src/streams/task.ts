/**
 * A stream task: one sub-topology on one partition number. The processing core shared by the runtime
 * and the test driver — they differ only in where raw records come from and where outputs go.
 *
 * Time rules:
 * - Stream time = the largest event time the task has seen (from its source records, after the
 *   timestamp extractor); it never goes back. It is saved in every store changelog at commit.
 * - Idle advance: when `idleAdvanceMs` (wall clock) has passed since the task last processed a record,
 *   stream time follows the wall clock from there: streamTime = max(streamTime, t_last + (now − w_last))
 *   where t_last is the stream time and w_last the wall-clock time at the last record. So a quiet
 *   partition still closes (and emits) the windows of its last burst, about end + grace − t_last of
 *   wall-clock time after it. `null` disables it (deterministic replays, tests).
 */
import type { Clock } from '../clock/index.ts';
import { AppError, ErrorCode, isAppError } from '../errors/index.ts';
import type { LogRecord, RecordHeader, TopicPartitionOffset } from '../log/index.ts';
import { type DeadLetterStage, deadLetterRecord, dlqTopicOf, errorReason } from './dead-letter.ts';
import type {
  AnyRecord,
  NodeContext,
  NodeDef,
  NodeImpl,
  SubTopology,
  TaskServices,
  Topology,
} from './node.ts';
import { META_PREFIX, STREAM_TIME_META_KEY, type StateStoreImpl } from './stores.ts';
import type {
  Cancellable,
  ErrorPolicies,
  ErrorPolicy,
  ExternalSink,
  LatePolicy,
  PunctuationType,
  SourceRecordMetadata,
} from './types.ts';

/** A record to write, collected until the next commit. */
export interface OutgoingRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: readonly RecordHeader[];
  /** Explicit partition (changelogs, dead letters); otherwise by key. */
  readonly partition?: number;
}

/** A source record read by `StreamTask.prepare`: its key, value and event time, or why it could not be read. */
export interface PreparedRecord {
  readonly raw: LogRecord;
  readonly key: unknown;
  readonly value: unknown;
  /** The event time (the log timestamp when it could not be extracted). */
  readonly timestamp: number;
  readonly failure:
    | { readonly stage: DeadLetterStage; readonly err: unknown; readonly policy: ErrorPolicy }
    | undefined;
}

export interface TaskCounters {
  recordsProcessed: number;
  lateRecords: number;
  deadLettered: number;
  skipped: number;
  /** Errors of a punctuation or a window close, where no source record exists to dead-letter. */
  punctuationErrors: number;
}

export interface TaskOptions {
  readonly topology: Topology;
  readonly sub: SubTopology;
  readonly partition: number;
  readonly clock: Clock;
  readonly errorPolicies: Required<ErrorPolicies>;
  readonly idleAdvanceMs: number | null;
  /**
   * Where outputs and dead letters go, in the order they are produced. The runtime gives all its
   * tasks one array, so that a commit writes them in processing order across tasks (a repartition
   * topic then receives its records in about timestamp order). Default: the task's own `outputs`.
   */
  readonly outputs?: OutgoingRecord[];
}

interface Punctuator {
  readonly intervalMs: number;
  readonly callback: (t: number) => void;
  next: number;
  cancelled: boolean;
}

const NO_HEADERS: readonly RecordHeader[] = [];

export function newCounters(): TaskCounters {
  return { recordsProcessed: 0, lateRecords: 0, deadLettered: 0, skipped: 0, punctuationErrors: 0 };
}

export class StreamTask {
  readonly id: string;
  readonly partition: number;
  readonly sub: SubTopology;
  readonly counters: TaskCounters = newCounters();
  /** Outputs, dead letters (not changelogs) since the last `takeOutputs` (see `TaskOptions.outputs`). */
  outputs: OutgoingRecord[];
  readonly stores = new Map<string, StateStoreImpl>();
  readonly sinks: ExternalSink<unknown, unknown>[] = [];
  /** Input offsets this task committed last, per source topic (kept by the runtime). */
  readonly committedOffsets = new Map<string, number>();

  readonly #o: TaskOptions;
  readonly #applicationId: string;
  #streamTime = Number.NEGATIVE_INFINITY;
  #flushedStreamTime = Number.NEGATIVE_INFINITY;
  #lastRecordWall: number;
  #lastRecordStreamTime = Number.NEGATIVE_INFINITY;
  readonly #entry = new Map<string, NodeImpl>();
  readonly #impls: NodeImpl[] = [];
  readonly #stListeners: Array<(st: number) => void> = [];
  #streamPunctuators: Punctuator[] = [];
  #wallPunctuators: Punctuator[] = [];
  #current: LogRecord | null = null;
  /** Next offset to commit, per source topic. */
  readonly #consumed = new Map<string, number>();
  #hasProgress = false;

  constructor(options: TaskOptions) {
    this.#o = options;
    this.outputs = options.outputs ?? [];
    this.#applicationId = options.topology.applicationId;
    this.sub = options.sub;
    this.partition = options.partition;
    this.id = `${options.sub.id}_${options.partition}`;
    this.#lastRecordWall = options.clock.now();
    for (const name of options.sub.stores) {
      const spec = options.topology.stores.get(name);
      if (spec === undefined) throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `unknown store ${name}`);
      this.stores.set(name, spec.create());
    }
    this.#instantiate();
  }

  #instantiate(): void {
    const impls = new Map<NodeDef, NodeImpl>();
    const services = this.#services();
    const build = (def: NodeDef): NodeImpl => {
      const existing = impls.get(def);
      if (existing !== undefined) return existing;
      const children: NodeImpl[] = [];
      let forward: (r: AnyRecord) => void;
      const ctx: NodeContext = { task: services, forward: (r) => forward(r) };
      const impl = def.make(ctx);
      impls.set(def, impl);
      this.#impls.push(impl);
      for (const c of def.children) children.push(build(c));
      if (children.length === 0) forward = () => {};
      else if (children.length === 1) {
        const only = children[0] as NodeImpl;
        forward = (r) => only.process(r);
      } else
        forward = (r) => {
          for (const c of children) c.process(r);
        };
      return impl;
    };
    for (const [topic, source] of this.sub.sources) this.#entry.set(topic, build(source.node));
  }

  #services(): TaskServices {
    return {
      applicationId: this.#applicationId,
      taskId: `${this.sub.id}_${this.#o.partition}`,
      partition: this.#o.partition,
      streamTime: () => this.#streamTime,
      wallClock: () => this.#o.clock.now(),
      store: <S>(name: string): S => {
        const s = this.stores.get(name);
        if (s === undefined) {
          throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `store ${name} is not in this sub-topology`, {
            context: { store: name },
          });
        }
        return s as S;
      },
      late: (reason) => this.#late(reason),
      onStreamTime: (listener) => {
        this.#stListeners.push(listener);
      },
      schedule: (intervalMs, type, callback) => this.#schedule(intervalMs, type, callback),
      recordMetadata: () => {
        const c = this.#current;
        return c === null ? null : { topic: c.topic, partition: c.partition, offset: c.offset };
      },
      send: (topic, key, value, timestamp, headers) => {
        this.#hasProgress = true;
        this.outputs.push({ topic, key, value, timestamp, headers });
      },
      registerSink: (sink) => {
        this.sinks.push(sink);
      },
    };
  }

  get streamTimeMs(): number {
    return this.#streamTime;
  }

  /** Something to commit: records consumed, or state/time changed by punctuation. */
  get hasProgress(): boolean {
    return this.#hasProgress;
  }

  /** Process one record of a source topic (the task's partition). Throws only under the `fail` policy. */
  process(raw: LogRecord): void {
    this.processPrepared(this.prepare(raw));
    if (Number.isNaN(this.#lastRecordWall)) this.#lastRecordWall = this.#o.clock.now();
  }

  /**
   * Deserialise a source record and extract its event time, without touching the task's state (the
   * runtime does it for the head of each buffered partition, to choose the next record by event
   * time). A record that cannot be read carries the failure, reported when it is processed.
   */
  prepare(raw: LogRecord): PreparedRecord {
    const source = this.sub.sources.get(raw.topic);
    if (source === undefined) {
      throw new AppError(ErrorCode.STREAMS_TOPOLOGY, `task ${this.id} has no source ${raw.topic}`);
    }
    let key: unknown;
    let value: unknown;
    try {
      key = source.keyCodec.deserialize(raw.key);
      value = source.valueCodec.deserialize(raw.value);
    } catch (err) {
      const stage: DeadLetterStage = isAppError(err, ErrorCode.EVENT_INVALID)
        ? 'validation'
        : 'deserialization';
      const policy = source.errorPolicy ?? this.#o.errorPolicies.deserialization;
      return {
        raw,
        key: undefined,
        value: undefined,
        timestamp: raw.timestamp,
        failure: { stage, err, policy },
      };
    }
    let ts: number;
    try {
      ts = source.timestamp === undefined ? raw.timestamp : source.timestamp(key, value, raw);
      if (!Number.isFinite(ts) || ts < 0)
        throw new AppError(ErrorCode.EVENT_INVALID, `invalid event time ${ts}`);
    } catch (err) {
      const failure = { stage: 'timestamp' as const, err, policy: this.#o.errorPolicies.processing };
      return { raw, key, value, timestamp: raw.timestamp, failure };
    }
    return { raw, key, value, timestamp: ts, failure: undefined };
  }

  /** Process a record `prepare`d by this task. Throws only under the `fail` policy. */
  processPrepared(record: PreparedRecord): void {
    const raw = record.raw;
    this.#consumed.set(raw.topic, raw.offset + 1);
    this.#hasProgress = true;
    this.counters.recordsProcessed++;
    this.#current = raw;
    try {
      if (record.failure !== undefined) {
        this.#fail(record.failure.stage, record.failure.err, record.failure.policy);
        return;
      }
      const ts = record.timestamp;
      const advanced = ts > this.#streamTime;
      if (advanced) this.#streamTime = ts;
      // The wall-clock time of the last record is read once, by the next `tick()` (the runtime ticks
      // after every slice of records), not per record: a clock read per record costs more than it
      // tells. It is then the end of the slice, a few ms later than the record: idle advance starts
      // no earlier than it did. `process()` (the test driver) reads it at once.
      this.#lastRecordWall = Number.NaN;
      this.#lastRecordStreamTime = this.#streamTime;
      try {
        (this.#entry.get(raw.topic) as NodeImpl).process({
          key: record.key,
          value: record.value,
          timestamp: ts,
          headers: raw.headers,
        });
      } catch (err) {
        this.#fail('processing', err, this.#o.errorPolicies.processing);
      }
      if (advanced) this.#streamTimeAdvanced();
    } finally {
      this.#current = null;
    }
  }

  #fail(stage: DeadLetterStage, err: unknown, policy: ErrorPolicy | LatePolicy): void {
    const raw = this.#current;
    if (policy === 'fail') {
      throw new AppError(
        ErrorCode.STREAMS_PROCESSING,
        `${stage} error in task ${this.id}: ${errorReason(err)}`,
        {
          cause: err,
          context: {
            stage,
            topic: raw?.topic,
            partition: raw?.partition,
            offset: raw?.offset,
            task: this.id,
          },
        },
      );
    }
    if (raw === null) {
      this.counters.punctuationErrors++;
      return;
    }
    if (policy === 'dead-letter') {
      const dl = deadLetterRecord(raw, stage, err, this.#applicationId, this.id);
      this.#hasProgress = true;
      this.outputs.push({
        topic: dlqTopicOf(raw.topic),
        ...dl,
        timestamp: raw.timestamp,
        partition: raw.partition,
      });
      this.counters.deadLettered++;
    } else {
      this.counters.skipped++;
    }
  }

  #late(reason: string): void {
    this.counters.lateRecords++;
    if (this.#o.errorPolicies.late === 'dead-letter' && this.#current !== null) {
      const raw = this.#current;
      const dl = deadLetterRecord(raw, 'late', new Error(reason), this.#applicationId, this.id);
      this.#hasProgress = true;
      this.outputs.push({
        topic: dlqTopicOf(raw.topic),
        ...dl,
        timestamp: raw.timestamp,
        partition: raw.partition,
      });
      this.counters.deadLettered++;
    }
  }

  #streamTimeAdvanced(): void {
    const st = this.#streamTime;
    for (const l of this.#stListeners) {
      try {
        l(st);
      } catch (err) {
        this.#fail('processing', err, this.#o.errorPolicies.processing);
      }
    }
    for (const p of this.#streamPunctuators) {
      if (p.cancelled) continue;
      if (p.next === Number.NEGATIVE_INFINITY) {
        p.next = st - (st % p.intervalMs) + p.intervalMs;
        continue;
      }
      if (st >= p.next) {
        p.next = st - (st % p.intervalMs) + p.intervalMs;
        this.#punctuate(p, st);
      }
    }
  }

  #punctuate(p: Punctuator, t: number): void {
    const saved = this.#current;
    this.#current = null;
    try {
      p.callback(t);
    } catch (err) {
      this.#fail('processing', err, this.#o.errorPolicies.processing);
    } finally {
      this.#current = saved;
    }
  }

  #schedule(intervalMs: number, type: PunctuationType, callback: (t: number) => void): Cancellable {
    if (!(Number.isSafeInteger(intervalMs) && intervalMs > 0)) {
      throw new AppError(
        ErrorCode.STREAMS_TOPOLOGY,
        `punctuation interval must be a positive integer, got ${intervalMs}`,
      );
    }
    const p: Punctuator = {
      intervalMs,
      callback,
      next: type === 'wall-clock' ? this.#o.clock.now() + intervalMs : Number.NEGATIVE_INFINITY,
      cancelled: false,
    };
    if (type === 'wall-clock') this.#wallPunctuators.push(p);
    else this.#streamPunctuators.push(p);
    return {
      cancel: () => {
        p.cancelled = true;
        this.#wallPunctuators = this.#wallPunctuators.filter((x) => !x.cancelled);
        this.#streamPunctuators = this.#streamPunctuators.filter((x) => !x.cancelled);
      },
    };
  }

  /** Wall-clock work: due wall-clock punctuations, then idle advance of stream time. */
  tick(): void {
    const now = this.#o.clock.now();
    if (Number.isNaN(this.#lastRecordWall)) this.#lastRecordWall = now;
    for (const p of this.#wallPunctuators) {
      if (!p.cancelled && now >= p.next) {
        p.next = now + p.intervalMs;
        this.#hasProgress = true;
        this.#punctuate(p, now);
      }
    }
    const idle = this.#o.idleAdvanceMs;
    if (idle === null || this.#lastRecordStreamTime === Number.NEGATIVE_INFINITY) return;
    const quietMs = now - this.#lastRecordWall;
    if (quietMs < idle) return;
    const target = this.#lastRecordStreamTime + quietMs;
    if (target > this.#streamTime) {
      this.#streamTime = target;
      this.#hasProgress = true;
      this.#streamTimeAdvanced();
    }
  }

  /** Take the outputs and dead letters collected so far. */
  takeOutputs(): OutgoingRecord[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  /** Changelog records for everything changed since the last call, plus the stream time. */
  takeChangelog(changelogTopic: (store: string) => string): OutgoingRecord[] {
    const out: OutgoingRecord[] = [];
    const partition = this.partition;
    const timestamp = Number.isFinite(this.#streamTime) ? this.#streamTime : 0;
    const writeTime = this.#streamTime !== this.#flushedStreamTime && Number.isFinite(this.#streamTime);
    for (const [name, store] of this.stores) {
      const topic = changelogTopic(name);
      store.flush((key, value) => {
        out.push({ topic, key, value, timestamp, headers: NO_HEADERS, partition });
      });
      if (writeTime) {
        const v = Buffer.allocUnsafe(8);
        v.writeDoubleBE(this.#streamTime, 0);
        out.push({ topic, key: STREAM_TIME_META_KEY, value: v, timestamp, headers: NO_HEADERS, partition });
      }
    }
    this.#flushedStreamTime = this.#streamTime;
    return out;
  }

  /** Offsets to commit (next offset per consumed source partition); clears the progress flag. */
  takeOffsets(): TopicPartitionOffset[] {
    this.#hasProgress = false;
    return [...this.#consumed].map(([topic, offset]) => ({ topic, partition: this.partition, offset }));
  }

  /** Apply one changelog record of `store` during restore. */
  restore(store: string, key: Buffer | null, value: Buffer | null): void {
    if (key === null || key.length === 0) return;
    if (key[0] === META_PREFIX) {
      if (key.equals(STREAM_TIME_META_KEY) && value !== null && value.length === 8) {
        const st = value.readDoubleBE(0);
        if (st > this.#streamTime) this.#streamTime = st;
      }
      return;
    }
    const s = this.stores.get(store);
    if (s === undefined) throw new AppError(ErrorCode.STREAMS_STATE, `restore: unknown store ${store}`);
    s.restore(key, value);
  }

  /** After all changelogs were applied: rebuild derived state, resume timing from the restored stream time. */
  finishRestore(): void {
    for (const s of this.stores.values()) {
      (s as StateStoreImpl & { finishRestore?(st: number): void }).finishRestore?.(this.#streamTime);
    }
    this.#flushedStreamTime = this.#streamTime;
    this.#lastRecordStreamTime = this.#streamTime;
    this.#lastRecordWall = this.#o.clock.now();
  }

  /** The store entry count, summed (bounded-state checks, metrics). */
  stateSize(): number {
    let n = 0;
    for (const s of this.stores.values()) n += s.size();
    return n;
  }

  close(): void {
    for (const impl of this.#impls) impl.close?.();
  }
}

export function sourceMetadataOf(raw: LogRecord): SourceRecordMetadata {
  return { topic: raw.topic, partition: raw.partition, offset: raw.offset };
}

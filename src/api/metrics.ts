import diagnostics from 'node:diagnostics_channel';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ClickHouse, InsertOptions } from '../storage/index.ts';
import { STREAMS_DIAGNOSTICS_CHANNEL, type StreamsRuntime } from '../streams/index.ts';

/**
 * The Prometheus metrics of one instance, in their own registry (no global state). Names follow the
 * Prometheus conventions with the `msgtrack_` prefix: `_total` counters, `_seconds` histograms,
 * base units. Sources:
 * - ingest counters: the API's ingest routes;
 * - processing counters, lag per partition, state entries: each runtime's `metrics()`, read when
 *   Prometheus scrapes;
 * - commit latency and emitted records: `commit` events on the streams diagnostics channel
 *   (subscribed here: the streams layer never imports the API);
 * - sink batch rows and latency: the ClickHouse port wrapped by `instrumentStorage` (every insert
 *   of every processor);
 * - HTTP request histograms: the API's onResponse hook; process defaults: prom-client.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly ingested: Counter<'topic'>;
  readonly rejected: Counter<'reason'>;
  readonly http: Histogram<'method' | 'route' | 'status_code'>;
  readonly insertRows: Counter<'table'>;
  readonly insertSeconds: Histogram<'table'>;
  readonly #commitSeconds: Histogram<'processor'>;
  readonly #emitted: Counter<'processor'>;
  #runtimes: () => ReadonlyMap<string, StreamsRuntime> = () => new Map();
  readonly #onCommit: (message: unknown) => void;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'msgtrack_' });
    this.ingested = new Counter({
      name: 'msgtrack_ingest_events_total',
      help: 'Events accepted by the API and appended to the log, by topic',
      labelNames: ['topic'],
      registers,
    });
    this.rejected = new Counter({
      name: 'msgtrack_ingest_rejected_requests_total',
      help: 'Ingest requests refused (rate_limited, overloaded, invalid)',
      labelNames: ['reason'],
      registers,
    });
    this.http = new Histogram({
      name: 'msgtrack_http_request_duration_seconds',
      help: 'HTTP request duration by method, route and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.insertRows = new Counter({
      name: 'msgtrack_sink_batch_rows_total',
      help: 'Rows inserted into ClickHouse by the processors, by table',
      labelNames: ['table'],
      registers,
    });
    this.insertSeconds = new Histogram({
      name: 'msgtrack_sink_batch_duration_seconds',
      help: 'Duration of one ClickHouse insert (one batch), by table',
      labelNames: ['table'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#commitSeconds = new Histogram({
      name: 'msgtrack_processor_commit_duration_seconds',
      help: 'Duration of one exactly-once commit (sinks flushed, transaction committed)',
      labelNames: ['processor'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#emitted = new Counter({
      name: 'msgtrack_processor_emitted_records_total',
      help: 'Records a processor published in its commits (window emits, alerts, changelog, dead letters)',
      labelNames: ['processor'],
      registers,
    });
    const fromRuntimes = (
      name: string,
      help: string,
      pick: (r: StreamsRuntime) => number,
      type: 'counter' | 'gauge',
    ) => {
      const runtimes = () => this.#runtimes();
      const Metric = type === 'counter' ? Counter : Gauge;
      new Metric({
        name,
        help,
        labelNames: ['processor'],
        registers,
        collect(this: Counter<'processor'> | Gauge<'processor'>) {
          this.reset();
          for (const [processor, r] of runtimes()) {
            const v = pick(r);
            if ('set' in this) this.set({ processor }, v);
            else this.inc({ processor }, v);
          }
        },
      });
    };
    fromRuntimes(
      'msgtrack_processor_records_processed_total',
      'Input records processed',
      (r) => r.metrics().counters.recordsProcessed,
      'counter',
    );
    fromRuntimes(
      'msgtrack_processor_late_records_total',
      'Records later than the window grace, counted and dropped',
      (r) => r.metrics().counters.lateRecords,
      'counter',
    );
    fromRuntimes(
      'msgtrack_processor_dead_letters_total',
      'Records sent to a dead-letter topic',
      (r) => r.metrics().counters.deadLettered,
      'counter',
    );
    fromRuntimes(
      'msgtrack_processor_commits_total',
      'Exactly-once commits',
      (r) => r.metrics().commits,
      'counter',
    );
    fromRuntimes(
      'msgtrack_processor_state_entries',
      'Entries in the state stores of this instance',
      (r) => r.metrics().stateEntries,
      'gauge',
    );
    fromRuntimes(
      'msgtrack_processor_running',
      '1 while the processor runs',
      (r) => (r.state === 'running' ? 1 : 0),
      'gauge',
    );
    const runtimes = () => this.#runtimes();
    new Gauge({
      name: 'msgtrack_processor_lag_records',
      help: 'Records of a partition not yet processed (last stable offset − position)',
      labelNames: ['processor', 'topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const [processor, r] of runtimes()) {
          for (const [tp, lag] of Object.entries(r.metrics().lag)) {
            const at = tp.lastIndexOf(':');
            this.set({ processor, topic: tp.slice(0, at), partition: tp.slice(at + 1) }, lag);
          }
        }
      },
    });
    this.#onCommit = (message) => {
      const m = message as { type?: string; applicationId?: string; durationMs?: number; records?: number };
      if (m.type !== 'commit' || m.applicationId === undefined) return;
      const processor = this.#processorOf(m.applicationId);
      if (typeof m.durationMs === 'number') this.#commitSeconds.observe({ processor }, m.durationMs / 1000);
      if (typeof m.records === 'number' && m.records > 0) this.#emitted.inc({ processor }, m.records);
    };
    diagnostics.subscribe(STREAMS_DIAGNOSTICS_CHANNEL, this.#onCommit);
  }

  /** The runtimes whose `metrics()` are read at each scrape (name → runtime). */
  observe(runtimes: () => ReadonlyMap<string, StreamsRuntime>): void {
    this.#runtimes = runtimes;
  }

  #processorOf(applicationId: string): string {
    for (const [name, r] of this.#runtimes()) if (r.applicationId === applicationId) return name;
    return applicationId;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    diagnostics.unsubscribe(STREAMS_DIAGNOSTICS_CHANNEL, this.#onCommit);
  }
}

/** An onResponse hook that times every request in `metrics.http` (method, route pattern, status). */
export function requestTimer(metrics: ApiMetrics) {
  return async (
    request: { method: string; routeOptions: { url?: string | undefined } },
    reply: { statusCode: number; elapsedTime: number },
  ): Promise<void> => {
    metrics.http.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  };
}

/** The ClickHouse port with every insert counted (rows, duration) in `metrics`, by table. */
export function instrumentStorage(ch: ClickHouse, metrics: ApiMetrics): ClickHouse {
  return new Proxy(ch, {
    get(target, prop, receiver) {
      if (prop === 'insert') {
        return async (table: string, rows: readonly object[], options?: InsertOptions) => {
          const end = metrics.insertSeconds.startTimer({ table });
          const summary = await target.insert(table, rows, options);
          end();
          metrics.insertRows.inc({ table }, rows.length);
          return summary;
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

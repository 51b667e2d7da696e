import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ApiMetrics,
  type ApiServer,
  type HttpServer,
  instrumentStorage,
  startApiServer,
  startOpsServer,
} from '../api/index.ts';
import { systemClock } from '../clock/index.ts';
import { type Config, redactConfig } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { type PublishTotals, publishTraffic } from '../generator/index.ts';
import type { Log } from '../log/index.ts';
import { checkStore } from '../processors/clickhouse-sink/index.ts';
import { type ClickHouse, detachedParts } from '../storage/index.ts';
import type { StreamsRuntime } from '../streams/index.ts';
import type { Logger } from './logger.ts';
import { openLog } from './open-log.ts';
import { openStorage } from './open-storage.ts';
import { PROCESSOR_NAMES, PROCESSORS } from './processors.ts';
import { platformTopics } from './topics.ts';

export interface PlatformOptions {
  /** Processors to run (default: all). */
  readonly processors?: readonly string[];
  /** Generated traffic: messages per second of event time; undefined = no generator. */
  readonly generatorRate?: number;
  readonly generatorSeed?: number;
  /** How often a status line is logged, ms (0: never). Default: STATUS_INTERVAL_MS. */
  readonly statusIntervalMs?: number;
  /** Serve the REST API on HOST:PORT; `insecure` allows a non-loopback HOST without API_TOKEN. */
  readonly api?: { readonly insecure?: boolean };
  /**
   * Without the API: serve only `/health`, `/ready` and `/metrics` on HOST:PORT (`msgtrack process`;
   * its `--no-http` leaves it out). Ignored when `api` is set (the API serves them).
   */
  readonly ops?: boolean;
}

/**
 * Resolves with the first of these runtimes to fail (its name and cause), never when they stop
 * cleanly: a runtime's `done` rejects with the cause on failure and resolves on a clean stop.
 */
export function firstFailure(
  runtimes: ReadonlyMap<string, StreamsRuntime>,
): Promise<{ name: string; error: unknown }> {
  const never = new Promise<never>(() => {});
  return Promise.race(
    [...runtimes].map(([name, r]) =>
      r.done.then(
        () => never,
        (error: unknown) => ({ name, error: error ?? r.failure }),
      ),
    ),
  );
}

/** File in DATA_DIR naming the API of the instance that owns it (`msgtrack query` goes through it). */
export const INSTANCE_FILE = 'instance.json';

/**
 * The composition root of a running instance: opens the log and ClickHouse the configuration names
 * (applying migrations, creating topics), starts the chosen processors and the generator, logs a
 * status line now and then, and on `stop()` drains in order: generator, processors, storage, log.
 */
export class Platform {
  readonly #config: Config;
  readonly #logger: Logger;
  readonly #options: PlatformOptions;
  #log: Log | undefined;
  #ch: ClickHouse | undefined;
  readonly #runtimes = new Map<string, StreamsRuntime>();
  readonly #abort = new AbortController();
  #generator: Promise<PublishTotals> | undefined;
  #generated: PublishTotals = { messages: 0, views: 0 };
  #status: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;
  #api: ApiServer | undefined;
  #ops: HttpServer | undefined;
  #metrics: ApiMetrics | undefined;

  constructor(config: Config, logger: Logger, options: PlatformOptions = {}) {
    const unknown = (options.processors ?? []).filter((p) => !PROCESSOR_NAMES.includes(p));
    if (unknown.length > 0) {
      throw new AppError(
        ErrorCode.CLI_USAGE,
        `unknown processor ${unknown.map((u) => `"${u}"`).join(', ')}: expected one of ${PROCESSOR_NAMES.join(', ')}`,
      );
    }
    this.#config = config;
    this.#logger = logger;
    this.#options = options;
  }

  async start(): Promise<void> {
    const config = this.#config;
    this.#logger.debug(`configuration ${JSON.stringify(redactConfig(config))}`);
    this.#log = await openLog(config);
    this.#logger.info(
      config.log.kind === 'embedded'
        ? `log: embedded in ${config.dataDir}/log (fsync ${config.log.fsync})`
        : `log: Apache Kafka at ${config.log.brokers.join(',')}`,
    );
    await this.#log.createTopics(platformTopics());
    this.#metrics = new ApiMetrics();
    this.#ch = instrumentStorage(await openStorage(config), this.#metrics);
    this.#logger.info(
      config.storage.kind === 'chdb'
        ? `storage: chDB in ${config.dataDir}/clickhouse, migrations applied`
        : `storage: ClickHouse at ${config.storage.url}, migrations applied`,
    );
    // Parts the engine detached at start (damage) are reported; the sink's store check then refuses
    // a damaged store or re-ingests a lost one (src/processors/clickhouse-sink/store-check.ts).
    for (const d of await detachedParts(this.#ch)) {
      this.#logger.warn(
        `storage: part ${d.name} of message_db.${d.table} is detached${d.reason === '' ? '' : ` (${d.reason})`}: its rows are not in the table`,
      );
    }
    if ((this.#options.processors ?? PROCESSOR_NAMES).includes('clickhouse-sink')) {
      for (const w of (await checkStore(this.#ch, this.#log)).warnings) this.#logger.warn(w);
    }
    for (const name of this.#options.processors ?? PROCESSOR_NAMES) {
      const runtime = PROCESSORS[name]!({ log: this.#log, ch: this.#ch, config });
      await runtime.start();
      this.#runtimes.set(name, runtime);
      this.#logger.info(`processor ${name}: running`);
    }
    if (this.#options.api !== undefined) {
      this.#api = await startApiServer(
        {
          log: this.#log,
          ch: this.#ch,
          clock: systemClock,
          api: config.api,
          runtimes: () => this.#runtimes,
          metrics: this.#metrics,
          logger: this.#logger,
        },
        { insecure: this.#options.api.insecure === true },
      );
      if (config.storage.kind === 'chdb') {
        await writeFile(
          join(config.dataDir, INSTANCE_FILE),
          `${JSON.stringify({ url: this.#api.url, pid: process.pid })}\n`,
        );
      }
      this.#logger.info(`api: ${this.#api.url} (OpenAPI at ${this.#api.url}/openapi.json)`);
    } else if (this.#options.ops === true) {
      this.#ops = await startOpsServer(
        { log: this.#log, ch: this.#ch, runtimes: () => this.#runtimes, metrics: this.#metrics },
        { host: config.api.host, port: config.api.port, logger: this.#logger },
      );
      this.#logger.info(`http: ${this.#ops.url} (/health, /ready, /metrics)`);
    }
    if (this.#options.generatorRate !== undefined) {
      const rate = this.#options.generatorRate;
      this.#generator = publishTraffic(this.#log, {
        clock: systemClock,
        messagesPerSecond: rate,
        seed: this.#options.generatorSeed ?? 1,
        signal: this.#abort.signal,
        onProgress: (t) => {
          this.#generated = t;
        },
      });
      this.#generator.catch((err) => this.#logger.error(`generator stopped: ${String(err)}`));
      this.#logger.info(`generator: ${rate} messages/s with read receipts, spam bursts and trends`);
    }
    const every = this.#options.statusIntervalMs ?? config.statusIntervalMs;
    if (every > 0) {
      this.#status = setInterval(() => this.#logStatus(), every);
      this.#status.unref();
    }
  }

  /**
   * Resolves when a processor fails (the instance should then stop), never otherwise: a runtime's
   * `done` rejects with the cause when it fails and resolves when it stops cleanly.
   */
  failed(): Promise<{ name: string; error: unknown }> {
    return firstFailure(this.#runtimes);
  }

  /** The API's URL, when it runs. */
  get url(): string | undefined {
    return this.#api?.url;
  }

  /** The live status: msgs/s in, processed/s, lag, alerts in the last minute (needs the API). */
  async liveStatus(): Promise<string | undefined> {
    const ctx = this.#api?.ctx;
    if (ctx === undefined) return undefined;
    const t = await ctx.sampler.sample();
    return `in ${t.messages_in_per_s} msg/s · processors ${t.processed_per_s} records/s · lag ${t.lag} · alerts (1 min) ${ctx.feed.alertsLastMinute}`;
  }

  #logStatus(): void {
    const parts = [...this.#runtimes].map(([name, r]) => {
      const m = r.metrics();
      // Records of the input topics not yet processed: a re-keyed record also waits in the
      // processor's own repartition topic (`<applicationId>-…`), which would count it twice.
      const lag = Object.entries(m.lag)
        .filter(([tp]) => !tp.startsWith(`${r.applicationId}-`))
        .reduce((a, [, n]) => a + n, 0);
      return `${name} processed=${m.counters.recordsProcessed} dlq=${m.counters.deadLettered} lag=${lag}`;
    });
    if (this.#generator !== undefined)
      parts.push(`generated messages=${this.#generated.messages} views=${this.#generated.views}`);
    this.#logger.info(parts.join(' | '));
  }

  /** Idempotent: generator, processors (each drains and commits), storage, log. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearInterval(this.#status);
      // Stop accepting first: requests in flight finish (their appends are acknowledged or fail).
      await this.#api?.close();
      await this.#ops?.close();
      if (this.#api !== undefined && this.#config.storage.kind === 'chdb') {
        await rm(join(this.#config.dataDir, INSTANCE_FILE), { force: true });
      }
      this.#metrics?.close();
      this.#abort.abort();
      await this.#generator?.catch(() => undefined);
      for (const [name, runtime] of this.#runtimes) {
        await runtime.stop();
        this.#logger.info(`processor ${name}: stopped`);
      }
      await this.#ch?.close();
      await this.#log?.close();
      this.#logger.info('stopped');
    })();
    return this.#stopping;
  }
}

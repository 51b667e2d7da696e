import { rename, writeFile } from 'node:fs/promises';
import { openLog, platformTopics } from '../app/index.ts';
import { systemClock } from '../clock/index.ts';
import { loadConfig } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { parseRfc3339 } from '../events/index.ts';
import {
  createTraffic,
  type EventSink,
  httpTarget,
  logSink,
  type PublishOptions,
  type PublishTotals,
  publishTo,
  type Rule,
  type TrafficTruth,
} from '../generator/index.ts';
import { type Command, intFlag, type ParsedArgs } from './command.ts';

const DEFAULT_RATE = 20;

/** `msgtrack generate`: synthetic traffic to the log (Kafka, or the embedded log of DATA_DIR) or an API. */
export const generateCommand: Command = {
  name: 'generate',
  summary:
    'Publish synthetic chat traffic (1,000 users, 1:1 and group conversations, read receipts; spam bursts, trends and peaks injected) to the log or a running instance.',
  options: {
    rate: {
      type: 'string',
      description: `Messages per second of event time, at the busiest hour when paced (default ${DEFAULT_RATE})`,
    },
    count: { type: 'string', short: 'n', description: 'Stop after this many events (messages + views)' },
    duration: { type: 'string', short: 'd', description: 'Stop after this many seconds of event time' },
    users: { type: 'string', description: 'Users (default 1000, more if --rate needs them)' },
    conversations: { type: 'string', description: 'Conversations (default 400)' },
    seed: { type: 'string', description: 'Same seed, same traffic', default: '1' },
    profile: {
      type: 'string',
      description:
        'default, or seed: the seed producer’s workload (8 users, 5 conversations, a message every 2 s)',
      default: 'default',
    },
    fast: {
      type: 'boolean',
      description: 'Do not pace to the wall clock: publish as fast as possible, no day/night rhythm',
    },
    start: {
      type: 'string',
      description: 'With --fast: event time of the first event (RFC 3339; default now)',
    },
    truth: {
      type: 'string',
      description: 'Write what was injected (spammers, trends, peaks) to this JSON file',
    },
    target: {
      type: 'string',
      description: 'Post to a running instance’s API (e.g. http://127.0.0.1:8080) instead of the log',
    },
    quiet: { type: 'boolean', short: 'q', description: 'No progress output' },
  },
  async run(args) {
    const config = loadConfig();
    const rateRule = {
      threshold: config.processors.anomalyDetection.rateThreshold,
      windowMs: config.processors.anomalyDetection.rateWindowMs,
    };
    const options = publishOptions(args, rateRule);
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const target = args.values.target;
    const log = typeof target === 'string' ? undefined : await openLog(config);
    const progress = new Progress(args.values.quiet === true, options.count);
    let failed = false;
    try {
      let sink: EventSink;
      if (log === undefined) {
        sink = httpTarget({
          url: String(target),
          signal: abort.signal,
          ...(config.api.token === undefined ? {} : { token: config.api.token }),
        });
      } else {
        await log.createTopics(platformTopics());
        sink = logSink(log);
      }
      const result = await publishTo(sink, {
        ...options,
        rateRule,
        signal: abort.signal,
        onProgress: (t) => progress.update(t),
      });
      progress.done();
      if (typeof args.values.truth === 'string') await writeTruth(args.values.truth, result.truth);
      const seconds = progress.seconds();
      const events = result.messages + result.views;
      process.stdout.write(
        `${JSON.stringify({
          messages: result.messages,
          views: result.views,
          seconds: Number(seconds.toFixed(2)),
          events_per_s: Math.round(events / Math.max(seconds, 1e-3)),
          spam_bursts: result.truth.spammers.reduce((n, s) => n + s.bursts.length, 0),
          trends: result.truth.trends.length,
          peaks: result.truth.peaks.length,
        })}\n`,
      );
      return 0;
    } catch (err) {
      failed = true;
      progress.done();
      throw err;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // A failure to close must not hide the error that ended the run.
      await log?.close().catch((err: unknown) => {
        if (!failed) throw err;
      });
    }
  },
};

function publishOptions(args: ParsedArgs, rule: Rule): Omit<PublishOptions, 'signal' | 'onProgress'> {
  const profile = args.values.profile;
  if (profile !== 'default' && profile !== 'seed') {
    throw new AppError(
      ErrorCode.CLI_USAGE,
      `--profile=${String(profile)} is invalid: expected default or seed`,
    );
  }
  const count = intFlag(args, 'count', 1);
  const duration = intFlag(args, 'duration', 1);
  const fast = args.values.fast === true;
  if (count === undefined && duration === undefined && fast) {
    throw new AppError(ErrorCode.CLI_USAGE, '--fast needs --count or --duration');
  }
  const rate = intFlag(args, 'rate', 1);
  const users = intFlag(args, 'users', 2);
  const conversations = intFlag(args, 'conversations', 1);
  if (profile === 'seed') {
    const given = ['rate', 'users', 'conversations'].filter((f) => args.values[f] !== undefined);
    if (given.length > 0) {
      throw new AppError(
        ErrorCode.CLI_USAGE,
        `--${given[0]} does not apply to --profile seed (8 users, 5 conversations, one message every 2 s)`,
      );
    }
  } else {
    // The generator checks that the users (and their seats in conversations) carry the rate.
    try {
      createTraffic({
        messagesPerSecond: rate ?? DEFAULT_RATE,
        rateRule: rule,
        ...(users === undefined ? {} : { users }),
        ...(conversations === undefined ? {} : { conversations }),
      });
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      throw new AppError(ErrorCode.CLI_USAGE, `--rate, --users, --conversations: ${err.message}`);
    }
  }
  let startMs: number | undefined;
  if (typeof args.values.start === 'string') {
    if (!fast) throw new AppError(ErrorCode.CLI_USAGE, '--start needs --fast');
    startMs = parseRfc3339(args.values.start);
    if (startMs === undefined) {
      throw new AppError(
        ErrorCode.CLI_USAGE,
        `--start=${args.values.start} is invalid: expected an RFC 3339 time such as 2025-11-08T14:00:00Z`,
      );
    }
  }
  return {
    clock: systemClock,
    profile,
    seed: intFlag(args, 'seed') ?? 1,
    messagesPerSecond: rate ?? DEFAULT_RATE,
    paced: !fast,
    // The day/night rhythm follows this machine's local day.
    utcOffsetMinutes: -new Date().getTimezoneOffset(),
    ...(users === undefined ? {} : { users }),
    ...(conversations === undefined ? {} : { conversations }),
    ...(count === undefined ? {} : { count }),
    ...(duration === undefined ? {} : { durationMs: duration * 1000 }),
    ...(startMs === undefined ? {} : { startMs }),
  };
}

/** Written whole or not at all (a temporary file renamed into place). */
async function writeTruth(path: string, truth: TrafficTruth): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, `${JSON.stringify(truth, null, 2)}\n`);
    await rename(tmp, path);
  } catch (err) {
    throw new AppError(ErrorCode.CLI_USAGE, `--truth=${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Progress on stderr: on a terminal one line redrawn in place (a bar when --count gives the total),
 * otherwise a line every 5 s.
 */
class Progress {
  readonly #quiet: boolean;
  readonly #total: number | undefined;
  readonly #tty = process.stderr.isTTY === true;
  readonly #started = performance.now();
  #last = 0;
  #drawn = false;

  constructor(quiet: boolean, total: number | undefined) {
    this.#quiet = quiet;
    this.#total = total;
  }

  seconds(): number {
    return (performance.now() - this.#started) / 1000;
  }

  update(t: PublishTotals): void {
    if (this.#quiet) return;
    const now = performance.now();
    if (now - this.#last < (this.#tty ? 100 : 5000)) return;
    this.#last = now;
    const line = this.#line(t);
    if (this.#tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
      this.#drawn = true;
    } else process.stderr.write(`generate: ${line}\n`);
  }

  done(): void {
    if (this.#drawn) process.stderr.write('\n');
    this.#drawn = false;
  }

  #line(t: PublishTotals): string {
    const events = t.messages + t.views;
    const rate = Math.round(events / Math.max(this.seconds(), 1e-3));
    const counts = `${t.messages.toLocaleString('en')} messages, ${t.views.toLocaleString('en')} views · ${rate.toLocaleString('en')} events/s`;
    if (this.#total === undefined) return counts;
    const share = Math.min(1, events / this.#total);
    const width = 24;
    const filled = Math.round(share * width);
    const eta = rate > 0 ? Math.ceil((this.#total - events) / rate) : 0;
    return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${counts} · ETA ${eta} s`;
  }
}

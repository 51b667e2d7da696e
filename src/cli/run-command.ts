import { assertSafeBinding } from '../api/index.ts';
import { createLogger, Platform, type PlatformOptions, PROCESSOR_NAMES } from '../app/index.ts';
import { loadConfig } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { type Command, intFlag, type ParsedArgs } from './command.ts';

/** How often the live status line is redrawn on a terminal, ms. */
const LIVE_STATUS_MS = 1_000;

/**
 * Run a platform until SIGINT/SIGTERM (exit 0 after a clean drain: stop accepting, drain, commit,
 * close) or a processor fails (exit 1, with the processor and the cause). A second signal exits at
 * once (code 130): what was acknowledged is in the log already, and uncommitted processing is redone
 * from the last commit at the next start. On a terminal, with the API on: the URL, then one status
 * line redrawn in place every second; otherwise a log line every STATUS_INTERVAL_MS.
 */
export async function runUntilSignal(options: PlatformOptions): Promise<number> {
  const config = loadConfig();
  // Refuse an open binding before opening anything.
  if (options.api !== undefined) {
    assertSafeBinding(config.api.host, config.api.token, options.api.insecure === true);
  }
  const logger = createLogger(config.logLevel);
  const live = options.api !== undefined && process.stderr.isTTY === true;
  const platform = new Platform(config, logger, live ? { ...options, statusIntervalMs: 0 } : options);
  let signalled: (name: string) => void = () => {};
  const signal = new Promise<string>((resolve) => {
    signalled = resolve;
  });
  let signals = 0;
  const onSignal = (name: string) => () => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`\n${name} again: exiting now (acknowledged events are in the log)\n`);
      process.exit(130);
    }
    signalled(name);
  };
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let redraw: NodeJS.Timeout | undefined;
  try {
    await platform.start();
    logger.info('running; Ctrl-C stops (drains and commits first)');
    if (live && platform.url !== undefined) {
      process.stderr.write(
        `\nmsgtrack is running at ${platform.url}  (API: ${platform.url}/api/v1, OpenAPI: ${platform.url}/openapi.json)\n`,
      );
      redraw = setInterval(() => {
        void platform.liveStatus().then((line) => {
          if (line !== undefined && signals === 0) process.stderr.write(`\r\x1b[K${line}`);
        });
      }, LIVE_STATUS_MS);
      redraw.unref();
    }
    const outcome = await Promise.race([
      signal.then((name) => ({ name, error: undefined as unknown })),
      platform.failed(),
    ]);
    clearInterval(redraw);
    if (live) process.stderr.write('\n');
    if (outcome.error !== undefined) {
      const cause = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
      logger.error(`processor ${outcome.name} failed: ${cause}; stopping the instance`);
      return 1;
    }
    logger.info(`${outcome.name}: stopping`);
    return 0;
  } finally {
    clearInterval(redraw);
    await platform.stop();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

function generatorRate(args: ParsedArgs): number | undefined {
  if (args.values['no-generator'] === true) return undefined;
  return intFlag(args, 'rate', 1) ?? 20;
}

export const insecureOption = {
  type: 'boolean',
  description: 'Serve a non-loopback HOST without API_TOKEN (anyone on the network can use the API)',
} as const;

export const startCommand: Command = {
  name: 'start',
  summary:
    'Run everything in one process: the log (embedded or Kafka), ClickHouse (chDB or server) with migrations, the topics, every processor, the REST API on HOST:PORT and the generator.',
  options: {
    rate: { type: 'string', description: 'Generator: messages per second', default: '20' },
    seed: { type: 'string', description: 'Generator: seed of the traffic', default: '1' },
    'no-generator': { type: 'boolean', description: 'Do not generate traffic' },
    insecure: insecureOption,
  },
  run: (args) =>
    runUntilSignal({
      ...(generatorRate(args) === undefined ? {} : { generatorRate: generatorRate(args)! }),
      generatorSeed: intFlag(args, 'seed') ?? 1,
      api: { insecure: args.values.insecure === true },
    }),
};

export const processCommand: Command = {
  name: 'process',
  usage: `<${PROCESSOR_NAMES.join('|')}>…`,
  summary:
    'Run the chosen stream processors (distributed mode: add instances to scale a processor), with /health, /ready and /metrics on HOST:PORT.',
  options: {
    'no-http': { type: 'boolean', description: 'Serve no /health, /ready, /metrics (nothing listens)' },
  },
  run: (args) => {
    if (args.positionals.length === 0) {
      throw new AppError(ErrorCode.CLI_USAGE, `name at least one processor: ${PROCESSOR_NAMES.join(', ')}`);
    }
    return runUntilSignal({ processors: args.positionals, ops: args.values['no-http'] !== true });
  },
};

import { createLogger, Platform, type PlatformOptions, PROCESSOR_NAMES } from '../app/index.ts';
import { loadConfig } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { type Command, intFlag, type ParsedArgs } from './command.ts';

/** Run a platform until SIGINT/SIGTERM (exit 0 after a clean drain) or a processor fails (exit 1). */
async function runUntilSignal(options: PlatformOptions): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const platform = new Platform(config, logger, options);
  let signalled: (name: string) => void = () => {};
  const signal = new Promise<string>((resolve) => {
    signalled = resolve;
  });
  const onSignal = (name: string) => () => signalled(name);
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  try {
    await platform.start();
    logger.info('running; Ctrl-C stops (drains and commits first)');
    const outcome = await Promise.race([
      signal.then((name) => ({ name, error: undefined })),
      platform.failed(),
    ]);
    if (outcome.error !== undefined) {
      logger.error(`processor ${outcome.name} failed: ${String(outcome.error)}`);
      return 1;
    }
    logger.info(`${outcome.name}: stopping`);
    return 0;
  } finally {
    await platform.stop();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

function generatorRate(args: ParsedArgs): number | undefined {
  if (args.values['no-generator'] === true) return undefined;
  return intFlag(args, 'rate', 1) ?? 20;
}

export const startCommand: Command = {
  name: 'start',
  summary:
    'Run everything in one process: the log (embedded or Kafka), ClickHouse (chDB or server) with migrations, the topics, every processor and the generator.',
  options: {
    rate: { type: 'string', description: 'Generator: messages per second', default: '20' },
    seed: { type: 'string', description: 'Generator: seed of the traffic', default: '1' },
    'no-generator': { type: 'boolean', description: 'Do not generate traffic' },
  },
  run: (args) =>
    runUntilSignal({
      ...(generatorRate(args) === undefined ? {} : { generatorRate: generatorRate(args)! }),
      generatorSeed: intFlag(args, 'seed') ?? 1,
    }),
};

export const processCommand: Command = {
  name: 'process',
  usage: `<${PROCESSOR_NAMES.join('|')}>…`,
  summary: 'Run the chosen stream processors (distributed mode: add instances to scale a processor).',
  options: {},
  run: (args) => {
    if (args.positionals.length === 0) {
      throw new AppError(ErrorCode.CLI_USAGE, `name at least one processor: ${PROCESSOR_NAMES.join(', ')}`);
    }
    return runUntilSignal({ processors: args.positionals });
  },
};

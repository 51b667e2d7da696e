import { configDocs } from '../config/index.ts';
import { AppError } from '../errors/index.ts';
import { type Command, commandHelp, parseCommandArgs } from './command.ts';
import { generateCommand } from './generate-command.ts';
import { queryCommand } from './query-command.ts';
import { processCommand, startCommand } from './run-command.ts';
import { schemasCommand } from './schemas-command.ts';
import { topicsCommand } from './topics-command.ts';

/** Every command `msgtrack` knows; each appears here once it really works. */
const COMMANDS: readonly Command[] = [
  startCommand,
  processCommand,
  generateCommand,
  queryCommand,
  topicsCommand,
  schemasCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: msgtrack <command> [options]',
    '',
    'Real-time message tracking and analytics: log → stream processors → ClickHouse → API.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `msgtrack <command> --help` for a command’s options.',
    '',
    'Environment:',
    ...configDocs(),
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`msgtrack: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  try {
    const args = parseCommandArgs(command, rest);
    if (args === 'help') {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    return await command.run(args);
  } catch (err) {
    if (err instanceof AppError) {
      process.stderr.write(`msgtrack ${name}: ${err.message}\n`);
      return err.code === 'CLI_USAGE' || err.code === 'CONFIG_INVALID' ? 2 : 1;
    }
    throw err;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}

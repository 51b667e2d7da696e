import { configDocs } from '../config/index.ts';
import { AppError } from '../errors/index.ts';
import { apiCommand } from './api-command.ts';
import { type Command, commandHelp, parseCommandArgs } from './command.ts';
import { generateCommand } from './generate-command.ts';
import { healthCommand } from './health-command.ts';
import { logCommand } from './log-command.ts';
import { queryCommand } from './query-command.ts';
import { replayCommand } from './replay-command.ts';
import { processCommand, startCommand } from './run-command.ts';
import { schemasCommand } from './schemas-command.ts';
import { topicsCommand } from './topics-command.ts';

/** Every command `msgtrack` knows; each appears here once it really works. */
export const COMMANDS: readonly Command[] = [
  startCommand,
  processCommand,
  apiCommand,
  generateCommand,
  queryCommand,
  replayCommand,
  topicsCommand,
  logCommand,
  schemasCommand,
  healthCommand,
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

/** File-system errors a user causes (a bad path, missing permissions): one line, never a stack trace. */
const FS_ERRORS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  ENOENT: 'no such file or directory',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on device',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
};

function fsErrorLine(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException | null;
  const what = typeof e?.code === 'string' ? FS_ERRORS[e.code] : undefined;
  if (what === undefined || e === null) return undefined;
  return `cannot ${e.syscall ?? 'access'} ${e.path ?? ''}: ${what} (${e.code})`.replace('  ', ' ');
}

/**
 * A reader that goes away (`msgtrack topics describe | head`) ends our output, quietly: EPIPE on
 * stdout is ignored and the command finishes (closing what it opened) instead of dying on it.
 */
function quietOnEpipe(): void {
  if (process.stdout.listeners('error').includes(ignoreEpipe)) return;
  // Kept for the process' life: output still buffered when `main` returns can fail the same way.
  process.stdout.on('error', ignoreEpipe);
}

function ignoreEpipe(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
  throw err;
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  // `msgtrack help <command>` is `msgtrack <command> --help`.
  if (name === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    const what = name.startsWith('-')
      ? `unknown option "${name}" (options follow the command)`
      : `unknown command "${name}"`;
    process.stderr.write(`msgtrack: ${what}\n\n${usage()}\n`);
    return 2;
  }
  quietOnEpipe();
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
    const line = fsErrorLine(err);
    if (line !== undefined) {
      process.stderr.write(`msgtrack ${name}: ${line}\n`);
      return 1;
    }
    throw err;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}

import { parseArgs } from 'node:util';
import { AppError, ErrorCode } from '../errors/index.ts';

/**
 * A CLI command is described once: its options (which give both the parser and `--help`), a summary
 * and its action. Options map 1:1 to node:util parseArgs options plus a description and a default.
 */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly description: string;
  readonly default?: string | boolean;
  readonly multiple?: boolean;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Positionals, as shown in the usage line, e.g. `<create|list|describe> [topic…]`. */
  readonly usage?: string;
  /**
   * How many positionals the command takes (more is a usage error). Default: none when there is no
   * `usage` line, any number otherwise.
   */
  readonly positionals?: { readonly max: number };
  readonly options: Readonly<Record<string, OptionSpec>>;
  run(args: ParsedArgs): Promise<number>;
}

export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  readonly positionals: readonly string[];
}

export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedArgs | 'help' {
  const options = Object.fromEntries(
    Object.entries(command.options).map(([name, o]) => [
      name,
      {
        type: o.type,
        ...(o.short === undefined ? {} : { short: o.short }),
        ...(o.multiple === undefined ? {} : { multiple: o.multiple }),
        ...(o.default === undefined ? {} : { default: o.default }),
      },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help === true) return 'help';
    const max = command.positionals?.max ?? (command.usage === undefined ? 0 : Number.POSITIVE_INFINITY);
    if (positionals.length > max) {
      const extra = positionals.slice(max).map((p) => JSON.stringify(p));
      throw new AppError(
        ErrorCode.CLI_USAGE,
        `unexpected argument${extra.length === 1 ? '' : 's'} ${extra.join(' ')}: usage: msgtrack ${command.name}${command.usage ? ` ${command.usage}` : ''} [options]`,
      );
    }
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError(ErrorCode.CLI_USAGE, (err as Error).message);
  }
}

export function commandHelp(command: Command): string {
  const lines = [
    `Usage: msgtrack ${command.name}${command.usage ? ` ${command.usage}` : ''} [options]`,
    '',
    command.summary,
  ];
  const entries = Object.entries(command.options);
  lines.push('', 'Options:');
  const flags = entries.map(
    ([name, o]) => `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' <value>' : ''}`,
  );
  flags.push('-h, --help');
  const width = Math.max(...flags.map((f) => f.length));
  entries.forEach(([, o], i) => {
    const dflt = o.default === undefined ? '' : ` (default ${String(o.default)})`;
    lines.push(`  ${flags[i]!.padEnd(width)}  ${o.description}${dflt}`);
  });
  lines.push(`  ${flags.at(-1)!.padEnd(width)}  Show this help`);
  return lines.join('\n');
}

/**
 * Parse an integer flag in [min, max] (max defaults to the largest exact integer), failing with a
 * usage error that names the flag and the range.
 */
export function intFlag(
  args: ParsedArgs,
  name: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const raw = args.values[name];
  if (raw === undefined) return undefined;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new AppError(
      ErrorCode.CLI_USAGE,
      `--${name}=${String(raw)} is invalid: expected an integer from ${min} to ${max}`,
    );
  }
  return n;
}

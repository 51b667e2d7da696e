/**
 * Command-line flags of the benchmarks: one parser for every `npm run bench:*`, so that each answers
 * `--help` (usage, every flag with its default; exit 0, before any work starts) and refuses an unknown
 * or malformed flag (or a non-number for a flag whose default is a number) with one clear line and
 * exit code 2 instead of node's stack trace.
 */
import { parseArgs } from 'node:util';

export interface BenchFlag {
  type: 'string' | 'boolean';
  /** The value when the flag is absent (a string flag without one is `undefined`). */
  default?: string | boolean;
  /** One line for --help (the unit and what the flag changes). */
  help: string;
  /** Internal (a child process' role): accepted, not listed by --help. */
  hidden?: boolean;
}

export interface BenchSpec<F extends Record<string, BenchFlag>> {
  /** How it is run, e.g. `npm run bench:kafka --`. */
  command: string;
  /** What it measures, one or two sentences. */
  about: string;
  flags: F;
  /** Positional arguments, as shown in the usage line (e.g. `[scenario…]`; '' = accepted, not shown); none when absent. */
  positionals?: string;
}

export type BenchValues<F extends Record<string, BenchFlag>> = {
  [K in keyof F]: F[K]['type'] extends 'boolean'
    ? boolean
    : F[K] extends { default: string }
      ? string
      : string | undefined;
};

/** The usage text --help prints. */
export function benchUsage(spec: BenchSpec<Record<string, BenchFlag>>): string {
  const shown = Object.entries(spec.flags).filter(([, f]) => f.hidden !== true);
  const names = shown.map(([name, f]) => `--${name}${f.type === 'string' ? ' <value>' : ''}`);
  const width = Math.max(6, ...names.map((n) => n.length));
  const lines = shown.map(([, f], i) => {
    const def = f.type === 'string' && f.default !== undefined ? ` (default ${f.default})` : '';
    return `  ${(names[i] as string).padEnd(width)}  ${f.help}${def}`;
  });
  return [
    `Usage: ${spec.command} [options]${spec.positionals ? ` ${spec.positionals}` : ''}`,
    '',
    spec.about,
    '',
    'Options:',
    ...lines,
    `  ${'--help'.padEnd(width)}  print this help and exit`,
    '',
  ].join('\n');
}

/**
 * Parses `argv` (default: this process' arguments) against `spec`. `--help`/`-h` prints the usage and
 * exits 0; a flag the bench does not know, a missing value or a stray positional prints one line
 * naming it and exits 2.
 */
export function benchArgs<F extends Record<string, BenchFlag>>(
  spec: BenchSpec<F>,
  argv: string[] = process.argv.slice(2),
): { values: BenchValues<F>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; default?: string | boolean; short?: string }> =
    {
      help: { type: 'boolean', short: 'h' },
    };
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = f.default === undefined ? { type: f.type } : { type: f.type, default: f.default };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options,
      allowPositionals: spec.positionals !== undefined,
      strict: true,
    });
  } catch (err) {
    const message = (err as Error).message.split('. To specify')[0];
    process.stderr.write(`${spec.command}: ${message}\nRun with --help for the options.\n`);
    process.exit(2);
  }
  if (parsed.values.help === true) {
    process.stdout.write(benchUsage(spec as BenchSpec<Record<string, BenchFlag>>));
    process.exit(0);
  }
  // A flag whose default is a number takes a number (not NaN deep inside a run).
  for (const [name, f] of Object.entries(spec.flags)) {
    const value = parsed.values[name];
    const numeric = typeof f.default === 'string' && Number.isFinite(Number(f.default));
    if (numeric && typeof value === 'string' && !(value.trim() !== '' && Number.isFinite(Number(value)))) {
      process.stderr.write(
        `${spec.command}: --${name}=${JSON.stringify(value)} is invalid: expected a number\n`,
      );
      process.exit(2);
    }
  }
  return { values: { ...parsed.values } as BenchValues<F>, positionals: parsed.positionals };
}

import { readFile } from 'node:fs/promises';
import { connectStorage } from '../app/index.ts';
import { loadConfig } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { OPERATOR_QUERY_DEFAULTS, type OperatorQueryResult, operatorQuery } from '../storage/index.ts';
import { type Command, intFlag, type ParsedArgs } from './command.ts';
import { queryInstance, runningInstance } from './instance.ts';

/**
 * `msgtrack query "<sql>"`: an operator's SELECT against the platform's ClickHouse (chDB in DATA_DIR,
 * or CLICKHOUSE_URL), e.g. the seed's example queries. Read-only by ClickHouse's own rules
 * (`operatorQuery`: readonly mode, one statement, row and time limits); storage is opened without
 * migrations or TTL changes. chDB's data dir has one owner: while `msgtrack start` runs on it, the
 * query goes through that instance's API (POST /api/v1/query, same limits).
 */
export const queryCommand: Command = {
  name: 'query',
  usage: '"<SELECT …>" | - | --file FILE',
  summary:
    'Run a read-only SELECT on the platform’s ClickHouse and print the rows (e.g. the seed’s example queries).',
  positionals: { max: Number.POSITIVE_INFINITY },
  options: {
    file: { type: 'string', short: 'f', description: 'Read the query from FILE (`-`: standard input)' },
    param: {
      type: 'string',
      short: 'p',
      multiple: true,
      description: 'Value of a {name:Type} placeholder, as name=value (repeatable)',
    },
    'max-rows': {
      type: 'string',
      description: 'Rows printed at most (more are cut, and stderr says so)',
      default: String(OPERATOR_QUERY_DEFAULTS.maxRows),
    },
    timeout: {
      type: 'string',
      description: 'ClickHouse stops the query after this many ms',
      default: String(OPERATOR_QUERY_DEFAULTS.maxExecutionMs),
    },
    json: {
      type: 'boolean',
      description: 'Print one JSON object per row instead of a table',
      default: false,
    },
  },
  async run(args) {
    const sql = await querySource(args);
    const params = paramsOf(args);
    const maxRows = intFlag(args, 'max-rows', 1) ?? OPERATOR_QUERY_DEFAULTS.maxRows;
    const maxExecutionMs = intFlag(args, 'timeout', 1) ?? OPERATOR_QUERY_DEFAULTS.maxExecutionMs;
    const config = loadConfig();
    // A running instance owns chDB: go through its API (POST /api/v1/query).
    const instance = await runningInstance(config);
    const ch = instance === undefined ? await connectStorage(config, { mustExist: true }) : undefined;
    try {
      const result =
        ch === undefined
          ? await queryInstance(instance!.url, config.api.token, sql, { params, maxRows })
          : await operatorQuery(ch, sql, { params, maxRows, maxExecutionMs });
      print(result, args.values.json === true);
      const n = `${result.rowCount} row${result.rowCount === 1 ? '' : 's'}`;
      process.stderr.write(result.truncated ? `${n} (cut at --max-rows=${maxRows}; more exist)\n` : `${n}\n`);
      return 0;
    } finally {
      await ch?.close();
    }
  },
};

async function querySource(args: ParsedArgs): Promise<string> {
  const file = args.values.file;
  const words = args.positionals;
  if (typeof file === 'string' && words.length > 0) {
    throw new AppError(ErrorCode.CLI_USAGE, 'give the query either as an argument or with --file, not both');
  }
  const from = typeof file === 'string' ? file : words.length === 1 && words[0] === '-' ? '-' : undefined;
  const sql =
    from === undefined ? words.join(' ') : from === '-' ? await readStdin() : await readQueryFile(from);
  if (sql.trim() === '') {
    throw new AppError(
      ErrorCode.CLI_USAGE,
      from === undefined
        ? 'expected a query, e.g. "SELECT count() FROM message_db.messages"'
        : `the query ${from === '-' ? 'on standard input' : `in ${from}`} is empty`,
    );
  }
  return sql;
}

async function readQueryFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new AppError(
      ErrorCode.CLI_USAGE,
      `--file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `--param name=value` → { name: 'value' }: the engine parses the text as the placeholder's type. */
function paramsOf(args: ParsedArgs): Record<string, string> {
  const raw = args.values.param;
  const out: Record<string, string> = {};
  for (const p of Array.isArray(raw) ? raw : []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(p);
    if (m === null) {
      throw new AppError(ErrorCode.CLI_USAGE, `--param ${p} is invalid: expected name=value`);
    }
    out[m[1]!] = m[2]!;
  }
  return out;
}

function print(result: OperatorQueryResult, json: boolean): void {
  const names = result.columns.map((c) => c.name);
  if (json) {
    for (const r of result.rows) {
      process.stdout.write(`${JSON.stringify(Object.fromEntries(names.map((n, i) => [n, r[i]])))}\n`);
    }
    return;
  }
  const cell = (v: unknown) => (v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const rows = result.rows.map((r) => r.map(cell));
  const widths = names.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (values: string[]) => `${values.map((v, i) => v.padEnd(widths[i]!)).join('  ')}\n`;
  if (names.length > 0) process.stdout.write(line(names));
  for (const r of rows) process.stdout.write(line(r));
}

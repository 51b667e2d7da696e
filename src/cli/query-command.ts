import { openStorage } from '../app/index.ts';
import { loadConfig } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import type { Command } from './command.ts';

/**
 * `msgtrack query "<sql>"`: an operator's SELECT against the platform's ClickHouse (chDB in DATA_DIR,
 * or CLICKHOUSE_URL), e.g. the seed's example queries. The SQL is the operator's own, as with
 * clickhouse-client; nothing here builds SQL from data. chDB's data dir has one owner: stop a running
 * `msgtrack start` first (the error says so).
 */
export const queryCommand: Command = {
  name: 'query',
  usage: '"<SELECT …>"',
  summary: 'Run a SELECT on the platform’s ClickHouse and print the rows (e.g. the seed’s example queries).',
  options: {
    json: {
      type: 'boolean',
      description: 'Print one JSON object per row instead of a table',
      default: false,
    },
  },
  async run(args) {
    const sql = args.positionals.join(' ').trim();
    if (sql === '')
      throw new AppError(
        ErrorCode.CLI_USAGE,
        'expected a query, e.g. "SELECT count() FROM message_db.messages"',
      );
    const ch = await openStorage(loadConfig());
    try {
      const rows = await ch.query<Record<string, unknown>>(sql);
      if (args.values.json === true) {
        for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
        return 0;
      }
      const columns = Object.keys(rows[0] ?? {});
      const cell = (v: unknown) =>
        v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
      const line = (values: string[]) => `${values.map((v, i) => v.padEnd(widths[i]!)).join('  ')}\n`;
      if (columns.length > 0) process.stdout.write(line(columns));
      for (const r of rows) process.stdout.write(line(columns.map((c) => cell(r[c]))));
      process.stderr.write(`${rows.length} row${rows.length === 1 ? '' : 's'}\n`);
      return 0;
    } finally {
      await ch.close();
    }
  },
};

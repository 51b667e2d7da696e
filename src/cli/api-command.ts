import type { Command } from './command.ts';
import { insecureOption, runUntilSignal } from './run-command.ts';

/**
 * `msgtrack api`: the REST API only — no processors, no generator — against Kafka and a ClickHouse
 * server (KAFKA_BROKERS, CLICKHOUSE_URL), or the embedded log and chDB of a DATA_DIR it then owns.
 */
export const apiCommand: Command = {
  name: 'api',
  summary:
    'Serve the REST API only (on Kafka and a ClickHouse server, or the embedded defaults of DATA_DIR).',
  options: { insecure: insecureOption },
  run: (args) => runUntilSignal({ processors: [], api: { insecure: args.values.insecure === true } }),
};

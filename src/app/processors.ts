import type { Config } from '../config/index.ts';
import type { Log } from '../log/index.ts';
import { createClickHouseSink } from '../processors/clickhouse-sink/index.ts';
import type { ClickHouse } from '../storage/index.ts';
import type { StreamsRuntime } from '../streams/index.ts';

export interface ProcessorDeps {
  readonly log: Log;
  readonly ch: ClickHouse;
  readonly config: Config;
}

/** Every processor `msgtrack process` and `msgtrack start` can run, by name (SPEC §4). */
export const PROCESSORS: Readonly<Record<string, (deps: ProcessorDeps) => StreamsRuntime>> = {
  'clickhouse-sink': ({ log, ch, config }) =>
    createClickHouseSink(
      { log, ch },
      {
        batchRows: config.processors.clickhouseSink.batchRows,
        flushMs: config.processors.clickhouseSink.flushMs,
      },
    ),
};

export const PROCESSOR_NAMES = Object.keys(PROCESSORS);

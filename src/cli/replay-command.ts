import { setTimeout as sleep } from 'node:timers/promises';
import { openLog, openStorage } from '../app/index.ts';
import { type Config, loadConfig } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { Topics } from '../events/index.ts';
import type { Log, TopicPartitionOffset } from '../log/index.ts';
import {
  CLICKHOUSE_SINK_APPLICATION_ID,
  createClickHouseSink,
  prepareReplay,
  SINK_TABLES,
} from '../processors/clickhouse-sink/index.ts';
import { type ClickHouse, rowCounts } from '../storage/index.ts';
import type { Command } from './command.ts';

const DEFAULT_TOPICS = [Topics.chatMessages.name, Topics.messageViews.name];

/**
 * `msgtrack replay [topics…]`: re-ingest topics into ClickHouse from the log, exactly once, then exit.
 * The clickhouse-sink's group offsets go back to the earliest retained offsets and the sink runs
 * until it has caught up with the log's end as it was when the replay began. Without `--rebuild`
 * what is already in is skipped by the sink's progress (a lost or restored store is refilled);
 * `--rebuild` (a damaged store) empties the topics' tables first (see `prepareReplay`). The platform
 * must be stopped: the sink's group must have no other member.
 */
export const replayCommand: Command = {
  name: 'replay',
  usage: '[topic…]',
  summary: `Re-ingest topics (default ${DEFAULT_TOPICS.join(', ')}) into ClickHouse from the log, exactly once (storage recovery).`,
  options: {
    rebuild: {
      type: 'boolean',
      description: 'Empty the topics’ tables (and those filled from them) first: for a damaged store',
      default: false,
    },
    'accept-loss': {
      type: 'boolean',
      description: 'With --rebuild: proceed although the log no longer holds its oldest offsets',
      default: false,
    },
  },
  async run(args) {
    const topics = args.positionals.length > 0 ? [...new Set(args.positionals)] : DEFAULT_TOPICS;
    const unknown = topics.filter((t) => SINK_TABLES[t] === undefined);
    if (unknown.length > 0) {
      throw new AppError(
        ErrorCode.CLI_USAGE,
        `not a topic the clickhouse-sink ingests: ${unknown.join(', ')} (expected ${Object.keys(SINK_TABLES).join(', ')})`,
      );
    }
    const config = loadConfig();
    const log = await openLog(config);
    let ch: ClickHouse | undefined;
    try {
      // A replay writes: it may run on a store that lost its tables, so the migrations run here.
      ch = await openStorage(config);
      const plan = await prepareReplay(ch, log, topics, {
        rebuild: args.values.rebuild === true,
        acceptLoss: args.values['accept-loss'] === true,
      });
      if (plan.emptied.length > 0) process.stderr.write(`replay: emptied ${plan.emptied.join(', ')}\n`);
      process.stderr.write(
        `replay: re-ingesting ${plan.topics.join(', ')} from the earliest retained offsets\n`,
      );
      await runUntilCaughtUp(config, log, ch, plan.offsets);
      const tables = plan.topics.map((t) => SINK_TABLES[t]!);
      const counts = await rowCounts(ch, tables);
      process.stdout.write(
        `${JSON.stringify({ topics: plan.topics, emptied: plan.emptied, rows: Object.fromEntries(counts) })}\n`,
      );
      return 0;
    } finally {
      await ch?.close();
      await log.close();
    }
  },
};

/** Run the sink until its committed offsets reach each partition's end as of now. */
async function runUntilCaughtUp(
  config: Config,
  log: Log,
  ch: ClickHouse,
  from: readonly TopicPartitionOffset[],
): Promise<void> {
  const ends = await Promise.all(
    from.map(async (p) => ({ ...p, end: (await log.partitionOffsets(p.topic, p.partition)).lastStable })),
  );
  const sink = createClickHouseSink(
    { log, ch },
    {
      batchRows: config.processors.clickhouseSink.batchRows,
      flushMs: config.processors.clickhouseSink.flushMs,
    },
  );
  await sink.start();
  let failed = false;
  void sink.done.then(() => {
    failed = true;
  });
  try {
    for (;;) {
      if (failed) {
        throw new AppError(
          ErrorCode.STREAMS_PROCESSING,
          `the sink stopped during the replay: ${String(sink.failure)}`,
        );
      }
      const group = (await log.listGroups()).find((g) => g.groupId === CLICKHOUSE_SINK_APPLICATION_ID);
      const committed = new Map((group?.offsets ?? []).map((o) => [`${o.topic}:${o.partition}`, o.offset]));
      const behind = ends.filter(
        (p) => p.end > p.offset && (committed.get(`${p.topic}:${p.partition}`) ?? 0) < p.end,
      );
      if (behind.length === 0) return;
      await sleep(200);
    }
  } finally {
    await sink.stop();
  }
}

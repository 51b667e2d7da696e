import { openLog, platformTopics } from '../app/index.ts';
import { systemClock } from '../clock/index.ts';
import { loadConfig } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { publishTraffic } from '../generator/index.ts';
import { type Command, intFlag } from './command.ts';

/** `msgtrack generate`: synthetic traffic to the log (Kafka, or the embedded log of DATA_DIR). */
export const generateCommand: Command = {
  name: 'generate',
  summary:
    'Publish synthetic chat traffic (stable conversations, read receipts, spam bursts, trending topics) to the log.',
  options: {
    rate: { type: 'string', description: 'Messages per second (event time)', default: '50' },
    count: { type: 'string', short: 'n', description: 'Stop after this many events (messages + views)' },
    duration: { type: 'string', short: 'd', description: 'Stop after this many seconds of event time' },
    seed: { type: 'string', description: 'Same seed, same traffic', default: '1' },
    fast: { type: 'boolean', description: 'Do not pace to the wall clock: publish as fast as possible' },
    quiet: { type: 'boolean', short: 'q', description: 'No progress output' },
  },
  async run(args) {
    const count = intFlag(args, 'count', 1);
    const duration = intFlag(args, 'duration', 1);
    if (count === undefined && duration === undefined && args.values.fast === true) {
      throw new AppError(ErrorCode.CLI_USAGE, '--fast needs --count or --duration');
    }
    const config = loadConfig();
    const log = await openLog(config);
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const started = performance.now();
    let lastReport = 0;
    const quiet = args.values.quiet === true;
    try {
      await log.createTopics(platformTopics());
      const totals = await publishTraffic(log, {
        clock: systemClock,
        messagesPerSecond: intFlag(args, 'rate', 1) ?? 50,
        seed: intFlag(args, 'seed') ?? 1,
        paced: args.values.fast !== true,
        signal: abort.signal,
        ...(count === undefined ? {} : { count }),
        ...(duration === undefined ? {} : { durationMs: duration * 1000 }),
        onProgress: (t) => {
          const now = performance.now();
          if (quiet || now - lastReport < 1000) return;
          lastReport = now;
          const rate = Math.round((t.messages + t.views) / ((now - started) / 1000));
          process.stderr.write(
            `\rgenerate: ${t.messages} messages, ${t.views} views (${rate} events/s)${count ? ` — ${Math.floor(((t.messages + t.views) * 100) / count)}%` : ''}   `,
          );
        },
      });
      const seconds = (performance.now() - started) / 1000;
      if (!quiet) process.stderr.write('\n');
      process.stdout.write(
        `${JSON.stringify({ messages: totals.messages, views: totals.views, seconds: Number(seconds.toFixed(2)) })}\n`,
      );
      return 0;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      await log.close();
    }
  },
};

import { openLog, platformTopics } from '../app/index.ts';
import { loadConfig } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import type { Log, TopicDescription } from '../log/index.ts';
import type { Command } from './command.ts';

/**
 * `msgtrack topics create|list|describe`. `create` is idempotent: it creates what is missing and
 * fails (exit 1) when an existing topic has other partitions than docs/topics.md lists.
 */
export const topicsCommand: Command = {
  name: 'topics',
  usage: '<create|list|describe> [topic…]',
  summary: 'Create the platform’s topics (idempotent), list them, or describe partitions and offsets.',
  options: {
    json: { type: 'boolean', description: 'Print JSON instead of a table', default: false },
  },
  async run(args) {
    const [action, ...names] = args.positionals;
    if (action !== 'create' && action !== 'list' && action !== 'describe') {
      throw new AppError(ErrorCode.CLI_USAGE, 'expected an action: create, list or describe');
    }
    if (action !== 'describe' && names.length > 0) {
      throw new AppError(
        ErrorCode.CLI_USAGE,
        `topics ${action} takes no topic names (got ${names.map((n) => JSON.stringify(n)).join(' ')})`,
      );
    }
    const log = await openLog(loadConfig(), { readOnly: action !== 'create' });
    try {
      const json = args.values.json === true;
      if (action === 'create') return await create(log, json);
      if (action === 'list') return await list(log, json);
      return await describe(log, names, json);
    } finally {
      await log.close();
    }
  },
};

async function create(log: Log, json: boolean): Promise<number> {
  const specs = platformTopics();
  const before = new Set((await log.listTopics()).map((t) => t.name));
  await log.createTopics(specs);
  const result = specs.map((s) => ({
    topic: s.name,
    partitions: s.partitions,
    created: !before.has(s.name),
  }));
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    for (const r of result) {
      process.stdout.write(`${r.created ? 'created' : 'exists '}  ${r.topic} (${r.partitions} partitions)\n`);
    }
  }
  return 0;
}

function retention(t: TopicDescription): string {
  if (t.retentionMs === null) return 'forever';
  const days = t.retentionMs / 86_400_000;
  return Number.isInteger(days) ? `${days}d` : `${t.retentionMs}ms`;
}

async function list(log: Log, json: boolean): Promise<number> {
  const topics = (await log.listTopics()).sort((a, b) => a.name.localeCompare(b.name));
  if (json) process.stdout.write(`${JSON.stringify(topics)}\n`);
  else {
    const width = Math.max(5, ...topics.map((t) => t.name.length));
    process.stdout.write(`${'TOPIC'.padEnd(width)}  PARTITIONS  RETENTION  CLEANUP\n`);
    for (const t of topics) {
      process.stdout.write(
        `${t.name.padEnd(width)}  ${String(t.partitions).padStart(10)}  ${retention(t).padStart(9)}  ${t.cleanupPolicy}\n`,
      );
    }
  }
  return 0;
}

async function describe(log: Log, names: readonly string[], json: boolean): Promise<number> {
  const topics = names.length > 0 ? names : (await log.listTopics()).map((t) => t.name).sort();
  const out = [];
  for (const name of topics) {
    const t = await log.describeTopic(name);
    const offsets = [];
    for (let p = 0; p < t.partitions; p++)
      offsets.push({ partition: p, ...(await log.partitionOffsets(name, p)) });
    out.push({ ...t, offsets });
  }
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    for (const t of out) {
      process.stdout.write(
        `${t.name}  partitions=${t.partitions} retention=${retention(t)} cleanup=${t.cleanupPolicy}\n`,
      );
      for (const p of t.offsets) {
        process.stdout.write(
          `  ${p.partition}: earliest=${p.earliest} latest=${p.latest} stable=${p.lastStable}\n`,
        );
      }
    }
  }
  return 0;
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type ZodApp } from '../../src/api/index.ts';
import { PROCESSORS, platformTopics } from '../../src/app/index.ts';
import { type Clock, systemClock } from '../../src/clock/index.ts';
import { type Config, loadConfig } from '../../src/config/index.ts';
import { type Log, openEmbeddedLog } from '../../src/log/index.ts';
import { type ClickHouse, migrate, openChdb } from '../../src/storage/index.ts';
import type { StreamsRuntime } from '../../src/streams/index.ts';
import { eventually as waitForValue } from '../helpers/wait.ts';

export interface ApiFixture {
  readonly app: ZodApp;
  readonly log: Log;
  readonly ch: ClickHouse;
  readonly config: Config;
  readonly dir: string;
  readonly runtimes: Map<string, StreamsRuntime>;
  close(): Promise<void>;
}

/**
 * A real instance without HTTP listening: the embedded log and chDB in a temp dir (topics created,
 * migrations applied), the chosen processors running, and the app built on them (tests use
 * `app.inject()`). chDB binds one data dir per process: one fixture per test file, shared by its
 * tests, closed with `close()` in an `after` hook.
 */
export async function openApiFixture(
  options: {
    env?: Record<string, string>;
    processors?: readonly string[];
    clock?: Clock;
    tickMs?: number;
  } = {},
): Promise<ApiFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'msgtrack-api-'));
  const config = loadConfig({ DATA_DIR: dir, SINK_FLUSH_MS: '100', ...options.env });
  const log = await openEmbeddedLog({ dataDir: dir, fsync: 'never' });
  await log.createTopics(platformTopics());
  const ch = await openChdb({ dataDir: dir });
  await migrate(ch, { clock: systemClock });
  const runtimes = new Map<string, StreamsRuntime>();
  for (const name of options.processors ?? []) {
    const r = PROCESSORS[name]!({ log, ch, config });
    await r.start();
    runtimes.set(name, r);
  }
  const app = await buildApp({
    log,
    ch,
    clock: options.clock ?? systemClock,
    api: config.api,
    runtimes: () => runtimes,
    loopback: true,
    ...(options.tickMs === undefined ? {} : { tickMs: options.tickMs }),
  });
  await app.ready();
  return {
    app,
    log,
    ch,
    config,
    dir,
    runtimes,
    async close() {
      await app.close();
      for (const r of runtimes.values()) await r.stop();
      await ch.close();
      await log.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Poll `check` every 50 ms until it returns a value other than undefined, or fail after `ms`. */
export function eventually<T>(
  check: () => Promise<T | undefined>,
  ms = 10_000,
  what = 'condition',
): Promise<T> {
  return waitForValue(what, ms, check);
}

/** A seed-format message. */
export function message(i: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    message_id: `m-${i}`,
    user_id: `u${i % 5}`,
    content: `hello number ${i}`,
    timestamp: new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + i * 1000).toISOString(),
    event_type: 'message_sent',
    conversation_id: `c-${i % 3}`,
    sender_id: `u${i % 5}`,
    receiver_id: `u${(i + 1) % 5}`,
    message_type: 'text',
    ...over,
  };
}

import { systemClock } from '../clock/index.ts';
import type { Config } from '../config/index.ts';
import { applyRetention, type ClickHouse, migrate, openChdb, openHttp } from '../storage/index.ts';

/**
 * The ClickHouse the configuration asks for — chDB under DATA_DIR, or a server over HTTP — with the
 * schema's pending migrations applied (start-up is where migrations run) and the retention (TTL) of
 * each table set from RETENTION_*_DAYS. Only what runs the platform opens storage this way.
 */
export async function openStorage(config: Config): Promise<ClickHouse> {
  const ch = await connectStorage(config);
  try {
    await migrate(ch, { clock: systemClock });
    await applyRetention(ch, { ...config.retention });
  } catch (err) {
    await ch.close();
    throw err;
  }
  return ch;
}

/**
 * The same ClickHouse, reachable (pinged) and otherwise untouched: no migration, no TTL change. For
 * the tools that read or repair (`msgtrack query`, `msgtrack replay`). With `mustExist`, chDB's data
 * directory is not created when missing (a CONFIG_INVALID error says where it looked).
 */
export async function connectStorage(
  config: Config,
  options: { mustExist?: boolean } = {},
): Promise<ClickHouse> {
  const ch =
    config.storage.kind === 'chdb'
      ? await openChdb({ dataDir: config.dataDir, create: options.mustExist !== true })
      : openHttp({
          url: config.storage.url,
          ...(config.storage.user === undefined ? {} : { user: config.storage.user }),
          ...(config.storage.password === undefined ? {} : { password: config.storage.password }),
        });
  try {
    await ch.ping();
  } catch (err) {
    await ch.close();
    throw err;
  }
  return ch;
}

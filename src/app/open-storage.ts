import { systemClock } from '../clock/index.ts';
import type { Config } from '../config/index.ts';
import { applyRetention, type ClickHouse, migrate, openChdb, openHttp } from '../storage/index.ts';

/**
 * The ClickHouse the configuration asks for — chDB under DATA_DIR, or a server over HTTP — with the
 * schema's pending migrations applied (start-up is where migrations run) and the retention (TTL) of
 * each table set from RETENTION_*_DAYS.
 */
export async function openStorage(config: Config): Promise<ClickHouse> {
  const ch =
    config.storage.kind === 'chdb'
      ? await openChdb({ dataDir: config.dataDir })
      : openHttp({
          url: config.storage.url,
          ...(config.storage.user === undefined ? {} : { user: config.storage.user }),
          ...(config.storage.password === undefined ? {} : { password: config.storage.password }),
        });
  try {
    await ch.ping();
    await migrate(ch, { clock: systemClock });
    await applyRetention(ch, { ...config.retention });
  } catch (err) {
    await ch.close();
    throw err;
  }
  return ch;
}

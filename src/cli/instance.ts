import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INSTANCE_FILE } from '../app/index.ts';
import type { Config } from '../config/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import type { OperatorQueryResult } from '../storage/index.ts';

/**
 * The running instance that owns DATA_DIR's chDB, if any: `msgtrack start`/`api` write
 * DATA_DIR/instance.json with their URL and pid, and remove it when they stop; a file left by a
 * killed process is ignored (its pid is gone). Only chDB has one owner: a ClickHouse server is
 * queried directly.
 */
export async function runningInstance(config: Config): Promise<{ url: string } | undefined> {
  if (config.storage.kind !== 'chdb') return undefined;
  let info: { url?: unknown; pid?: unknown };
  try {
    info = JSON.parse(await readFile(join(config.dataDir, INSTANCE_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof info.url !== 'string' || typeof info.pid !== 'number') return undefined;
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
  }
  return { url: info.url };
}

/** `POST /api/v1/query` on a running instance; its error body becomes the same AppError. */
export async function queryInstance(
  url: string,
  token: string | undefined,
  sql: string,
  options: { params: Record<string, string>; maxRows: number },
): Promise<OperatorQueryResult> {
  let res: Response;
  try {
    res = await fetch(`${url}/api/v1/query`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify({ sql, params: options.params, max_rows: options.maxRows }),
    });
  } catch (err) {
    throw new AppError(
      ErrorCode.STORAGE_UNAVAILABLE,
      `the running instance at ${url} does not answer: ${String(err)}`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const e = (body.error ?? {}) as { code?: string; message?: string };
    const code = (Object.values(ErrorCode) as string[]).includes(e.code ?? '')
      ? (e.code as ErrorCode)
      : ErrorCode.STORAGE_QUERY;
    throw new AppError(code, `${e.message ?? `HTTP ${res.status}`} (through ${url})`);
  }
  return {
    columns: body.columns as OperatorQueryResult['columns'],
    rows: body.rows as unknown[][],
    rowCount: Number(body.row_count),
    truncated: body.truncated === true,
    elapsedMs: Number(body.elapsed_ms),
  };
}

import { AppError, type ErrorContext, isAppError } from '../errors/index.ts';

/**
 * ClickHouse error codes we classify (src/Common/ErrorCodes.cpp). Anything not listed is a
 * non-retriable STORAGE_QUERY: syntax errors, unknown tables and columns, type mismatches.
 */
const RETRIABLE_CODES: ReadonlySet<number> = new Set([
  159, // TIMEOUT_EXCEEDED
  164, // READONLY (replica temporarily read-only)
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY
  252, // TOO_MANY_PARTS
  279, // ALL_CONNECTION_TRIES_FAILED
  319, // UNKNOWN_STATUS_OF_INSERT
  425, // SYSTEM_ERROR
  999, // KEEPER_EXCEPTION
]);
const AUTH_CODES: ReadonlySet<number> = new Set([
  192, // UNKNOWN_USER
  193, // WRONG_PASSWORD
  194, // REQUIRED_PASSWORD
  516, // AUTHENTICATION_FAILED
]);
const NETWORK_ERRNOS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

/** `Code: 62. DB::Exception: …` — the numeric code in a ClickHouse message, if any. */
function codeInMessage(message: string): number | undefined {
  const m = /Code:\s*(\d+)/.exec(message);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function numericCode(err: Record<string, unknown>, message: string): number | undefined {
  // chDB: `clickhouseCode` (number); clickhouse-js ClickHouseError: `code` (numeric string).
  for (const v of [err['clickhouseCode'], err['code']]) {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  }
  return codeInMessage(message);
}

function errnoOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as Record<string, unknown>)['code'];
    if (typeof code === 'string' && NETWORK_ERRNOS.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Parses a foreign error (chDB, clickhouse-js, Node sockets) into an AppError, once, at the adapter
 * edge. `context` names what was touched (operation, table).
 */
export function toStorageError(err: unknown, context: ErrorContext): AppError {
  if (isAppError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const errno = errnoOf(err);
  const fields = err !== null && typeof err === 'object' ? (err as Record<string, unknown>) : {};
  const code = numericCode(fields, message);
  // A client-side timeout or hang-up has no ClickHouse code; the engine's own TIMEOUT_EXCEEDED has.
  const transport =
    code === undefined && (/timeout/i.test(message.slice(0, 40)) || /socket hang up/i.test(message));
  if (errno !== undefined || transport) {
    return new AppError('STORAGE_UNAVAILABLE', `ClickHouse unreachable: ${message}`, {
      retriable: true,
      context: { ...context, errno },
      cause: err,
    });
  }
  const ctx = { ...context, clickhouseCode: code ?? null };
  if (code !== undefined && AUTH_CODES.has(code)) {
    return new AppError('STORAGE_AUTH', `ClickHouse authentication failed: ${message}`, {
      context: ctx,
      cause: err,
    });
  }
  if (code !== undefined && RETRIABLE_CODES.has(code)) {
    return new AppError('STORAGE_UNAVAILABLE', `ClickHouse temporarily unavailable: ${message}`, {
      retriable: true,
      context: ctx,
      cause: err,
    });
  }
  return new AppError('STORAGE_QUERY', `ClickHouse query failed: ${message}`, { context: ctx, cause: err });
}

/**
 * The one error catalogue. Every error the platform raises on purpose is an `AppError` with a stable,
 * prefixed code, a `retriable` flag and structured context (topic, partition, offset, table, key …).
 * HTTP statuses are mapped from the code in one place (`httpStatusOf`); foreign errors (ClickHouse,
 * Kafka, fs) are parsed once at the edge into one of these.
 */

export const ErrorCode = {
  // configuration
  CONFIG_INVALID: 'CONFIG_INVALID',
  // log (embedded or Kafka)
  LOG_LOCKED: 'LOG_LOCKED',
  LOG_CLOSED: 'LOG_CLOSED',
  LOG_UNKNOWN_TOPIC: 'LOG_UNKNOWN_TOPIC',
  LOG_UNKNOWN_PARTITION: 'LOG_UNKNOWN_PARTITION',
  LOG_TOPIC_MISMATCH: 'LOG_TOPIC_MISMATCH',
  LOG_INVALID_ARGUMENT: 'LOG_INVALID_ARGUMENT',
  LOG_OFFSET_OUT_OF_RANGE: 'LOG_OFFSET_OUT_OF_RANGE',
  LOG_CORRUPT: 'LOG_CORRUPT',
  LOG_FENCED: 'LOG_FENCED',
  LOG_TXN_STATE: 'LOG_TXN_STATE',
  LOG_IO: 'LOG_IO',
  /** The Kafka cluster refused our credentials (SASL) or our access (authorization). */
  LOG_AUTH: 'LOG_AUTH',
  LOG_DISK_FULL: 'LOG_DISK_FULL',
  LOG_READ_ONLY: 'LOG_READ_ONLY',
  // events
  EVENT_INVALID: 'EVENT_INVALID',
  EVENT_UNPARSEABLE: 'EVENT_UNPARSEABLE',
  // streams
  STREAMS_TOPOLOGY: 'STREAMS_TOPOLOGY',
  STREAMS_WINDOW: 'STREAMS_WINDOW',
  STREAMS_PROCESSING: 'STREAMS_PROCESSING',
  STREAMS_STATE: 'STREAMS_STATE',
  // storage
  STORAGE_QUERY: 'STORAGE_QUERY',
  STORAGE_UNAVAILABLE: 'STORAGE_UNAVAILABLE',
  STORAGE_AUTH: 'STORAGE_AUTH',
  STORAGE_MIGRATION: 'STORAGE_MIGRATION',
  // ClickHouse does not hold what the log and the sink's progress say it does (lost or damaged)
  STORAGE_DAMAGED: 'STORAGE_DAMAGED',
  // operator SQL (msgtrack query, consoles): refused by read-only rules, the operator's mistake, too slow
  QUERY_REFUSED: 'QUERY_REFUSED',
  QUERY_INVALID: 'QUERY_INVALID',
  QUERY_TIMEOUT: 'QUERY_TIMEOUT',
  // API
  API_BAD_REQUEST: 'API_BAD_REQUEST',
  API_UNAUTHORIZED: 'API_UNAUTHORIZED',
  API_NOT_FOUND: 'API_NOT_FOUND',
  API_FORBIDDEN: 'API_FORBIDDEN',
  API_METHOD_NOT_ALLOWED: 'API_METHOD_NOT_ALLOWED',
  API_CONFLICT: 'API_CONFLICT',
  API_PAYLOAD_TOO_LARGE: 'API_PAYLOAD_TOO_LARGE',
  API_UNSUPPORTED_MEDIA_TYPE: 'API_UNSUPPORTED_MEDIA_TYPE',
  API_UNPROCESSABLE: 'API_UNPROCESSABLE',
  API_RATE_LIMITED: 'API_RATE_LIMITED',
  API_OVERLOADED: 'API_OVERLOADED',
  API_INSECURE_BINDING: 'API_INSECURE_BINDING',
  INTERNAL: 'INTERNAL',
  // generator (`msgtrack generate --target`): the instance could not be reached, or refused a batch
  GENERATOR_TARGET_UNAVAILABLE: 'GENERATOR_TARGET_UNAVAILABLE',
  GENERATOR_TARGET_REJECTED: 'GENERATOR_TARGET_REJECTED',
  // CLI
  CLI_USAGE: 'CLI_USAGE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Structured context: what was being touched when the error happened. */
export type ErrorContext = Readonly<Record<string, string | number | boolean | null | undefined>>;

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: ErrorContext;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retriable?: boolean; context?: ErrorContext; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = Object.freeze({ ...(options.context ?? {}) });
  }

  toJSON(): { code: ErrorCode; message: string; retriable: boolean; context: ErrorContext } {
    return { code: this.code, message: this.message, retriable: this.retriable, context: this.context };
  }
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  EVENT_INVALID: 400,
  EVENT_UNPARSEABLE: 400,
  API_BAD_REQUEST: 400,
  API_UNAUTHORIZED: 401,
  API_NOT_FOUND: 404,
  API_FORBIDDEN: 403,
  API_METHOD_NOT_ALLOWED: 405,
  API_CONFLICT: 409,
  API_PAYLOAD_TOO_LARGE: 413,
  API_UNSUPPORTED_MEDIA_TYPE: 415,
  API_UNPROCESSABLE: 422,
  API_RATE_LIMITED: 429,
  API_OVERLOADED: 503,
  LOG_UNKNOWN_TOPIC: 404,
  LOG_UNKNOWN_PARTITION: 404,
  LOG_INVALID_ARGUMENT: 400,
  LOG_OFFSET_OUT_OF_RANGE: 416,
  STORAGE_UNAVAILABLE: 503,
  QUERY_REFUSED: 403,
  QUERY_INVALID: 400,
  QUERY_TIMEOUT: 408,
  LOG_CLOSED: 503,
  LOG_DISK_FULL: 507,
};

/** The HTTP status for an error: mapped from its code; anything unknown is a 500. */
export function httpStatusOf(err: unknown): number {
  if (err instanceof AppError) return HTTP_STATUS[err.code] ?? (err.retriable ? 503 : 500);
  return 500;
}

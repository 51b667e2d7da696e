import { AppError, ErrorCode, httpStatusOf } from '../errors/index.ts';

/**
 * The one JSON error shape of the API: `{"error": {"code", "message", "details"}}`, with the status
 * from the error catalogue (`httpStatusOf`). Fastify's own errors (bad JSON, body too large, wrong
 * content type, validation) are parsed once here into catalogue errors, so that no request a client
 * can send yields a 500: a 500 means a bug of ours, and its message never carries internals.
 */
export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

export interface HttpError {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Record<string, string>;
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: readonly { instancePath?: string; message?: string; params?: Record<string, unknown> }[];
  validationContext?: string;
}

/** Fastify error codes a client causes, and what they mean in the catalogue. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ErrorCode.API_PAYLOAD_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ErrorCode.API_UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ErrorCode.API_BAD_REQUEST,
  FST_ERR_CTP_EMPTY_JSON_BODY: ErrorCode.API_BAD_REQUEST,
  FST_ERR_CTP_INVALID_JSON_BODY: ErrorCode.API_BAD_REQUEST,
  FST_ERR_BAD_URL: ErrorCode.API_BAD_REQUEST,
  FST_ERR_ASYNC_CONSTRAINT: ErrorCode.API_BAD_REQUEST,
  FST_ERR_VALIDATION: ErrorCode.API_BAD_REQUEST,
};

const BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: ErrorCode.API_BAD_REQUEST,
  401: ErrorCode.API_UNAUTHORIZED,
  403: ErrorCode.API_FORBIDDEN,
  404: ErrorCode.API_NOT_FOUND,
  405: ErrorCode.API_METHOD_NOT_ALLOWED,
  409: ErrorCode.API_CONFLICT,
  413: ErrorCode.API_PAYLOAD_TOO_LARGE,
  415: ErrorCode.API_UNSUPPORTED_MEDIA_TYPE,
  422: ErrorCode.API_UNPROCESSABLE,
  429: ErrorCode.API_RATE_LIMITED,
};

/** `Retry-After` seconds carried by an AppError's context (rate limit, back-pressure). */
const RETRY_AFTER = 'retryAfterSeconds';

/** Parse any thrown value into the status, body and headers the API answers with. */
export function toHttpError(err: unknown): HttpError {
  const app = toAppError(err);
  const status = httpStatusOf(app);
  const details: Record<string, unknown> = { ...app.context };
  if (status >= 500 && app.code === ErrorCode.INTERNAL) {
    return {
      status: 500,
      body: { error: { code: app.code, message: 'internal error', details: {} } },
      headers: {},
    };
  }
  const headers: Record<string, string> = {};
  const retry = app.context[RETRY_AFTER];
  if (typeof retry === 'number') headers['retry-after'] = String(Math.max(1, Math.ceil(retry)));
  else if (status === 503) headers['retry-after'] = '1';
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  return { status, body: { error: { code: app.code, message: app.message, details } }, headers };
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = (err ?? {}) as FastifyLikeError;
  if (Array.isArray(e.validation)) {
    const first = e.validation[0];
    const where = `${e.validationContext ?? 'request'}${first?.instancePath ?? ''}`;
    return new AppError(ErrorCode.API_BAD_REQUEST, `${where}: ${first?.message ?? 'invalid'}`, {
      context: {
        field: where,
        issues: e.validation.length,
        ...(first?.params?.expected === undefined ? {} : { expected: String(first.params.expected) }),
      },
    });
  }
  const code = (e.code !== undefined ? FASTIFY_CODES[e.code] : undefined) ?? byStatus(e.statusCode);
  if (code !== undefined) return new AppError(code, cleanMessage(e.message ?? code));
  if (err instanceof SyntaxError) return new AppError(ErrorCode.API_BAD_REQUEST, cleanMessage(err.message));
  return new AppError(ErrorCode.INTERNAL, 'internal error', { cause: err });
}

function byStatus(status: number | undefined): ErrorCode | undefined {
  if (status === undefined || status < 400 || status >= 500) return undefined;
  return BY_STATUS[status] ?? ErrorCode.API_BAD_REQUEST;
}

/** Fastify prefixes its messages with the error code; the code is already in the body. */
function cleanMessage(message: string): string {
  return message.replace(/^FST_ERR_[A-Z_]+:\s*/, '');
}

export const retryAfter = (seconds: number) => ({ [RETRY_AFTER]: seconds });

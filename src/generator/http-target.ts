import { type Clock, systemClock } from '../clock/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { retry, sleep } from '../retry/index.ts';
import type { EventSink } from './publish.ts';
import type { GeneratedEvent } from './traffic.ts';

/**
 * Generated traffic to a running instance's API (`msgtrack generate --target URL`):
 * - messages: `POST /api/v1/messages`, body a JSON array of `chat.messages` events in the seed's wire
 *   format, answered 202 `{"accepted": n, "message_ids": [...]}`;
 * - receipts: `POST /api/v1/views`, a JSON array of `message-views` events, answered 202;
 * at most `batchSize` (≤ 1,000) events per request, the messages of a batch before its views.
 * `Authorization: Bearer <token>` when a token is given (API_TOKEN). 429, 502, 503 and 504 and
 * network errors are retried with the platform's retry policy (exponential back-off with jitter),
 * waiting at least what `Retry-After` asks; re-posting is safe, as the API keeps one stored message
 * per `message_id`. Any other answer stops with `GENERATOR_TARGET_REJECTED` and the API's message.
 */
export interface HttpTargetOptions {
  /** Base URL of the instance, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly token?: string;
  /** Events per request, 1–1000. Default 1000. */
  readonly batchSize?: number;
  /** Longest time one request is retried, ms. Default 60 000. */
  readonly retryDeadlineMs?: number;
  /** Stops retrying. */
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
}

const MAX_RETRY_AFTER_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;
const RETRIED_STATUSES = new Set([429, 502, 503, 504]);

export function httpTarget(options: HttpTargetOptions): EventSink {
  const base = new URL(options.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new AppError(ErrorCode.CLI_USAGE, `--target=${options.url} is invalid: expected an http(s) URL`);
  }
  const batchSize = Math.min(1000, Math.max(1, options.batchSize ?? 1000));
  const clock = options.clock ?? systemClock;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;

  const post = async (path: string, events: readonly GeneratedEvent[]): Promise<void> => {
    const url = new URL(path, base).toString();
    const body = JSON.stringify(events.map((e) => e.value));
    let retryAfterMs = 0;
    await retry(
      async () => {
        retryAfterMs = 0;
        let res: Response;
        try {
          res = await fetch(url, {
            method: 'POST',
            headers,
            body,
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
        } catch (err) {
          const cause = (err as { cause?: { code?: string; message?: string } }).cause;
          throw new AppError(
            ErrorCode.GENERATOR_TARGET_UNAVAILABLE,
            `cannot reach ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
            { retriable: true, context: { url }, cause: err },
          );
        }
        const text = await res.text();
        if (RETRIED_STATUSES.has(res.status)) {
          retryAfterMs = retryAfter(res.headers.get('retry-after'), clock.now());
          throw new AppError(ErrorCode.GENERATOR_TARGET_UNAVAILABLE, `POST ${url} answered ${res.status}`, {
            retriable: true,
            context: { url, status: res.status },
          });
        }
        if (res.status !== 202 && res.status !== 200) {
          throw new AppError(
            ErrorCode.GENERATOR_TARGET_REJECTED,
            `POST ${url} answered ${res.status}: ${apiMessage(text)}`,
            { context: { url, status: res.status } },
          );
        }
        const accepted = acceptedOf(text);
        if (accepted !== undefined && accepted !== events.length) {
          throw new AppError(
            ErrorCode.GENERATOR_TARGET_REJECTED,
            `POST ${url} accepted ${accepted} of ${events.length} events`,
            { context: { url, status: res.status } },
          );
        }
      },
      {
        deadlineMs: options.retryDeadlineMs ?? 60_000,
        initialDelayMs: 200,
        maxDelayMs: 5_000,
        clock,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        sleep: (ms, signal) => sleep(Math.max(ms, retryAfterMs), signal),
      },
    );
  };

  return {
    async send(messages, views) {
      for (let i = 0; i < messages.length; i += batchSize)
        await post('/api/v1/messages', messages.slice(i, i + batchSize));
      for (let i = 0; i < views.length; i += batchSize)
        await post('/api/v1/views', views.slice(i, i + batchSize));
    },
    close: async () => {},
  };
}

/** `Retry-After` in ms: delta-seconds or an HTTP-date (RFC 9110 §10.2.3), capped; 0 when absent. */
export function retryAfter(header: string | null, nowMs: number): number {
  if (header === null) return 0;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - nowMs;
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : 0;
}

/** The message of the API's error shape `{"error": {"code", "message"}}`, else the body's start. */
function apiMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (typeof body.error?.message === 'string') {
      return body.error.code === undefined ? body.error.message : `${body.error.code}: ${body.error.message}`;
    }
  } catch {}
  return text.slice(0, 200) || '(empty body)';
}

function acceptedOf(text: string): number | undefined {
  try {
    const body = JSON.parse(text) as { accepted?: unknown };
    return typeof body.accepted === 'number' ? body.accepted : undefined;
  } catch {
    return undefined;
  }
}

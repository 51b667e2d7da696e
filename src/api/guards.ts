import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock/index.ts';
import { AppError, ErrorCode } from '../errors/index.ts';
import { retryAfter } from './errors.ts';

/**
 * Request guards: the bearer token of /api/*, the ingest rate limit, and the check that refuses to
 * serve a non-loopback address without a token.
 */

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Checks `Authorization: Bearer <token>` in constant time: both sides are hashed to 32 bytes first,
 * so neither the comparison nor its length depends on how much of the token a caller got right.
 */
export function bearerCheck(token: string | undefined): (header: string | undefined) => void {
  if (token === undefined) return () => {};
  const expected = digest(token);
  return (header) => {
    const given = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new AppError(
        ErrorCode.API_UNAUTHORIZED,
        given === undefined ? 'missing Authorization: Bearer <API_TOKEN>' : 'invalid bearer token',
      );
    }
  };
}

/**
 * A token bucket of events per second (capacity: one second's worth). `take(n)` either takes n
 * tokens or throws API_RATE_LIMITED with the seconds after which n tokens will be there. A batch
 * larger than the capacity is admitted when the bucket is full, so a limit below the batch size
 * still lets one batch per second through.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #clock: Clock;
  #tokens: number;
  #at: number;

  /** `rate` events per second; 0 = no limit. */
  constructor(rate: number, clock: Clock) {
    this.#rate = rate;
    this.#clock = clock;
    this.#tokens = rate;
    this.#at = clock.now();
  }

  take(n: number): void {
    if (this.#rate === 0) return;
    const now = this.#clock.now();
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#at) * this.#rate) / 1000);
    this.#at = now;
    const need = Math.min(n, this.#rate);
    if (this.#tokens >= need) {
      this.#tokens -= n;
      return;
    }
    const seconds = (need - this.#tokens) / this.#rate;
    throw new AppError(
      ErrorCode.API_RATE_LIMITED,
      `ingest rate limit of ${this.#rate} events/s reached: retry after ${Math.ceil(seconds)} s`,
      { context: { limit: this.#rate, ...retryAfter(seconds) } },
    );
  }
}

/** Loopback names and addresses: the only ones served without a token unless --insecure. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

export function assertSafeBinding(host: string, token: string | undefined, insecure: boolean): void {
  if (isLoopback(host) || token !== undefined || insecure) return;
  throw new AppError(
    ErrorCode.API_INSECURE_BINDING,
    `HOST=${host} is not a loopback address and API_TOKEN is not set: anyone on the network could use the API. Set API_TOKEN (16+ characters), bind HOST=127.0.0.1, or pass --insecure`,
    { context: { host } },
  );
}

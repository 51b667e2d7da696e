/**
 * Requests to a group or transaction coordinator, and the Kafka adapter's retry policies (all built
 * on the one retry module, src/retry). A coordinator that moved, is loading or does not answer is
 * re-discovered (FindCoordinator) and the request retried until the deadline, as the Java client
 * does within `max.block.ms`.
 */
import { FindCoordinatorKeyTypes } from '@platformatic/kafka';
import { AppError, ErrorCode, type ErrorContext } from '../../errors/index.ts';
import { type RetryPolicy, retry } from '../../retry/index.ts';
import { apiIdOf, isNetworkError, isRetriableKafkaError, toAppError } from './errors.ts';

export { isRetriableKafkaError };

import { type AnyBase, callApi, callBootstrap } from './wire.ts';

/** Java's `max.block.ms`: how long a metadata, coordinator or transaction call may retry. */
export const MAX_BLOCK_MS = 60_000;
/** Java's `delivery.timeout.ms`: how long a produce may retry. */
export const DELIVERY_TIMEOUT_MS = 120_000;

const COORDINATOR_MOVED = new Set([
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
]);

export function isCoordinatorMoved(err: unknown): boolean {
  const id = err instanceof AppError ? err.context.kafkaError : apiIdOf(err);
  return (
    (typeof id === 'string' && COORDINATOR_MOVED.has(id)) ||
    isNetworkError(err instanceof AppError ? err.cause : err)
  );
}

/** The adapter's policy for requests: `deadlineMs` of retries with backoff 50 ms → 1 s. */
export function kafkaRetry(deadlineMs: number, signal?: AbortSignal): RetryPolicy {
  return {
    deadlineMs,
    initialDelayMs: 50,
    maxDelayMs: 1_000,
    retriable: isRetriableKafkaError,
    ...(signal === undefined ? {} : { signal }),
  };
}

export class Coordinators {
  readonly #client: AnyBase;
  readonly #keyType: number;
  readonly #known = new Map<string, number>();
  readonly #signal: AbortSignal | undefined;

  /** `kind`: group coordinators (consumer groups) or transaction coordinators. */
  constructor(client: AnyBase, kind: 'group' | 'transaction', signal?: AbortSignal) {
    this.#client = client;
    this.#keyType = kind === 'group' ? FindCoordinatorKeyTypes.GROUP : FindCoordinatorKeyTypes.TRANSACTION;
    this.#signal = signal;
  }

  forget(key?: string): void {
    if (key === undefined) this.#known.clear();
    else this.#known.delete(key);
  }

  async #find(key: string): Promise<number> {
    const known = this.#known.get(key);
    if (known !== undefined) return known;
    const res = await callBootstrap<{ coordinators: { nodeId: number; errorCode: number }[] }>(
      this.#client,
      'FindCoordinator',
      this.#keyType,
      [key],
    );
    const nodeId = res.coordinators[0]?.nodeId;
    if (nodeId === undefined || nodeId < 0) {
      throw new AppError(ErrorCode.LOG_IO, `no coordinator for ${key} yet`, {
        retriable: true,
        context: { key },
      });
    }
    this.#known.set(key, nodeId);
    return nodeId;
  }

  /**
   * Call `api` on `key`'s coordinator once, parsing what it throws; a moved coordinator is forgotten
   * (the next call re-discovers it).
   */
  async callOnce<R>(
    key: string,
    doing: string,
    context: ErrorContext,
    api: string,
    args: readonly unknown[],
  ): Promise<R> {
    try {
      return await callApi<R>(this.#client, await this.#find(key), api, ...args);
    } catch (err) {
      if (isCoordinatorMoved(err)) {
        this.forget(key);
        this.#client.clearMetadata();
      }
      throw toAppError(err, doing, context);
    }
  }

  /** `callOnce`, retried under `policy` (default: retriable errors until MAX_BLOCK_MS). */
  call<R>(
    key: string,
    doing: string,
    context: ErrorContext,
    api: string,
    args: readonly unknown[],
    policy: RetryPolicy = kafkaRetry(MAX_BLOCK_MS, this.#signal),
  ): Promise<R> {
    return retry(() => this.callOnce<R>(key, doing, context, api, args), policy);
  }
}

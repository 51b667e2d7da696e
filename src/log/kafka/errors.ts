/**
 * The edge where `@platformatic/kafka` errors become `AppError`s: parsed once here, never matched on
 * elsewhere. A Kafka protocol error carries `apiId` (e.g. `PRODUCER_FENCED`) and `canRetry`; a
 * response error wraps one or more of them; network errors carry `code: PLT_KFK_NETWORK`.
 */

import { findErrorBy, NetworkError } from '@platformatic/kafka';
import { AppError, type ErrorCode, type ErrorContext } from '../../errors/index.ts';

/** Kafka protocol error ids, grouped by the catalogue code they map to. */
const BY_API_ID: Readonly<Record<string, ErrorCode>> = {
  // a newer producer with the same transactional id, or a newer group generation, took over
  PRODUCER_FENCED: 'LOG_FENCED',
  INVALID_PRODUCER_EPOCH: 'LOG_FENCED',
  FENCED_INSTANCE_ID: 'LOG_FENCED',
  ILLEGAL_GENERATION: 'LOG_FENCED',
  UNKNOWN_MEMBER_ID: 'LOG_FENCED',
  UNKNOWN_TOPIC_OR_PARTITION: 'LOG_UNKNOWN_TOPIC',
  UNKNOWN_TOPIC_ID: 'LOG_UNKNOWN_TOPIC',
  OFFSET_OUT_OF_RANGE: 'LOG_OFFSET_OUT_OF_RANGE',
  INVALID_TXN_STATE: 'LOG_TXN_STATE',
  INVALID_PRODUCER_ID_MAPPING: 'LOG_TXN_STATE',
  TRANSACTION_ABORTABLE: 'LOG_TXN_STATE',
  INVALID_PARTITIONS: 'LOG_INVALID_ARGUMENT',
  INVALID_REPLICATION_FACTOR: 'LOG_INVALID_ARGUMENT',
  INVALID_CONFIG: 'LOG_INVALID_ARGUMENT',
  INVALID_TOPIC_EXCEPTION: 'LOG_INVALID_ARGUMENT',
  INVALID_REQUEST: 'LOG_INVALID_ARGUMENT',
  INVALID_TIMESTAMP: 'LOG_INVALID_ARGUMENT',
  RECORD_LIST_TOO_LARGE: 'LOG_INVALID_ARGUMENT',
  MESSAGE_TOO_LARGE: 'LOG_INVALID_ARGUMENT',
  INVALID_GROUP_ID: 'LOG_INVALID_ARGUMENT',
  // e.g. DeleteRecords on a topic whose cleanup policy does not include delete
  POLICY_VIOLATION: 'LOG_INVALID_ARGUMENT',
  SASL_AUTHENTICATION_FAILED: 'LOG_AUTH',
  ILLEGAL_SASL_STATE: 'LOG_AUTH',
  UNSUPPORTED_SASL_MECHANISM: 'LOG_AUTH',
  TOPIC_AUTHORIZATION_FAILED: 'LOG_AUTH',
  GROUP_AUTHORIZATION_FAILED: 'LOG_AUTH',
  CLUSTER_AUTHORIZATION_FAILED: 'LOG_AUTH',
};

/** Some error in `err`'s chain (nested `errors` and `cause`) for which `pred` holds. */
function inChain(err: unknown, pred: (e: Error & Record<string, unknown>) => boolean, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 8) return false;
  if (pred(err as Error & Record<string, unknown>)) return true;
  const nested = (err as Error & { errors?: unknown[] }).errors;
  if (Array.isArray(nested) && nested.some((e) => inChain(e, pred, depth + 1))) return true;
  return inChain(err.cause, pred, depth + 1);
}

/**
 * SASL refused our credentials, or the cluster our access. The client reports a refused login as a
 * network error (the connection fails) wrapping the broker's SASL_AUTHENTICATION_FAILED.
 */
export function isAuthError(err: unknown): boolean {
  return inChain(
    err,
    (e) =>
      e.code === 'PLT_KFK_AUTHENTICATION' ||
      (typeof e.apiId === 'string' && BY_API_ID[e.apiId] === 'LOG_AUTH'),
  );
}

/** Kafka errors after which the same request may succeed (the Java client's RetriableException). */
const RETRIABLE_IDS = new Set([
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'CONCURRENT_TRANSACTIONS',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'KAFKA_STORAGE_ERROR',
  'FETCH_SESSION_ID_NOT_FOUND',
  'UNKNOWN_LEADER_EPOCH',
  'FENCED_LEADER_EPOCH',
  'OFFSET_NOT_AVAILABLE',
  'THROTTLING_QUOTA_EXCEEDED',
  'UNSTABLE_OFFSET_COMMIT',
]);

/** A connection failed or was closed (`PLT_KFK_NETWORK`, possibly wrapped). */
export function isNetworkError(err: unknown): boolean {
  return (
    err instanceof Error &&
    (findErrorBy(err, 'code', 'PLT_KFK_NETWORK') !== null || NetworkError.isRetryable(err))
  );
}

/**
 * Whether a client error (raw, or parsed by `toAppError`) is worth retrying: network trouble, or a
 * Kafka error in RETRIABLE_IDS. UNKNOWN_TOPIC_OR_PARTITION is among them because a broker answers it
 * for a topic created a moment ago; callers check that a topic exists before they retry on it.
 */
export function isRetriableKafkaError(err: unknown): boolean {
  if (isAuthError(err)) return false;
  if (err instanceof AppError) {
    if (err.code === 'LOG_AUTH') return false;
    if (err.retriable) return true;
    const id = err.context.kafkaError;
    if (typeof id === 'string' && RETRIABLE_IDS.has(id)) return true;
    return err.cause !== undefined && isRetriableKafkaError(err.cause);
  }
  if (isNetworkError(err)) return true;
  if (!(err instanceof Error)) return false;
  for (const id of RETRIABLE_IDS) if (findErrorBy(err, 'apiId', id) !== null) return true;
  return false;
}

/** Whether the error (or one it wraps) is the Kafka protocol error `apiId`. */
export function hasApiId(err: unknown, apiId: string): boolean {
  return err instanceof Error && findErrorBy(err, 'apiId', apiId) !== null;
}

/** The first Kafka protocol error id found in `err`, if any. */
export function apiIdOf(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  for (const id of Object.keys(BY_API_ID)) if (findErrorBy(err, 'apiId', id) !== null) return id;
  const generic = findErrorBy(err, 'code', 'PLT_KFK_PROTOCOL');
  return typeof generic?.apiId === 'string' ? generic.apiId : undefined;
}

/** The client reports a topic missing from the metadata as a `UserError('Unknown topic …')`. */
export function isUnknownTopicError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (hasApiId(err, 'UNKNOWN_TOPIC_OR_PARTITION') || hasApiId(err, 'UNKNOWN_TOPIC_ID')) return true;
  const nested = (err as Error & { errors?: unknown[] }).errors;
  return (
    /^Unknown topic /.test(err.message) ||
    (Array.isArray(nested) && nested.some((e) => isUnknownTopicError(e)))
  );
}

/** True when a producer operation failed because another producer with the same id fenced it. */
export function isFencingError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    findErrorBy(err, 'producerFenced', true) !== null ||
    hasApiId(err, 'PRODUCER_FENCED') ||
    hasApiId(err, 'INVALID_PRODUCER_EPOCH') ||
    hasApiId(err, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED')
  );
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const parts: string[] = [];
  const visit = (e: unknown, depth: number): void => {
    if (!(e instanceof Error) || depth > 4) return;
    const id = (e as { apiId?: unknown }).apiId;
    const text = typeof id === 'string' ? `${id} (${e.message})` : e.message;
    if (!parts.includes(text)) parts.push(text);
    const nested = (e as Error & { errors?: unknown[] }).errors;
    if (Array.isArray(nested)) for (const n of nested) visit(n, depth + 1);
  };
  visit(err, 0);
  return parts.join(': ');
}

/** Parse any error thrown by the Kafka client into an `AppError` (an `AppError` passes through). */
export function toAppError(err: unknown, doing: string, context: ErrorContext = {}): AppError {
  if (err instanceof AppError) return err;
  const apiId = apiIdOf(err);
  const code: ErrorCode =
    (apiId === undefined ? undefined : BY_API_ID[apiId]) ??
    (isAuthError(err) ? 'LOG_AUTH' : undefined) ??
    (isUnknownTopicError(err) ? 'LOG_UNKNOWN_TOPIC' : 'LOG_IO');
  const retriable =
    code === 'LOG_IO' &&
    err instanceof Error &&
    (isRetriableKafkaError(err) || findErrorBy(err, 'canRetry', true) !== null);
  return new AppError(code, `${doing}: ${describe(err)}`, {
    retriable,
    context: { ...context, ...(apiId === undefined ? {} : { kafkaError: apiId }) },
    cause: err,
  });
}

/** Run a client call and parse what it throws. */
export async function edge<T>(doing: string, context: ErrorContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toAppError(err, doing, context);
  }
}

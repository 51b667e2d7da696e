import { backoffDelay } from '../../retry/index.ts';

/** What every client of one `KafkaLog` shares: the cluster's address and the client id prefix. */
export interface KafkaClientSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Produce compression (Kafka's `compression.type`); undefined or 'none': uncompressed. */
  readonly compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
}

/** The library client options every client gets (bootstrap brokers, client id). */
export function clientOptions(
  settings: KafkaClientSettings,
  clientId: string,
): { clientId: string; bootstrapBrokers: string[] } {
  return { clientId, bootstrapBrokers: [...settings.brokers] };
}

/**
 * The library's own retries (inside one produce, EndTxn, AddPartitionsToTxn, InitProducerId…),
 * paced by the one retry policy's backoff: about `deadlineMs` in total (the library counts
 * attempts, not time). A produce retried by the library keeps its sequence numbers, so idempotence
 * holds across these retries.
 */
export function libraryRetries(deadlineMs: number): {
  retries: number;
  retryDelay: (client: unknown, operationId: string, attempt: number) => number;
} {
  const policy = { deadlineMs, initialDelayMs: 100, maxDelayMs: 1_000 };
  let retries = 0;
  for (let total = 0; total < deadlineMs; retries++) total += backoffDelay(retries, policy, () => 0);
  return { retries, retryDelay: (_client, _op, attempt) => backoffDelay(attempt - 1, policy) };
}

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { AppError, ErrorCode } from '../../errors/index.ts';
import { backoffDelay } from '../../retry/index.ts';
import type { FetchSettings } from './fetcher.ts';

/** TLS towards the brokers: files are PEM, read once when the log opens. */
export interface KafkaTls {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** The name to verify the broker's certificate against (default: the host connected to). */
  readonly serverName?: string | undefined;
}

export type KafkaSasl =
  | {
      readonly mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
      readonly username: string;
      readonly password: string;
    }
  | {
      readonly mechanism: 'OAUTHBEARER';
      /** A file holding the token, read at each connection (so a sidecar can refresh it). */
      readonly tokenFile?: string | undefined;
      /** A command printing the token, run at each connection. */
      readonly tokenCommand?: string | undefined;
    };

/** What every client of one `KafkaLog` shares: the cluster's address, security, client id prefix. */
export interface KafkaClientSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Produce compression (Kafka's `compression.type`); undefined or 'none': uncompressed. */
  readonly compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  readonly tls?: KafkaTls | undefined;
  readonly sasl?: KafkaSasl | undefined;
  /** Consumers' fetch sizes and prefetch watermark (default DEFAULT_FETCH_SETTINGS, ./fetcher.ts). */
  readonly fetch?: FetchSettings | undefined;
}

const readPem = (file: string, what: string): Buffer => {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new AppError(
      ErrorCode.CONFIG_INVALID,
      `Kafka TLS ${what} ${file} cannot be read: ${(err as Error).message}`,
      {
        context: { file },
      },
    );
  }
};

/** Library TLS options from the settings (files read now: a missing file fails at open, clearly). */
export function tlsOptions(tls: KafkaTls): ConnectionOptions {
  return {
    ...(tls.caFile === undefined ? {} : { ca: readPem(tls.caFile, 'CA file') }),
    ...(tls.certFile === undefined ? {} : { cert: readPem(tls.certFile, 'certificate') }),
    ...(tls.keyFile === undefined ? {} : { key: readPem(tls.keyFile, 'key') }),
    ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
  };
}

function saslOptions(sasl: KafkaSasl) {
  if (sasl.mechanism !== 'OAUTHBEARER') return { ...sasl };
  const { tokenFile, tokenCommand } = sasl;
  return {
    mechanism: sasl.mechanism,
    token: () =>
      tokenFile !== undefined
        ? readFileSync(tokenFile, 'utf8').trim()
        : execFileSync('/bin/sh', ['-c', tokenCommand ?? 'false'], { encoding: 'utf8' }).trim(),
  };
}

/** The library client options every client gets (bootstrap brokers, client id, TLS, SASL). */
export function clientOptions(settings: KafkaClientSettings, clientId: string) {
  return {
    clientId,
    bootstrapBrokers: [...settings.brokers],
    ...(settings.tls === undefined ? {} : { tls: tlsOptions(settings.tls) }),
    ...(settings.sasl === undefined ? {} : { sasl: saslOptions(settings.sasl) }),
  };
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

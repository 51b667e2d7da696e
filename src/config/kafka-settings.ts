import { AppError, ErrorCode } from '../errors/index.ts';
import type { EnvKey, Value } from './env.ts';

/** The Kafka client and cluster settings, checked together (SASL needs its credentials, and so on). */
export function kafkaSettings(get: <K extends EnvKey>(k: K) => Value<K>) {
  const protocol = get('KAFKA_SECURITY_PROTOCOL');
  const invalid = (variable: EnvKey, expected: string) =>
    new AppError(ErrorCode.CONFIG_INVALID, `${variable} is invalid: expected ${expected}`, {
      context: { variable, expected },
    });
  const certFile = get('KAFKA_TLS_CERT_FILE');
  const keyFile = get('KAFKA_TLS_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw invalid(
      certFile === undefined ? 'KAFKA_TLS_CERT_FILE' : 'KAFKA_TLS_KEY_FILE',
      'both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE, or neither',
    );
  }
  const tls =
    protocol === 'SSL' || protocol === 'SASL_SSL'
      ? { caFile: get('KAFKA_TLS_CA_FILE'), certFile, keyFile, serverName: get('KAFKA_TLS_SERVER_NAME') }
      : undefined;
  let sasl:
    | { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
    | { mechanism: 'OAUTHBEARER'; tokenFile: string | undefined; tokenCommand: string | undefined }
    | undefined;
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const mechanism = get('KAFKA_SASL_MECHANISM');
    if (mechanism === undefined)
      throw invalid('KAFKA_SASL_MECHANISM', `a mechanism with KAFKA_SECURITY_PROTOCOL=${protocol}`);
    if (mechanism === 'OAUTHBEARER') {
      const tokenFile = get('KAFKA_SASL_OAUTH_TOKEN_FILE');
      const tokenCommand = get('KAFKA_SASL_OAUTH_TOKEN_COMMAND');
      if ((tokenFile === undefined) === (tokenCommand === undefined)) {
        throw invalid(
          'KAFKA_SASL_OAUTH_TOKEN_FILE',
          'exactly one of KAFKA_SASL_OAUTH_TOKEN_FILE and KAFKA_SASL_OAUTH_TOKEN_COMMAND',
        );
      }
      sasl = { mechanism, tokenFile, tokenCommand };
    } else {
      const username = get('KAFKA_SASL_USERNAME');
      const password = get('KAFKA_SASL_PASSWORD');
      if (username === undefined) throw invalid('KAFKA_SASL_USERNAME', `a user for SASL ${mechanism}`);
      if (password === undefined) throw invalid('KAFKA_SASL_PASSWORD', `a password for SASL ${mechanism}`);
      sasl = { mechanism, username, password };
    }
  }
  return {
    clientId: get('KAFKA_CLIENT_ID'),
    compression: get('KAFKA_COMPRESSION'),
    replicationFactor: get('KAFKA_REPLICATION_FACTOR'),
    minInsyncReplicas: get('KAFKA_MIN_INSYNC_REPLICAS'),
    fetch: {
      maxBytes: get('KAFKA_FETCH_MAX_BYTES'),
      partitionMaxBytes: get('KAFKA_FETCH_PARTITION_MAX_BYTES'),
      maxWaitMs: get('KAFKA_FETCH_MAX_WAIT_MS'),
      bufferBytes: get('KAFKA_FETCH_BUFFER_BYTES'),
    },
    tls,
    sasl,
  };
}

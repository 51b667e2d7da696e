/**
 * Why a TLS connection to a broker fails, when the client library only saw "Connection closed": a
 * broker that requires a client certificate (mutual TLS) rejects a missing or untrusted one with a
 * TLS alert after the handshake, which the library reports as a closed connection. One plain
 * `tls.connect` with the same options tells the alert apart from a broker that is down.
 */
import { isIP } from 'node:net';
import { type ConnectionOptions, connect } from 'node:tls';

/** How long (ms) the probe waits for the broker's verdict on the handshake. */
const PROBE_TIMEOUT_MS = 3_000;

/** Certificate verification errors of Node's TLS client (the broker's certificate not trusted). */
const UNTRUSTED_SERVER = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export type TlsRefusal =
  | { readonly side: 'client-certificate'; readonly reason: string }
  | { readonly side: 'broker-certificate'; readonly reason: string };

/**
 * Connect to `host:port` with `options` and report a certificate refused by either side, or
 * undefined (the handshake held, or the broker does not answer at all).
 */
export function probeTls(
  host: string,
  port: number,
  options: ConnectionOptions,
): Promise<TlsRefusal | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: TlsRefusal | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = connect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), ...options });
    const timer = setTimeout(() => done(undefined), PROBE_TIMEOUT_MS);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      if (UNTRUSTED_SERVER.has(code)) done({ side: 'broker-certificate', reason: code });
      else if (/^ERR_SSL_.*ALERT/.test(code)) done({ side: 'client-certificate', reason: code });
      else done(undefined);
    });
    // TLS 1.3: the broker checks the client's certificate after the client finished its handshake,
    // and answers with an alert (an 'error' above) or keeps the connection (nothing to report).
    socket.on('secureConnect', () => {
      setTimeout(() => done(undefined), 1_500);
    });
    socket.on('close', () => done(undefined));
  });
}

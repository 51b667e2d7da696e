/**
 * Thin promise wrappers over `@platformatic/kafka`'s lower-level surface: version-negotiated protocol
 * APIs (`kGetApi`) on a client's pooled connections (`kGetConnection`). Used where the high-level
 * clients do not expose what the `Log` port needs (the classic group protocol driven from `poll`,
 * TxnOffsetCommit with explicit group metadata).
 */

import {
  type API,
  type Base,
  type Broker,
  type ClusterMetadata,
  type Connection,
  kGetApi,
  kGetBootstrapConnection,
  kGetConnection,
  kMetadata,
} from '@platformatic/kafka';

// biome-ignore lint/suspicious/noExplicitAny: protocol API argument lists differ per API and version.
export type AnyApi = API<any[], any>;

// biome-ignore lint/suspicious/noExplicitAny: the clients' option types are generic.
export type AnyBase = Base<any, any>;

export function getApi(client: AnyBase, name: string): Promise<AnyApi> {
  return new Promise((resolve, reject) => {
    client[kGetApi](name, (err: Error | null, api?: AnyApi) => (err ? reject(err) : resolve(api!)));
  });
}

export function getConnection(client: AnyBase, broker: Broker): Promise<Connection> {
  return new Promise((resolve, reject) => {
    client[kGetConnection](broker, (err: Error | null, conn?: Connection) =>
      err ? reject(err) : resolve(conn!),
    );
  });
}

/**
 * Cluster metadata for `topics` (cached by the client for `metadataMaxAge`). `retries` bounds the
 * client's retries: an unknown topic is "retriable" to the client, so callers asking about a topic
 * that may not exist pass 0 to get the answer at once.
 */
export function getMetadata(
  client: AnyBase,
  topics: string[],
  options: { forceUpdate?: boolean; retries?: number } = {},
): Promise<ClusterMetadata> {
  return new Promise((resolve, reject) => {
    client[kMetadata]({ topics, ...options }, (err: Error | null, md?: ClusterMetadata) =>
      err ? reject(err) : resolve(md!),
    );
  });
}

/** The client's pooled connection to the broker `nodeId`. */
export async function connectionTo(client: AnyBase, nodeId: number): Promise<Connection> {
  const md = await getMetadata(client, []);
  const broker = md.brokers.get(nodeId);
  if (broker === undefined) throw new Error(`broker ${nodeId} is not in the cluster metadata`);
  return getConnection(client, broker);
}

/** Call protocol API `name` on the broker `nodeId`. */
export async function callApi<R>(
  client: AnyBase,
  nodeId: number,
  name: string,
  ...args: unknown[]
): Promise<R> {
  const [api, conn] = await Promise.all([getApi(client, name), connectionTo(client, nodeId)]);
  return (await api.async(conn, ...args)) as R;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `promise`'s value, or `undefined` when it did not settle within `ms` (the timer is cleared either way). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Call protocol API `name` on any bootstrap broker (for requests any broker answers, e.g. FindCoordinator). */
export async function callBootstrap<R>(client: AnyBase, name: string, ...args: unknown[]): Promise<R> {
  const conn = await new Promise<Connection>((resolve, reject) => {
    client[kGetBootstrapConnection]((err: Error | null, c?: Connection) => (err ? reject(err) : resolve(c!)));
  });
  const api = await getApi(client, name);
  return (await api.async(conn, ...args)) as R;
}

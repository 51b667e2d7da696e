/**
 * The `Log` port on Apache Kafka: `openKafkaLog({ brokers })`. It passes the same conformance suite
 * as the embedded log (test/log/kafka.test.ts). What a user of the port sees differently on Kafka:
 *
 * - `subscribe()` only records the subscription: the member joins in `poll()`, and its assignment
 *   (with `onPartitionsAssigned`) arrives in a later `poll()`. Members notice a rebalance through their
 *   heartbeat (every 300 ms) and must keep polling while one runs (rebalance timeout: the poll
 *   interval, at most 30 s); a member whose process stalls longer than the session timeout
 *   (`sessionTimeoutMs`, default 10 s) is removed from the group, and its
 *   next poll calls `onPartitionsRevoked` and rejoins (its commits meanwhile fail with LOG_FENCED).
 * - `position()` is known only once resolved from the broker (committed offset or reset policy):
 *   right after `assign()` it may throw a retriable LOG_INVALID_ARGUMENT; `poll()` and `seek*()` wait.
 * - Offsets are not dense under transactions (markers take offsets), as the port says.
 * - Retention and compaction run in the broker's background, on its schedule; compaction never
 *   touches the active segment. Retention is by record timestamp: a record whose timestamp is older
 *   than the topic's retention may be deleted at once (even from the active segment), so event-time
 *   timestamps from long ago need `retentionMs: null`.
 * - A transaction open for longer than 30 s is aborted by the broker, which fences the producer
 *   (LOG_FENCED). `commit()` returns once the transaction's group offsets are readable by everyone.
 * - Null-key records go round-robin per producer (the Java client is "sticky" instead); keyed ones
 *   land exactly where the Java client puts them.
 * - `listGroups()` lists every group of the cluster; `setGroupOffsets()` fails while the group has
 *   members. Topics get `replicationFactor` and `min.insync.replicas` from the options (default
 *   1/1 on a one-broker cluster, else 3/2).
 * - `sessionTimeoutMs` and `maxPollIntervalMs` (which is also the rebalance timeout, at most 30 s) are
 *   the consumer's; fetching runs ahead of `poll` (./fetcher.ts) with the sizes of `fetch`.
 */
export type { FetchSettings } from './fetcher.ts';
export { KafkaLog, type KafkaLogOptions, openKafkaLog } from './kafka-log.ts';

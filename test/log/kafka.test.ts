/**
 * The `Log` conformance suite against a real Apache Kafka broker (`bash scripts/kafka.sh start`, or
 * any cluster named by KAFKA_TEST_BROKERS). Without a broker this file FAILS, it never skips.
 *
 * Retention and compaction run in the broker's background threads: scripts/kafka.sh makes them
 * quick (retention checked every 500 ms, compacted topics roll segments after 500 ms, cleaner backoff
 * 200 ms, any dirty ratio cleanable), and `runMaintenance` waits, bounded, for the suite's condition.
 */

import { test } from 'node:test';
import { openKafkaLog } from '../../src/log/index.ts';
import { describeLogConformance } from './conformance.ts';
import { brokerMaintenance, brokers, requireBroker } from './kafka/broker.ts';

test('a Kafka broker answers', () => requireBroker());

describeLogConformance('kafka', {
  async makeLog(t) {
    await requireBroker();
    const log = await openKafkaLog({ brokers, clientId: 'conformance' });
    t.after(() => log.close());
    return log;
  },
  runMaintenance: brokerMaintenance,
});

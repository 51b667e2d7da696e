/**
 * The `Log` conformance suite, written once against the port only, run for every implementation
 * (test/log/embedded.test.ts for the embedded log; later a real Kafka broker). Topic and group names
 * are unique per test so the suite may share a broker with other suites.
 */

import { describe, type TestContext } from 'node:test';
import type { Log } from '../../src/log/index.ts';
import { consumerTests } from './conformance-consumers.ts';
import { recordTests } from './conformance-records.ts';
import { retentionTests } from './conformance-retention.ts';
import { transactionTests } from './conformance-transactions.ts';

export interface LogFactory {
  /** A fresh, open log; the factory arranges its close/cleanup with `t.after`. */
  makeLog(t: TestContext): Promise<Log>;
  /**
   * Make retention and compaction happen now, or wait until they did: the embedded log runs its
   * maintenance with `rollActiveSegments`; a broker, where they run in the background, waits
   * (bounded) until `until()` holds, or without `until` until its next append rolls the active
   * segment (segments are only rolled on append, and the active one is never compacted).
   */
  runMaintenance(log: Log, until?: () => Promise<boolean>): Promise<void>;
}

export function describeLogConformance(name: string, factory: LogFactory): void {
  describe(`Log conformance: ${name}`, () => {
    recordTests(factory);
    consumerTests(factory);
    retentionTests(factory);
    transactionTests(factory);
  });
}

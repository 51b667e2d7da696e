/**
 * The Kafka adapter reaches below `@platformatic/kafka`'s public clients (src/log/kafka/wire.ts,
 * group.ts, producer.ts): protected symbols, positional protocol-API arguments, producer getters.
 * The library is pinned to an exact version in package.json; this test fails when an upgrade
 * changes any of what we use, so an upgrade is a deliberate change reviewed against this list.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as lib from '@platformatic/kafka';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
};
// The package exports no package.json: read the version from its installed manifest on disk.
const installed = (
  JSON.parse(
    readFileSync(new URL('../../../node_modules/@platformatic/kafka/package.json', import.meta.url), 'utf8'),
  ) as { version: string }
).version;

const arity = (api: unknown): number | undefined =>
  (api as { createRequest?: (...args: unknown[]) => unknown } | undefined)?.createRequest?.length;
const getters = (proto: object, names: string[]) =>
  names.filter((n) => typeof Object.getOwnPropertyDescriptor(proto, n)?.get === 'function');
const methods = (proto: object, names: string[]) =>
  names.filter((n) => typeof (proto as Record<string, unknown>)[n] === 'function');

test('@platformatic/kafka: pinned exactly, and the internals the adapter uses are as it expects', () => {
  const api = lib as unknown as Record<string, unknown>;
  assert.deepStrictEqual(
    {
      pinned: pkg.dependencies['@platformatic/kafka'],
      installed,
      symbols: [lib.kGetApi, lib.kGetConnection, lib.kGetBootstrapConnection, lib.kMetadata].map(
        (s) => typeof s,
      ),
      base: methods(lib.Base.prototype, [
        lib.kGetApi,
        lib.kGetConnection,
        lib.kGetBootstrapConnection,
        lib.kMetadata,
      ] as unknown as string[]).length,
      // Positional arguments (groupId, …) of the protocol APIs we call by name, at the versions a 4.x broker negotiates.
      arity: Object.fromEntries(
        [
          'joinGroupV9',
          'syncGroupV5',
          'heartbeatV4',
          'leaveGroupV5',
          'txnOffsetCommitV4',
          'addOffsetsToTxnV4',
          'offsetCommitV9',
          'offsetFetchV9',
          'findCoordinatorV6',
          'fetchV17',
        ].map((n) => [n, arity(api[n])]),
      ),
      producerGetters: getters(lib.Producer.prototype, [
        'producerId',
        'producerEpoch',
        'transaction',
        'coordinatorId',
      ]),
      producerMethods: methods(lib.Producer.prototype, [
        'beginTransaction',
        'initIdempotentProducer',
        'send',
        'clearMetadata',
      ]),
      consumerMethods: methods(lib.Consumer.prototype, ['fetch', 'listOffsets', 'clearMetadata']),
    },
    {
      pinned: installed,
      installed: '2.12.1',
      symbols: ['symbol', 'symbol', 'symbol', 'symbol'],
      base: 4,
      arity: {
        joinGroupV9: 8,
        syncGroupV5: 7,
        heartbeatV4: 4,
        leaveGroupV5: 2,
        txnOffsetCommitV4: 8,
        addOffsetsToTxnV4: 4,
        offsetCommitV9: 5,
        offsetFetchV9: 2,
        findCoordinatorV6: 2,
        fetchV17: 9,
      },
      producerGetters: ['producerId', 'producerEpoch', 'transaction', 'coordinatorId'],
      producerMethods: ['beginTransaction', 'initIdempotentProducer', 'send', 'clearMetadata'],
      consumerMethods: ['fetch', 'listOffsets', 'clearMetadata'],
    },
  );
});

/**
 * The Kafka adapter reaches below `@platformatic/kafka`'s public clients (src/log/kafka/wire.ts,
 * group.ts, producer.ts, fetch-response.ts, record-batch.ts): protected symbols, positional
 * protocol-API arguments, producer getters, `Connection.send` with a response parser of ours, the
 * Fetch request encoders, the decompressors by codec bitmask and CRC-32C.
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
          'fetchV12',
          'fetchV13',
          'fetchV14',
          'fetchV15',
          'fetchV16',
          'fetchV17',
        ].map((n) => [n, arity(api[n])]),
      ),
      // send(apiKey, apiVersion, createPayload, responseParser, hasRequestHeaderTaggedFields, hasResponseHeaderTaggedFields, callback)
      connectionSend: lib.Connection.prototype.send.length,
      // What fetch-response.ts sends: sessionless (0, -1), one topic id, one partition at offset 42.
      fetchV17Request: lib.fetchV17
        .createRequest(
          500,
          1,
          1024,
          1,
          0,
          -1,
          [
            {
              topicId: '75e276e5-f7b8-423d-bf72-6bbb3df62926',
              partitions: [
                {
                  partition: 3,
                  currentLeaderEpoch: -1,
                  fetchOffset: 42n,
                  lastFetchedEpoch: -1,
                  partitionMaxBytes: 4096,
                },
              ],
            },
          ],
          [],
          '',
        )
        .buffer.toString('hex'),
      codecs: Object.entries(lib.compressionsAlgorithmsByBitmask).map(
        ([bits, a]) => `${bits} ${typeof a.decompressSync} ${a.available}`,
      ),
      crc32c: lib.crc32c(Buffer.from('123456789')).toString(16),
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
      consumerMethods: methods(lib.Consumer.prototype, ['listOffsets', 'clearMetadata']),
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
        fetchV12: 9,
        fetchV13: 9,
        fetchV14: 9,
        fetchV15: 9,
        fetchV16: 9,
        fetchV17: 9,
      },
      connectionSend: 7,
      fetchV17Request: [
        '000001f4 00000001 00000400 01 00000000 ffffffff', // max wait, min bytes, max bytes, isolation, session id, epoch
        '02 75e276e5f7b8423dbf726bbb3df62926', // one topic, its id
        '02 00000003 ffffffff 000000000000002a ffffffff ffffffffffffffff 00001000 00', // one partition
        '00 01 01 00', // topic tags, no forgotten topics, rack '', tags
      ]
        .join('')
        .replaceAll(' ', ''),
      codecs: ['0 function true', '1 function true', '2 function true', '3 function true', '4 function true'],
      crc32c: 'e3069283', // CRC-32C's check value
      producerGetters: ['producerId', 'producerEpoch', 'transaction', 'coordinatorId'],
      producerMethods: ['beginTransaction', 'initIdempotentProducer', 'send', 'clearMetadata'],
      consumerMethods: ['listOffsets', 'clearMetadata'],
    },
  );
});

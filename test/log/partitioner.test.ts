import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { murmur2, partitionForKey } from '../../src/log/index.ts';

// Reference values: Apache Kafka's own unit test of Utils.murmur2 (clients, UtilsTest), shipped in
// test/fixtures/murmur2-vectors.json (from the Java client) as signed 32-bit hashes of the UTF-8 key bytes.
const vectors = JSON.parse(readFileSync(new URL('../fixtures/murmur2-vectors.json', import.meta.url), 'utf8'))
  .murmur2 as Record<string, number>;

test('murmur2 equals the Java client on Kafka reference vectors', () => {
  const actual = Object.fromEntries(Object.keys(vectors).map((k) => [k, murmur2(Buffer.from(k, 'utf8'))]));
  assert.deepStrictEqual(actual, vectors);
});

test('partitionForKey is toPositive(murmur2) % n, as BuiltInPartitioner.partitionForKey', () => {
  const actual = Object.keys(vectors).map((k) => [k, partitionForKey(k, 6), partitionForKey(k, 4)]);
  const expected = Object.entries(vectors).map(([k, h]) => [k, (h & 0x7fffffff) % 6, (h & 0x7fffffff) % 4]);
  assert.deepStrictEqual(actual, expected);
  // Worked by hand from the vectors: "foobar" → -790332482 & 0x7fffffff = 1357151166; % 6 = 0, % 4 = 2.
  assert.deepStrictEqual([partitionForKey('foobar', 6), partitionForKey('foobar', 4)], [0, 2]);
  assert.throws(() => partitionForKey('x', 0), RangeError);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Codecs, type KeyValueStore, Stores } from '../../src/streams/index.ts';

interface Impl {
  flush(emit: (key: Buffer, value: Buffer | null) => void): void;
  restore(key: Buffer, value: Buffer | null): void;
  size(): number;
}

function changelogOf(store: Impl): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = [];
  store.flush((k, v) => out.push([k.toString('latin1'), v === null ? null : v.toString('utf8')]));
  return out;
}

test('key-value store: string, number and object keys never collide; flush writes each changed key once; restore rebuilds it', () => {
  const spec = Stores.keyValue('s', { key: Codecs.json<unknown>(), value: Codecs.json<number>() });
  const store = spec.create() as unknown as KeyValueStore<unknown, number> & Impl;
  // "1" and 1 are different keys; so are the string '{"a":1}' and the object {a:1} (same bytes
  // would be a collision in a store that identified every key by its bytes alone).
  store.put('1', 1);
  store.put(1, 2);
  store.put('{"a":1}', 3);
  store.put({ a: 1 }, 4);
  store.put({ a: 1 }, 5); // an equal object is the same key
  store.put('gone', 6);
  store.delete('gone');
  assert.deepStrictEqual(
    [
      store.get('1'),
      store.get(1),
      store.get('{"a":1}'),
      store.get({ a: 1 }),
      store.get('gone'),
      store.size(),
    ],
    [1, 2, 3, 5, undefined, 4],
  );
  const first = changelogOf(store);
  assert.deepStrictEqual(first, [
    ['\u0000"1"', '1'],
    ['\u00001', '2'],
    ['\u0000"{\\"a\\":1}"', '3'],
    ['\u0000"gone"', null],
    ['\u0000{"a":1}', '5'],
  ]);
  assert.deepStrictEqual(changelogOf(store), [], 'nothing changed since the last flush');

  const restored = spec.create() as unknown as KeyValueStore<unknown, number> & Impl;
  for (const [k, v] of first) restored.restore(Buffer.from(k, 'latin1'), v === null ? null : Buffer.from(v));
  assert.deepStrictEqual(restored.all(), store.all());
  assert.deepStrictEqual(changelogOf(restored), [], 'a restore marks nothing dirty');
});

test('key-value store: a string key of the string codec gets the same changelog key as before (prefix byte, UTF-8)', () => {
  const store = Stores.keyValue('s', {
    key: Codecs.string,
    value: Codecs.json<number>(),
  }).create() as unknown as KeyValueStore<string, number> & Impl;
  store.put('café \u{1F600}', 1);
  store.put('\ud800', 2); // a lone surrogate: encoded as U+FFFD, as Buffer.from does
  const keys: Buffer[] = [];
  store.flush((k) => keys.push(k));
  assert.deepStrictEqual(keys, [
    Buffer.concat([Buffer.from([0]), Buffer.from('café \u{1F600}', 'utf8')]),
    Buffer.concat([Buffer.from([0]), Buffer.from('\ud800', 'utf8')]),
  ]);
});

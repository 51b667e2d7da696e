import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DueIndex } from '../../src/processors/due-index.ts';

test('due index: keys come back once their slot has begun, moved, lowered and removed', () => {
  const due = new DueIndex<string>(1_000);
  due.set('a', 1_500);
  due.set('b', 3_200);
  due.set('c', 9_000);
  due.set('gone', 2_000);
  due.set('gone', Number.POSITIVE_INFINITY);
  assert.deepEqual(due.dueAt(999).sort(), []);
  assert.deepEqual(due.dueAt(1_000).sort(), ['a']);
  assert.equal(due.earliest(), 1_000);
  due.set('a', 5_000); // visited: next due later
  due.lower('c', 4_000);
  due.lower('b', 8_000); // later than its due: unchanged
  assert.deepEqual(due.dueAt(4_100).sort(), ['b', 'c']);
  // Far ahead (more slots than keys): found by scanning the keys' slots instead.
  assert.deepEqual(due.dueAt(1_000_000).sort(), ['a', 'b', 'c']);
  for (const k of ['a', 'b', 'c']) due.set(k, Number.POSITIVE_INFINITY);
  assert.equal(due.slotOf('a'), undefined);
  assert.equal(due.earliest(), Number.POSITIVE_INFINITY);
});

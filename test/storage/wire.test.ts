import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import { fromDateTime64, toDateTime64 } from '../../src/storage/index.ts';

test('DateTime64(3) wire format: epoch ms ↔ text, invalid input rejected', () => {
  const rejects = [-1, 1.5, Number.NaN, Date.UTC(2300, 0, 1)].map((v) => {
    try {
      toDateTime64(v);
      return 'accepted';
    } catch (err) {
      return isAppError(err, 'STORAGE_QUERY') ? 'STORAGE_QUERY' : String(err);
    }
  });
  assert.deepStrictEqual(
    {
      text: [0, 45, 1_700_000_000_123].map(toDateTime64),
      back: fromDateTime64('2023-11-14 22:13:20.123'),
      rejects,
    },
    {
      text: ['1970-01-01 00:00:00.000', '1970-01-01 00:00:00.045', '2023-11-14 22:13:20.123'],
      back: 1_700_000_000_123,
      rejects: ['STORAGE_QUERY', 'STORAGE_QUERY', 'STORAGE_QUERY', 'STORAGE_QUERY'],
    },
  );
});

test('DateTime64(3) text equals the ISO form with a space, across days, leap days and the range', () => {
  const iso = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
  const values = [
    Date.UTC(2024, 1, 29, 23, 59, 59, 999),
    Date.UTC(2024, 2, 1),
    Date.UTC(2299, 11, 31, 23, 59, 59, 999),
    86_399_999,
    86_400_000,
  ];
  for (let i = 0; i < 5_000; i++)
    values.push(Math.floor(Math.random() * Date.UTC(2299, 11, 31, 23, 59, 59, 999)));
  // Rows alternating between days and seconds, as a batch's window bounds and emitted_at do.
  for (let i = 0; i < 1_000; i++) values.push(Date.UTC(2025, 0, 1 + (i % 3), 0, 0, i % 60, i));
  for (const v of values) assert.equal(toDateTime64(v), iso(v), String(v));
});

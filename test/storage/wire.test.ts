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

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../src/errors/index.ts';
import { fromDateTime64, toDateTime64 } from '../../src/storage/index.ts';

test('DateTime64(3) wire format: epoch ms ↔ text, invalid input rejected', () => {
  const rejects = [-1, 1.5, Number.NaN].map((v) => {
    try {
      toDateTime64(v);
      return 'accepted';
    } catch (err) {
      return isAppError(err, 'STORAGE_QUERY') ? 'STORAGE_QUERY' : String(err);
    }
  });
  assert.deepStrictEqual(
    {
      text: [0, 5, 45, 999, 1000, 1_700_000_000_123].map(toDateTime64),
      back: fromDateTime64('2023-11-14 22:13:20.123'),
      rejects,
    },
    {
      text: ['0.000', '0.005', '0.045', '0.999', '1.000', '1700000000.123'],
      back: 1_700_000_000_123,
      rejects: ['STORAGE_QUERY', 'STORAGE_QUERY', 'STORAGE_QUERY'],
    },
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRfc3339, parseRfc3339 } from '../../src/events/index.ts';

test('parseRfc3339 normalises any offset and precision to UTC milliseconds', () => {
  const inputs = [
    '2025-11-08T14:11:31.52Z', // the seed producer (Go RFC3339Nano trims zeros)
    '2025-11-08T14:11:31.520Z',
    '2025-11-08T14:11:31.520999999Z', // nanoseconds: truncated, not rounded
    '2025-11-08T16:11:31.52+02:00',
    '2025-11-08T09:41:31.52-04:30',
    '2025-11-08t14:11:31.52z',
    '2025-11-08 14:11:31.52Z',
    '2025-11-08T14:11:31Z',
    '2025-11-09T00:11:31.52+10:00',
    '2024-02-29T00:00:00Z',
    '1970-01-01T00:00:00.001Z',
  ];
  const actual = inputs.map((s) => [s, parseRfc3339(s)]);
  const t = Date.UTC(2025, 10, 8, 14, 11, 31, 520);
  assert.deepStrictEqual(actual, [
    [inputs[0], t],
    [inputs[1], t],
    [inputs[2], t],
    [inputs[3], t],
    [inputs[4], t],
    [inputs[5], t],
    [inputs[6], t],
    [inputs[7], t - 520],
    [inputs[8], t],
    [inputs[9], Date.UTC(2024, 1, 29)],
    [inputs[10], 1],
  ]);
});

test('parseRfc3339 rejects what is not an RFC 3339 date-time', () => {
  const bad = [
    '',
    '2025-11-08',
    '2025-11-08T14:11:31', // no offset
    '2025-11-08T14:11:31.Z',
    '2025-11-08T14:11:31.1234567890Z', // 10 fraction digits
    '2025-13-08T14:11:31Z',
    '2025-02-29T00:00:00Z', // not a leap year
    '2025-11-31T00:00:00Z',
    '2025-11-08T24:00:00Z',
    '2025-11-08T14:60:00Z',
    '2025-11-08T14:11:60Z', // leap second: not representable
    '2025-11-08T14:11:31+0200',
    '2025-11-08T14:11:31+24:00',
    'yesterday',
    '1762611091',
  ];
  assert.deepStrictEqual(
    bad.map((s) => [s, parseRfc3339(s)]),
    bad.map((s) => [s, undefined]),
  );
});

test('formatRfc3339 writes UTC with milliseconds and round-trips', () => {
  const ms = Date.UTC(2025, 10, 8, 14, 11, 31, 520);
  assert.equal(formatRfc3339(ms), '2025-11-08T14:11:31.520Z');
  assert.equal(parseRfc3339(formatRfc3339(ms)), ms);
});

import { z } from 'zod';
import { parseRfc3339 } from './time.ts';

/** An RFC 3339 date-time string on the wire, UTC epoch milliseconds after parsing. */
export const rfc3339 = z
  .string()
  .meta({ format: 'date-time', description: 'RFC 3339 date-time, any offset, up to 9 fraction digits' })
  .transform((text, ctx) => {
    const ms = parseRfc3339(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected an RFC 3339 date-time such as 2025-11-08T14:11:31.52Z',
      });
      return z.NEVER;
    }
    return ms;
  });

/** Window bounds and instants in output events: UTC RFC 3339 with milliseconds. */
export const isoInstant = z.iso.datetime({ offset: false, precision: 3 });

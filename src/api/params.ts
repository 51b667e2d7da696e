import { z } from 'zod';
import { AppError, ErrorCode } from '../errors/index.ts';
import { formatRfc3339, parseRfc3339 } from '../events/index.ts';

/**
 * Request pieces every route shares: limits with a maximum, RFC 3339 instants, opaque cursors, and
 * the error body. Instants arrive as RFC 3339 text and leave as UTC RFC 3339 with milliseconds.
 */

/** `limit`: a page size from 1 to `max`, `dflt` when absent. */
export const limit = (dflt: number, max: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(dflt)
    .meta({ description: `page size, 1–${max} (default ${dflt})` });

/** An RFC 3339 instant in a query string → epoch ms. */
export const instant = z
  .string()
  .max(64)
  .meta({ format: 'date-time', description: 'RFC 3339 date-time' })
  .transform((text, ctx) => {
    const ms = parseRfc3339(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected an RFC 3339 date-time such as 2025-11-08T14:11:31Z',
      });
      return z.NEVER;
    }
    return ms;
  });

/** Epoch ms → UTC RFC 3339 with milliseconds (responses). */
export const iso = (ms: number): string => formatRfc3339(ms);
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : formatRfc3339(ms));

/** A cursor: the opaque `next_cursor` of a previous page. */
export const cursorParam = z
  .string()
  .min(1)
  .max(1024)
  .meta({ description: 'next_cursor of the previous page' });

/** Encode a page position as an opaque cursor (base64url JSON: clients must not build it). */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** Decode a cursor made by `encodeCursor` and checked by `schema`; anything else is a 400. */
export function decodeCursor<S extends z.ZodType>(
  schema: S,
  cursor: string | undefined,
): z.output<S> | undefined {
  if (cursor === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new AppError(
      ErrorCode.API_BAD_REQUEST,
      'cursor is invalid: pass the next_cursor of a previous page',
      {
        context: { field: 'cursor' },
      },
    );
  }
  return parsed.data;
}

/** A [from, to) range from optional query values; defaults: to = now, from = to − span. */
export function timeRange(
  query: { from?: number | undefined; to?: number | undefined },
  now: number,
  defaultSpanMs: number,
  maxSpanMs = 366 * 86_400_000,
): { from: number; to: number } {
  const to = query.to ?? now;
  const from = query.from ?? to - defaultSpanMs;
  if (from >= to) {
    throw new AppError(ErrorCode.API_BAD_REQUEST, 'from must be before to', {
      context: { from: iso(from), to: iso(to) },
    });
  }
  if (to - from > maxSpanMs) {
    throw new AppError(ErrorCode.API_BAD_REQUEST, `the range is longer than ${maxSpanMs / 86_400_000} days`, {
      context: { from: iso(from), to: iso(to) },
    });
  }
  return { from, to };
}

export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
    }),
  })
  .meta({ description: 'The one error shape of the API' });

/** Every response a route may give besides its success: the one error shape. */
export const errorResponses = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  404: ErrorBodySchema,
  503: ErrorBodySchema,
} as const;

/** A page of items and the cursor of the next page (null on the last page). */
export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next_cursor: z.string().nullable() });

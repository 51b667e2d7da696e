import type { z } from 'zod';
import { AppError, ErrorCode } from '../errors/index.ts';

const MAX_VALUE_IN_ERROR = 120;

function describe(value: unknown): string {
  const text = value === undefined ? 'missing' : JSON.stringify(value);
  return text.length > MAX_VALUE_IN_ERROR ? `${text.slice(0, MAX_VALUE_IN_ERROR)}…` : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/**
 * Validate an already-parsed JSON value. Failure is an AppError EVENT_INVALID whose message and
 * context name the first failing field, its value and what was expected.
 */
export function validateEvent<S extends z.ZodType>(schema: S, what: string, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length === 0 ? '(record)' : issue.path.join('.');
  const value = describe(valueAt(input, issue.path));
  throw new AppError(ErrorCode.EVENT_INVALID, `${what}: ${field} = ${value}: ${issue.message}`, {
    context: { event: what, field, value, expected: issue.message },
  });
}

/** Decode UTF-8 JSON bytes and validate. Bytes that are not JSON fail with EVENT_UNPARSEABLE. */
export function decodeEvent<S extends z.ZodType>(
  schema: S,
  what: string,
  bytes: Uint8Array | string | null,
): z.output<S> {
  if (bytes === null) {
    throw new AppError(
      ErrorCode.EVENT_UNPARSEABLE,
      `${what}: empty value (tombstone) where an event was expected`,
      {
        context: { event: what },
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new AppError(ErrorCode.EVENT_UNPARSEABLE, `${what}: not UTF-8 JSON (${(err as Error).message})`, {
      context: { event: what },
      cause: err,
    });
  }
  return validateEvent(schema, what, json);
}

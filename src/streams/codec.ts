/**
 * Codecs turn typed keys and values into the bytes the log stores, and back. A codec that throws in
 * `deserialize` hands the record to the error policy (dead-letter by default): an `AppError` with code
 * `EVENT_INVALID` counts as a validation error, anything else as a deserialisation error.
 */
import { AppError, ErrorCode } from '../errors/index.ts';

export interface Codec<T> {
  /** null only for a null key or a tombstone. */
  serialize(value: T): Buffer | null;
  /** Throws on bytes that do not decode or validate. `bytes` is null for a null key or a tombstone. */
  deserialize(bytes: Buffer | null): T;
}

/** What `Codecs.schema` needs from a validator: zod schemas fit as they are. */
export interface SafeParser<T> {
  safeParse(
    input: unknown,
  ):
    | { readonly success: true; readonly data: T }
    | { readonly success: false; readonly error: { readonly message: string } };
}

function requireBytes(bytes: Buffer | null, what: string): Buffer {
  if (bytes === null)
    throw new AppError(ErrorCode.EVENT_UNPARSEABLE, `${what}: null bytes (tombstone or null key)`);
  return bytes;
}

const string: Codec<string> = Object.freeze({
  serialize: (value: string) => Buffer.from(value, 'utf8'),
  deserialize: (bytes: Buffer | null) => requireBytes(bytes, 'string codec').toString('utf8'),
});

const buffer: Codec<Buffer> = Object.freeze({
  serialize: (value: Buffer) => value,
  deserialize: (bytes: Buffer | null) => requireBytes(bytes, 'buffer codec'),
});

/** IEEE-754 float64, 8 bytes big-endian: counts and sums in state stores. */
const float64: Codec<number> = Object.freeze({
  serialize: (value: number) => {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleBE(value, 0);
    return b;
  },
  deserialize: (bytes: Buffer | null) => {
    const b = requireBytes(bytes, 'float64 codec');
    if (b.length !== 8)
      throw new AppError(ErrorCode.EVENT_UNPARSEABLE, `float64 codec: ${b.length} bytes, want 8`);
    return b.readDoubleBE(0);
  },
});

const POWERS_OF_TEN: readonly number[] = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** Decimal digits of a non-negative safe integer. @internal */
export function decimalLength(n: number): number {
  let d = 1;
  while (d < 16 && n >= (POWERS_OF_TEN[d] as number)) d++;
  return d;
}

/**
 * Write the ASCII digits of a non-negative safe integer so that they end just before `end`
 * (`decimalLength(n)` bytes). Eight digits at a time in int32 arithmetic. @internal
 */
export function writeDecimal(buf: Buffer, end: number, n: number): void {
  let p = end;
  let x = n;
  while (x >= 1e8) {
    const hi = Math.floor(x / 1e8);
    let lo = x - hi * 1e8;
    for (let i = 0; i < 8; i++) {
      const q = (lo / 10) | 0;
      buf[--p] = 48 + lo - q * 10;
      lo = q;
    }
    x = hi;
  }
  let y = x | 0;
  do {
    const q = (y / 10) | 0;
    buf[--p] = 48 + y - q * 10;
    y = q;
  } while (y > 0);
}

function json<T = unknown>(validate?: (input: unknown) => T): Codec<T> {
  return Object.freeze({
    serialize: (value: T) => {
      // Counts: the same bytes as JSON.stringify, without the string.
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
        const n = decimalLength(value);
        const b = Buffer.allocUnsafe(n);
        writeDecimal(b, n, value);
        return b;
      }
      return Buffer.from(JSON.stringify(value), 'utf8');
    },
    deserialize: (bytes: Buffer | null): T => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(requireBytes(bytes, 'json codec').toString('utf8'));
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw new AppError(ErrorCode.EVENT_UNPARSEABLE, `not JSON: ${(err as Error).message}`, {
          cause: err,
        });
      }
      return validate === undefined ? (parsed as T) : validate(parsed);
    },
  });
}

/** JSON validated by a schema (zod or anything with `safeParse`); failures are `EVENT_INVALID`. */
function schema<T>(parser: SafeParser<T>): Codec<T> {
  return json((input) => {
    const result = parser.safeParse(input);
    if (!result.success) throw new AppError(ErrorCode.EVENT_INVALID, result.error.message);
    return result.data;
  });
}

/** Lets null through both ways (null keys, tombstones); everything else goes to `inner`. */
function nullable<T>(inner: Codec<T>): Codec<T | null> {
  return Object.freeze({
    serialize: (value: T | null) => (value === null ? null : inner.serialize(value)),
    deserialize: (bytes: Buffer | null) => (bytes === null ? null : inner.deserialize(bytes)),
  });
}

export const Codecs = Object.freeze({ string, buffer, float64, json, schema, nullable });

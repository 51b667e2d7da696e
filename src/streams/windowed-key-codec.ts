import { type Codec, Codecs, decimalLength, writeDecimal } from './codec.ts';
import type { Windowed } from './types.ts';

/*
 * The key codec of windowed state and outputs: `{"key":…,"startMs":…,"endMs":…}` as JSON. String keys,
 * the common case, are written straight into a buffer (no intermediate string).
 */

const WK_OPEN = Buffer.from('{"key":"', 'latin1');
const WK_START = Buffer.from('","startMs":', 'latin1');
const WK_END = Buffer.from(',"endMs":', 'latin1');

function copyInto(buf: Buffer, at: number, bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) buf[at + i] = bytes[i] as number;
  return at + bytes.length;
}

/**
 * The bytes of `{"key":"<key>","startMs":<s>,"endMs":<e>}` written directly — the same bytes as
 * the template below — or null when the key needs JSON escaping or is not printable ASCII, or a
 * bound is not a non-negative safe integer (the caller then builds the string).
 */
function windowedStringKeyBytes(key: string, startMs: number, endMs: number): Buffer | null {
  if (!(Number.isSafeInteger(startMs) && startMs >= 0 && Number.isSafeInteger(endMs) && endMs >= 0)) {
    return null;
  }
  const n = key.length;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return null;
  }
  const ds = decimalLength(startMs);
  const de = decimalLength(endMs);
  const buf = Buffer.allocUnsafe(WK_OPEN.length + n + WK_START.length + ds + WK_END.length + de + 1);
  let o = copyInto(buf, 0, WK_OPEN);
  for (let i = 0; i < n; i++) buf[o++] = key.charCodeAt(i);
  o = copyInto(buf, o, WK_START);
  writeDecimal(buf, o + ds, startMs);
  o = copyInto(buf, o + ds, WK_END);
  writeDecimal(buf, o + de, endMs);
  buf[o + de] = 0x7d;
  return buf;
}

/** JSON for a windowed key: `{"key":…,"startMs":…,"endMs":…}`. */
export function windowedKeyCodec<K>(inner: Codec<K> = Codecs.json<K>()): Codec<Windowed<K>> {
  return {
    serialize: (w) => {
      if (inner === (Codecs.string as Codec<unknown>) && typeof w.key === 'string') {
        return (
          windowedStringKeyBytes(w.key, w.startMs, w.endMs) ??
          Buffer.from(`{"key":${JSON.stringify(w.key)},"startMs":${w.startMs},"endMs":${w.endMs}}`)
        );
      }
      const kb = inner.serialize(w.key);
      return Buffer.from(
        `{"key":${kb === null ? 'null' : JSON.stringify(kb.toString('utf8'))},"startMs":${w.startMs},"endMs":${w.endMs}}`,
      );
    },
    deserialize: (bytes) => {
      const o = Codecs.json<{ key: string | null; startMs: number; endMs: number }>().deserialize(bytes);
      return {
        key: inner.deserialize(o.key === null ? null : Buffer.from(o.key, 'utf8')),
        startMs: o.startMs,
        endMs: o.endMs,
      };
    },
  };
}

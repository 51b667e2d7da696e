/**
 * Fast paths of the input schemas (`ChatMessageSchema`, `MessageViewSchema`) for the records every
 * processor reads: a plain check of a parsed JSON value that accepts only values the schema accepts,
 * and builds exactly the schema's output (same fields, same values, same key order: zod's object
 * output in shape order, the message's defaulted `user_id` last, as its transform spreads it).
 * Anything else — a wrong type, a bound crossed, an unusual number — returns undefined, and the
 * caller runs the schema itself, which gives the precise reason for a dead letter. So a valid record
 * costs a few comparisons instead of a zod run, and an invalid one is judged by the schema alone.
 *
 * test/processors/input-fast-path.test.ts checks the equivalence on valid, mutated and edge inputs.
 */
import { type ChatMessage, type MessageView, parseRfc3339 } from '../events/index.ts';

type Json = Record<string, unknown>;

const isId = (v: unknown, max: number): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= max;

/** A JSON object (not null, not an array). */
export function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const DIGIT_0 = 48;
const twoDigits = (t: string, i: number): number =>
  (t.charCodeAt(i) - DIGIT_0) * 10 + (t.charCodeAt(i + 1) - DIGIT_0);
/** Whether the characters of `t` from `from` to before `to` are all ASCII digits. */
export const digitsIn = (t: string, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) {
    const c = t.charCodeAt(i) - DIGIT_0;
    if (c < 0 || c > 9) return false;
  }
  return true;
};
/** Where `YYYY-MM-DDTHH:MM:SS` has its digits. */
const DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] as const;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/**
 * Whether `t` starts with the shape `YYYY-MM-DDTHH:MM:SS` (digits and separators; a year from 1000
 * on), whatever the values. The fast paths of the input and output timestamps share it.
 */
export function hasDateTimeShape(t: string): boolean {
  if (
    t.charCodeAt(4) !== 45 || // -
    t.charCodeAt(7) !== 45 ||
    t.charCodeAt(10) !== 84 || // T
    t.charCodeAt(13) !== 58 || // :
    t.charCodeAt(16) !== 58 ||
    t.charCodeAt(0) === DIGIT_0
  ) {
    return false;
  }
  for (const i of DIGIT_POSITIONS) {
    const c = t.charCodeAt(i) - DIGIT_0;
    if (c < 0 || c > 9) return false;
  }
  return true;
}

/**
 * Epoch ms of the `YYYY-MM-DDTHH:MM:SS` that `t` starts with (`hasDateTimeShape`), plus `millis`,
 * when it is a real date and time (UTC); else undefined.
 */
export function dateTimeMs(t: string, millis: number): number | undefined {
  const year = twoDigits(t, 0) * 100 + twoDigits(t, 2);
  const month = twoDigits(t, 5);
  const day = twoDigits(t, 8);
  const hour = twoDigits(t, 11);
  const minute = twoDigits(t, 14);
  const second = twoDigits(t, 17);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > days || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millis);
}

/**
 * `parseRfc3339(text)` for the UTC forms producers write (`2025-11-08T14:11:31Z`,
 * `2025-11-08T14:11:31.52Z`, up to 9 fraction digits, years 1000–9999), by char codes instead of a
 * regex and a Date; every other text goes to `parseRfc3339`.
 */
export function fastRfc3339(t: string): number | undefined {
  const n = t.length;
  if (
    n >= 20 &&
    n <= 30 &&
    n !== 21 &&
    t.charCodeAt(n - 1) === 90 && // Z
    (n === 20 || t.charCodeAt(19) === 46) && // .
    hasDateTimeShape(t) &&
    digitsIn(t, 20, n - 1)
  ) {
    // Milliseconds: the first three fraction digits, missing ones as zeros (the rest truncated).
    let millis = 0;
    for (let i = 20; i < 23; i++) millis = millis * 10 + (i < n - 1 ? t.charCodeAt(i) - DIGIT_0 : 0);
    return dateTimeMs(t, millis);
  }
  return parseRfc3339(t);
}

/** `schema_version`: absent, or a positive safe integer (the schema's `.int().positive()`). */
const isVersion = (v: unknown): boolean =>
  v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v > 0);

/** `ChatMessageSchema.parse(input)` when `input` is plainly valid, else undefined. */
export function fastChatMessage(input: unknown): ChatMessage | undefined {
  if (!isPlainObject(input)) return undefined;
  const { message_id, user_id, content, timestamp, event_type, conversation_id, sender_id, receiver_id } =
    input;
  const messageType = input.message_type;
  const version = input.schema_version;
  if (
    !isId(message_id, 256) ||
    !(user_id === undefined || (typeof user_id === 'string' && user_id === sender_id)) ||
    typeof content !== 'string' ||
    content.length > 65_536 ||
    typeof timestamp !== 'string' ||
    !(event_type === undefined || event_type === 'message_sent') ||
    !isId(conversation_id, 256) ||
    !isId(sender_id, 256) ||
    !isId(receiver_id, 256) ||
    !(messageType === undefined || isId(messageType, 64)) ||
    !isVersion(version)
  ) {
    return undefined;
  }
  const ms = fastRfc3339(timestamp);
  if (ms === undefined) return undefined;
  // Key order as the schema's output: shape order, then a defaulted user_id appended by the transform.
  const out: Json = { message_id };
  if (user_id !== undefined) out.user_id = user_id;
  out.content = content;
  out.timestamp = ms;
  out.event_type = 'message_sent';
  out.conversation_id = conversation_id;
  out.sender_id = sender_id;
  out.receiver_id = receiver_id;
  out.message_type = messageType ?? 'text';
  if (version !== undefined) out.schema_version = version;
  if (user_id === undefined) out.user_id = sender_id;
  return out as unknown as ChatMessage;
}

/** `MessageViewSchema.parse(input)` when `input` is plainly valid, else undefined. */
export function fastMessageView(input: unknown): MessageView | undefined {
  if (!isPlainObject(input)) return undefined;
  const { message_id, user_id, viewed_at, device } = input;
  const version = input.schema_version;
  if (
    !isId(message_id, 256) ||
    !isId(user_id, 256) ||
    typeof viewed_at !== 'string' ||
    !(device === undefined || isId(device, 64)) ||
    !isVersion(version)
  ) {
    return undefined;
  }
  const ms = fastRfc3339(viewed_at);
  if (ms === undefined) return undefined;
  const out: Json = { message_id, user_id, viewed_at: ms, device: device ?? 'web' };
  if (version !== undefined) out.schema_version = version;
  return out as unknown as MessageView;
}

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

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
  const ms = parseRfc3339(timestamp);
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
  const ms = parseRfc3339(viewed_at);
  if (ms === undefined) return undefined;
  const out: Json = { message_id, user_id, viewed_at: ms, device: device ?? 'web' };
  if (version !== undefined) out.schema_version = version;
  return out as unknown as MessageView;
}

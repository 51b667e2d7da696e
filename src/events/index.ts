import { z } from 'zod';
import { type ChatMessage, ChatMessageSchema } from './chat-message.ts';
import { type MessageView, MessageViewSchema } from './message-view.ts';
import { decodeEvent } from './parse.ts';
import { formatRfc3339 } from './time.ts';
import { Topics } from './topics.ts';

export type { ChatMessage, ChatMessageWire } from './chat-message.ts';
export { ChatMessageSchema } from './chat-message.ts';
export type { MessageView, MessageViewWire } from './message-view.ts';
export { MessageViewSchema } from './message-view.ts';
export * from './outputs.ts';
export { decodeEvent, validateEvent } from './parse.ts';
export { formatRfc3339, parseRfc3339 } from './time.ts';
export { type TopicName, Topics } from './topics.ts';

/** Decode and validate a `chat.messages` value (throws AppError EVENT_INVALID / EVENT_UNPARSEABLE). */
export function decodeChatMessage(bytes: Uint8Array | string | null): ChatMessage {
  return decodeEvent(ChatMessageSchema, Topics.chatMessages.name, bytes);
}

/** Decode and validate a `message-views` value (throws AppError EVENT_INVALID / EVENT_UNPARSEABLE). */
export function decodeMessageView(bytes: Uint8Array | string | null): MessageView {
  return decodeEvent(MessageViewSchema, Topics.messageViews.name, bytes);
}

/** The wire JSON of a message, in the seed's field order, timestamps as UTC RFC 3339. */
export function encodeChatMessage(m: ChatMessage): string {
  return JSON.stringify({
    message_id: m.message_id,
    user_id: m.user_id,
    content: m.content,
    timestamp: formatRfc3339(m.timestamp),
    event_type: m.event_type,
    conversation_id: m.conversation_id,
    sender_id: m.sender_id,
    receiver_id: m.receiver_id,
    message_type: m.message_type,
    ...(m.schema_version === undefined ? {} : { schema_version: m.schema_version }),
  });
}

export function encodeMessageView(v: MessageView): string {
  return JSON.stringify({
    message_id: v.message_id,
    user_id: v.user_id,
    viewed_at: formatRfc3339(v.viewed_at),
    device: v.device,
    ...(v.schema_version === undefined ? {} : { schema_version: v.schema_version }),
  });
}

/** JSON Schema (draft 2020-12) of every topic's payload as producers write it. */
export function topicJsonSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const t of Object.values(Topics)) {
    out[t.name] = { title: t.name, ...z.toJSONSchema(t.schema, { io: 'input', unrepresentable: 'any' }) };
  }
  return out;
}

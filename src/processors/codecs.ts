import {
  type ChatMessage,
  ChatMessageSchema,
  type MessageView,
  MessageViewSchema,
  Topics,
  validateEvent,
} from '../events/index.ts';
import { type Codec, Codecs } from '../streams/index.ts';
import { fastChatMessage, fastMessageView } from './input-fast-path.ts';

/**
 * Codecs of the input topics for every processor: JSON validated by the event schemas, so that a
 * record that fails carries the event model's precise reason (field, value, expectation) to the
 * dead-letter topic. A plainly valid record takes the schema's fast path (./input-fast-path.ts:
 * the same output without a zod run); anything else is judged by the schema.
 */
export const chatMessageCodec: Codec<ChatMessage> = Codecs.json(
  (input) => fastChatMessage(input) ?? validateEvent(ChatMessageSchema, Topics.chatMessages.name, input),
);

export const messageViewCodec: Codec<MessageView> = Codecs.json(
  (input) => fastMessageView(input) ?? validateEvent(MessageViewSchema, Topics.messageViews.name, input),
);

/** Event time of a message: its `timestamp`, never the log record's time. */
export const messageTime = (_key: unknown, m: ChatMessage): number => m.timestamp;
/** Event time of a view: its `viewed_at`. */
export const viewTime = (_key: unknown, v: MessageView): number => v.viewed_at;

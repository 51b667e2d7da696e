import { z } from 'zod';
import { rfc3339 } from './fields.ts';

/**
 * `chat.messages`, key `conversation_id`. The seed producer's exact JSON, e.g.
 * {"message_id":"msg-1762611091-42","user_id":"alice","content":"Weekend plans anyone?",
 *  "timestamp":"2025-11-08T14:11:31.52Z","event_type":"message_sent","conversation_id":"conv-3",
 *  "sender_id":"alice","receiver_id":"bob","message_type":"text"}
 * Event time is `timestamp` (normalised to UTC epoch ms), never the log record's time.
 * `user_id` is the sender (the seed writes both); when absent it defaults to `sender_id`, when it
 * differs the event is invalid. Unknown extra fields are accepted and dropped.
 */
export const ChatMessageSchema = z
  .object({
    message_id: z.string().min(1).max(256),
    user_id: z.string().min(1).max(256).optional(),
    content: z.string().max(65_536),
    timestamp: rfc3339,
    event_type: z.literal('message_sent').default('message_sent'),
    conversation_id: z.string().min(1).max(256),
    sender_id: z.string().min(1).max(256),
    receiver_id: z.string().min(1).max(256),
    message_type: z.string().min(1).max(64).default('text'),
    schema_version: z.number().int().positive().optional(),
  })
  .refine((m) => m.user_id === undefined || m.user_id === m.sender_id, {
    path: ['user_id'],
    message: 'user_id must equal sender_id (the seed writes the sender in both)',
  })
  .transform((m) => ({ ...m, user_id: m.user_id ?? m.sender_id }));

/** A validated message: `timestamp` in UTC epoch milliseconds. */
export type ChatMessage = z.output<typeof ChatMessageSchema>;
/** The wire form (what producers send). */
export type ChatMessageWire = z.input<typeof ChatMessageSchema>;

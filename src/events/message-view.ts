import { z } from 'zod';
import { rfc3339 } from './fields.ts';

/**
 * `message-views` (read receipts). The seed keys them by the viewer's user_id; processors never
 * depend on the key. Seed payload: {"message_id":"msg-1762611091-42","user_id":"bob",
 * "viewed_at":"2025-11-08T14:11:37.004Z","device":"web"}. `user_id` is the viewer.
 */
export const MessageViewSchema = z.object({
  message_id: z.string().min(1).max(256),
  user_id: z.string().min(1).max(256),
  viewed_at: rfc3339,
  device: z.string().min(1).max(64).default('web'),
  schema_version: z.number().int().positive().optional(),
});

/** A validated view: `viewed_at` in UTC epoch milliseconds. */
export type MessageView = z.output<typeof MessageViewSchema>;
export type MessageViewWire = z.input<typeof MessageViewSchema>;

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChatMessageSchema, MessageViewSchema, parseRfc3339 } from '../../src/events/index.ts';
import { generateTraffic } from '../../src/generator/index.ts';
import { chatMessageCodec, messageViewCodec } from '../../src/processors/codecs.ts';
import { fastChatMessage, fastMessageView, fastRfc3339 } from '../../src/processors/input-fast-path.ts';
import { mutations as mutateAll } from './fast-path-cases.ts';

/**
 * The fast path must accept only what the schema accepts, and then give exactly its output (values
 * and key order: JSON.stringify compares both); where it declines, the schema decides.
 */
function check(
  fast: (input: unknown) => unknown,
  schema: { safeParse(input: unknown): { success: boolean; data?: unknown } },
  input: unknown,
): 'fast' | 'schema' {
  const got = fast(input);
  const want = schema.safeParse(input);
  if (got === undefined) return 'schema';
  assert.ok(want.success, `fast path accepted what the schema rejects: ${JSON.stringify(input)}`);
  assert.equal(JSON.stringify(got), JSON.stringify(want.data), JSON.stringify(input));
  assert.deepEqual(got, want.data);
  return 'fast';
}

const message = {
  message_id: 'msg-1762611091-42',
  user_id: 'alice',
  content: 'Weekend plans anyone?',
  timestamp: '2025-11-08T14:11:31.52Z',
  event_type: 'message_sent',
  conversation_id: 'conv-3',
  sender_id: 'alice',
  receiver_id: 'bob',
  message_type: 'text',
};
const view = { message_id: 'msg-1', user_id: 'bob', viewed_at: '2025-11-08T14:11:37.004Z', device: 'web' };

/** A few odd values for every field. */
const ODD: unknown[] = [
  '',
  'x',
  'x'.repeat(64),
  'x'.repeat(65),
  'x'.repeat(256),
  'x'.repeat(257),
  'x'.repeat(65_537),
  0,
  1,
  -1,
  1.5,
  2 ** 53,
  null,
  true,
  [],
  {},
  'alice',
  'message_sent',
  'other',
  '2025-11-08T14:11:31Z',
  '2025-11-08 14:11:31.123456789+02:00',
  '2025-02-30T00:00:00Z',
  '2025-11-08T24:00:00Z',
  '0099-01-01T00:00:00Z',
  'not a time',
];
const mutations = (base: Record<string, unknown>): unknown[] => mutateAll(base, ODD, ['schema_version']);

test('chat message fast path: the schema output exactly, or the schema decides', () => {
  const counts = { fast: 0, schema: 0 };
  for (const input of mutations(message)) counts[check(fastChatMessage, ChatMessageSchema, input)]++;
  const { user_id: _u, event_type: _e, message_type: _m, ...minimal } = message;
  for (const input of mutations(minimal)) counts[check(fastChatMessage, ChatMessageSchema, input)]++;
  const traffic = generateTraffic({ seed: 3 });
  for (let i = 0; i < 5_000; i++) {
    const e = traffic.next().value!;
    const value = JSON.parse(JSON.stringify(e.value));
    const kind =
      e.kind === 'message'
        ? check(fastChatMessage, ChatMessageSchema, value)
        : check(fastMessageView, MessageViewSchema, value);
    assert.equal(kind, 'fast', `a generated event took the slow path: ${JSON.stringify(value)}`);
  }
  // Both paths were exercised: the fast one on valid records, the schema on the rest.
  assert.ok(counts.fast > 20 && counts.schema > 100, JSON.stringify(counts));
});

test('message view fast path: the schema output exactly, or the schema decides', () => {
  const counts = { fast: 0, schema: 0 };
  for (const input of mutations(view)) counts[check(fastMessageView, MessageViewSchema, input)]++;
  const { device: _d, ...minimal } = view;
  for (const input of mutations(minimal)) counts[check(fastMessageView, MessageViewSchema, input)]++;
  assert.ok(counts.fast > 10 && counts.schema > 50, JSON.stringify(counts));
});

test('the input codecs still dead-letter with the schema reason', () => {
  const bad = Buffer.from(JSON.stringify({ ...message, user_id: 'mallory' }));
  assert.throws(() => chatMessageCodec.deserialize(bad), /user_id must equal sender_id/);
  const late = Buffer.from(JSON.stringify({ ...view, viewed_at: '2025-02-30T00:00:00Z' }));
  assert.throws(() => messageViewCodec.deserialize(late), /viewed_at = "2025-02-30T00:00:00Z"/);
  assert.deepEqual(
    chatMessageCodec.deserialize(Buffer.from(JSON.stringify(message))),
    ChatMessageSchema.parse(message),
  );
});

test('fast RFC 3339: equal to parseRfc3339 on canonical, trimmed, edge and mutated texts', () => {
  const texts: string[] = [
    '2024-02-29T23:59:59.999Z',
    '2023-02-29T00:00:00Z',
    '2000-02-29T12:00:00Z',
    '1900-02-29T12:00:00Z',
    '2025-04-31T00:00:00Z',
    '2025-12-31T23:59:60Z',
    '2025-13-01T00:00:00Z',
    '2025-00-10T00:00:00Z',
    '2025-01-00T00:00:00Z',
    '2025-01-01T24:00:00Z',
    '2025-01-01T00:60:00Z',
    '2025-01-01T00:00:00.Z',
    '2025-01-01T00:00:00.1234567891Z',
    '2025-01-01t00:00:00z',
    '2025-01-01 00:00:00Z',
    '2025-01-01T00:00:00+02:00',
    '0999-01-01T00:00:00Z',
    '0050-06-01T00:00:00Z',
    '+025-01-01T00:00:00Z',
    '2025-1-01T00:00:00Z',
    '',
  ];
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 3_000; i++) {
    const iso = new Date(Math.floor(rnd() * 4e12)).toISOString(); // 1970–2096, 3 fraction digits
    const fraction = Math.floor(rnd() * 11); // 0–9 digits, 10: none
    const digits = `${iso.slice(20, 23)}${String(Math.floor(rnd() * 1e6)).padStart(6, '0')}`;
    const text =
      fraction === 10 ? `${iso.slice(0, 19)}Z` : `${iso.slice(0, 19)}.${digits.slice(0, fraction + 1)}Z`;
    texts.push(text);
    // One character replaced by a digit, a letter or punctuation.
    const at = Math.floor(rnd() * text.length);
    const by = '0123456789:-.TZz+ a'[Math.floor(rnd() * 19)] as string;
    texts.push(`${text.slice(0, at)}${by}${text.slice(at + 1)}`);
  }
  let valid = 0;
  for (const text of texts) {
    const want = parseRfc3339(text);
    assert.equal(fastRfc3339(text), want, text);
    if (want !== undefined) valid++;
  }
  assert.ok(valid > 3_000 && valid < texts.length, `${valid} of ${texts.length} valid`);
});

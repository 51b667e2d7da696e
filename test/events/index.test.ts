import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/errors/index.ts';
import {
  decodeChatMessage,
  decodeMessageView,
  encodeChatMessage,
  encodeMessageView,
  Topics,
  topicJsonSchemas,
  validateEvent,
} from '../../src/events/index.ts';

// The seed producer's exact payloads.
const SEED_MESSAGE =
  '{"message_id":"msg-1762611091-42","user_id":"alice","content":"Weekend plans anyone?","timestamp":"2025-11-08T14:11:31.52Z","event_type":"message_sent","conversation_id":"conv-3","sender_id":"alice","receiver_id":"bob","message_type":"text"}';
const SEED_VIEW =
  '{"message_id":"msg-1762611091-42","user_id":"bob","viewed_at":"2025-11-08T14:11:37.004Z","device":"web"}';

test('the seed producer’s message is accepted and normalised', () => {
  assert.deepStrictEqual(decodeChatMessage(Buffer.from(SEED_MESSAGE)), {
    message_id: 'msg-1762611091-42',
    user_id: 'alice',
    content: 'Weekend plans anyone?',
    timestamp: Date.UTC(2025, 10, 8, 14, 11, 31, 520),
    event_type: 'message_sent',
    conversation_id: 'conv-3',
    sender_id: 'alice',
    receiver_id: 'bob',
    message_type: 'text',
  });
});

test('the seed producer’s read receipt is accepted; device defaults to web', () => {
  const expected = {
    message_id: 'msg-1762611091-42',
    user_id: 'bob',
    viewed_at: Date.UTC(2025, 10, 8, 14, 11, 37, 4),
    device: 'web',
  };
  assert.deepStrictEqual(
    [
      decodeMessageView(SEED_VIEW),
      decodeMessageView(
        '{"message_id":"msg-1762611091-42","user_id":"bob","viewed_at":"2025-11-08T14:11:37.004Z"}',
      ),
    ],
    [expected, expected],
  );
});

test('encode writes the seed wire format back (decode ∘ encode is the identity)', () => {
  const m = decodeChatMessage(SEED_MESSAGE);
  assert.deepStrictEqual(decodeChatMessage(encodeChatMessage(m)), m);
  assert.deepStrictEqual(JSON.parse(encodeChatMessage(m)), {
    ...JSON.parse(SEED_MESSAGE),
    timestamp: '2025-11-08T14:11:31.520Z',
  });
  const v = decodeMessageView(SEED_VIEW);
  assert.deepStrictEqual(JSON.parse(encodeMessageView(v)), JSON.parse(SEED_VIEW));
});

test('optional fields: user_id defaults to sender_id, message_type to text, extra fields dropped', () => {
  const wire = JSON.parse(SEED_MESSAGE);
  delete wire.user_id;
  delete wire.message_type;
  delete wire.event_type;
  wire.client_version = '1.2';
  wire.schema_version = 2;
  assert.deepStrictEqual(decodeChatMessage(JSON.stringify(wire)), {
    ...decodeChatMessage(SEED_MESSAGE),
    schema_version: 2,
  });
});

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err.toJSON();
  }
  assert.fail('expected an error');
}

test('an invalid record gives a typed error naming field, value and expectation', () => {
  const seed = JSON.parse(SEED_MESSAGE);
  const cases = [
    errorOf(() => decodeChatMessage(JSON.stringify({ ...seed, timestamp: '2025-11-08 2pm' }))),
    errorOf(() => decodeChatMessage(JSON.stringify({ ...seed, sender_id: undefined }))),
    errorOf(() => decodeChatMessage(JSON.stringify({ ...seed, user_id: 'mallory' }))),
    errorOf(() => decodeChatMessage(JSON.stringify({ ...seed, event_type: 'message_deleted' }))),
    errorOf(() => decodeChatMessage('{"message_id": ')),
    errorOf(() => decodeChatMessage(null)),
  ];
  assert.deepStrictEqual(
    cases.map((c) => {
      const { code, context } = c as { code: string; context: Record<string, unknown> };
      return [code, context.field, context.value];
    }),
    [
      ['EVENT_INVALID', 'timestamp', '"2025-11-08 2pm"'],
      ['EVENT_INVALID', 'sender_id', 'missing'],
      ['EVENT_INVALID', 'user_id', '"mallory"'],
      ['EVENT_INVALID', 'event_type', '"message_deleted"'],
      ['EVENT_UNPARSEABLE', undefined, undefined],
      ['EVENT_UNPARSEABLE', undefined, undefined],
    ],
  );
  const first = cases[0] as { message: string; context: { expected: string } };
  assert.match(
    first.message,
    /^chat\.messages: timestamp = "2025-11-08 2pm": expected an RFC 3339 date-time/,
  );
});

test('output events validate against their schemas', () => {
  const metric = {
    conversation_id: 'conv-3',
    window_start: '2025-11-08T14:11:00.000Z',
    window_end: '2025-11-08T14:11:30.000Z',
    window_kind: 'hopping',
    message_count: 12,
    participant_count: 2,
    is_peak: true,
    baseline_count: 3.5,
    peak_threshold: 10.5,
  };
  assert.deepStrictEqual(
    validateEvent(Topics.conversationMetrics.schema, 'conversation-metrics', metric),
    metric,
  );
  assert.throws(
    () =>
      validateEvent(Topics.conversationMetrics.schema, 'conversation-metrics', {
        ...metric,
        message_count: -1,
      }),
    (err: unknown) => err instanceof AppError && err.context.field === 'message_count',
  );
});

test('JSON Schema is exported for every topic, describing the wire form', () => {
  const schemas = topicJsonSchemas() as Record<
    string,
    { required?: string[]; properties: Record<string, unknown> }
  >;
  assert.deepStrictEqual(
    Object.keys(schemas).sort(),
    Object.values(Topics)
      .map((t) => t.name)
      .sort(),
  );
  assert.deepStrictEqual(schemas['chat.messages']?.required, [
    'message_id',
    'content',
    'timestamp',
    'conversation_id',
    'sender_id',
    'receiver_id',
  ]);
  assert.deepStrictEqual(schemas['message-views']?.properties.viewed_at, {
    type: 'string',
    format: 'date-time',
    description: 'RFC 3339 date-time, any offset, up to 9 fraction digits',
  });
});

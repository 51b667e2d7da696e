/**
 * The drill-down routes (src/api/routes/insights.ts) on real chDB tables, against answers computed
 * here from the rows inserted: a word's trend history, time to read per sender, an alert's burst.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  insertAnomalyAlerts,
  insertMessages,
  insertReceipts,
  insertTrendingWords,
  type MessageRow,
  type ReceiptRow,
} from '../../src/storage/index.ts';
import { type ApiFixture, openApiFixture } from './helpers.ts';

let f: ApiFixture;
before(async () => {
  f = await openApiFixture();
});
after(() => f?.close());

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const get = async (url: string) => {
  const r = await f.app.inject({ url });
  return { status: r.statusCode, body: r.json() };
};

/** ClickHouse's quantileExact: the value at position ⌊level·n⌋ of the sorted values. */
function quantile(values: number[], level: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(level * sorted.length))]!;
}

test('summary and per-sender read rate and time to read: receiver’s first view only, in the range', async () => {
  // 120 messages over 80 minutes from three senders (1 : 2 : 3); the range is [T0 + 10 min, T0 + 70 min).
  const senders = ['ann', 'bob', 'bob', 'cyd', 'cyd', 'cyd'];
  const messages: MessageRow[] = [];
  const views: ReceiptRow[] = [];
  const expected = new Map(['ann', 'bob', 'cyd'].map((s) => [s, { sent: 0, delays: [] as number[] }]));
  const conversations = new Set<string>();
  for (let i = 0; i < 120; i++) {
    const sender = senders[i % 6]!;
    const created = T0 + i * 40_000;
    const id = `t-${i}`;
    const receiver = `r-${i % 7}`;
    messages.push({
      message_id: id,
      conversation_id: `c-${i % 4}`,
      sender_id: sender,
      receiver_id: receiver,
      content: 'hi',
      created_at: created,
    });
    const inRange = created >= T0 + 10 * MIN && created < T0 + 70 * MIN;
    if (inRange) expected.get(sender)!.sent++;
    if (inRange) conversations.add(`c-${i % 4}`);
    if (i % 4 === 3) continue; // never read
    // delay grows with i and differs per sender; a view stamped before its message counts as 0
    const delay = i % 11 === 0 ? -5_000 : ((i * 7919) % 600) * 100;
    views.push({ message_id: id, reader_id: receiver, viewed_at: created + delay });
    // a later view by the receiver and a view by someone else never change read_at
    views.push({ message_id: id, reader_id: receiver, viewed_at: created + delay + 90_000 });
    views.push({ message_id: id, reader_id: 'someone-else', viewed_at: created + 1 });
    if (inRange) expected.get(sender)!.delays.push(Math.max(0, delay));
  }
  // Half the receipts arrive before their messages (the order the sink may see).
  await insertReceipts(f.ch, views.slice(0, views.length / 2));
  await insertMessages(f.ch, messages);
  await insertReceipts(f.ch, views.slice(views.length / 2));

  const from = iso(T0 + 10 * MIN);
  const to = iso(T0 + 70 * MIN);
  const r = await get(`/api/v1/stats/senders?sender=cyd&sender=ann&sender=nobody&from=${from}&to=${to}`);
  const top = await get(`/api/v1/stats/senders?limit=2&from=${from}&to=${to}`);
  const summary = await get(`/api/v1/stats/summary?from=${from}&to=${to}`);
  const row = (s: string) => {
    const e = expected.get(s) ?? { sent: 0, delays: [] };
    return {
      sender_id: s,
      sent: e.sent,
      read_count: e.delays.length,
      read_rate: e.sent === 0 ? null : Math.round((10_000 * e.delays.length) / e.sent) / 100,
      median_ms: quantile(e.delays, 0.5),
      p90_ms: quantile(e.delays, 0.9),
    };
  };
  const all = [...expected.values()];
  const sent = all.reduce((a, e) => a + e.sent, 0);
  const read = all.reduce((a, e) => a + e.delays.length, 0);
  assert.deepStrictEqual(
    [r.status, r.body, top.body.items, summary.body],
    [
      200,
      { from, to, items: [row('cyd'), row('ann'), row('nobody')] },
      [row('cyd'), row('bob')],
      {
        from,
        to,
        messages: sent,
        read_count: read,
        unread: sent - read,
        read_rate: Math.round((10_000 * read) / sent) / 100,
        conversations: conversations.size,
        senders: 3,
      },
    ],
  );
  assert.ok(expected.get('ann')!.delays.length > 5 && all.some((e) => e.delays.includes(0)));
  assert.deepStrictEqual([sent, expected.get('cyd')!.sent], [90, 45]);
  const tooMany = await get(
    `/api/v1/stats/senders?${Array.from({ length: 101 }, (_, i) => `sender=s${i}`).join('&')}`,
  );
  const backwards = await get(`/api/v1/stats/summary?from=${to}&to=${from}`);
  assert.deepStrictEqual([tooMany.status, backwards.status], [400, 400]);
});

test('a word’s history: its ranked windows in the range, oldest first, the latest emission of each', async () => {
  const W = 2 * MIN;
  const row = (k: number, word: string, count: number, baseline: number, version: number) => ({
    window_start: T0 + k * W,
    window_end: T0 + (k + 1) * W,
    word,
    count,
    rank: 1,
    score: (count - baseline) / Math.sqrt(baseline + 1),
    baseline,
    emitted_at: T0 + (k + 1) * W + 1000,
    version,
  });
  await insertTrendingWords(f.ch, [
    row(0, 'pizza', 6, 0, 1),
    row(1, 'pizza', 12, 1.2, 2),
    row(1, 'pizza', 14, 1.2, 3), // re-emitted: the higher version wins
    row(1, 'tacos', 9, 0, 4),
    row(3, 'pizza', 7, 3.6, 5),
    row(9, 'pizza', 5, 2, 6), // outside the range asked for
  ]);
  const r = await get(`/api/v1/trends/Pizza/history?from=${iso(T0)}&to=${iso(T0 + 8 * W)}`);
  const item = (k: number, count: number, baseline: number) => ({
    window_start: iso(T0 + k * W),
    window_end: iso(T0 + (k + 1) * W),
    count,
    baseline,
    score: (count - baseline) / Math.sqrt(baseline + 1),
    rank: 1,
  });
  const none = await get(`/api/v1/trends/sushi/history?from=${iso(T0)}&to=${iso(T0 + 8 * W)}`);
  assert.deepStrictEqual(
    [r.status, r.body, none.body.items],
    [
      200,
      {
        word: 'pizza',
        from: iso(T0),
        to: iso(T0 + 8 * W),
        items: [item(0, 6, 0), item(1, 14, 1.2), item(3, 7, 3.6)],
      },
      [],
    ],
  );
});

test('an alert’s burst: the sender’s messages from first to last (same content for duplicate_content)', async () => {
  const B = T0 + 3 * 3_600_000;
  const msg = (id: string, sender: string, at: number, content = `text ${id}`): MessageRow => ({
    message_id: id,
    conversation_id: `conv-${id.length % 3}`,
    sender_id: sender,
    receiver_id: `victim-${id}`,
    content,
    created_at: at,
  });
  const burst = Array.from({ length: 12 }, (_, i) =>
    msg(`s-${String(i).padStart(2, '0')}`, 'spammer', B + i * 500),
  );
  const dup = [
    msg('d-0', 'copier', B, 'Buy NOW  cheap'),
    msg('d-1', 'copier', B + 100, 'something else'),
    msg('d-2', 'copier', B + 200, ' buy now\tCHEAP '),
    msg('d-3', 'copier', B + 300, 'buy now cheap'),
  ];
  await insertMessages(f.ch, [
    ...burst,
    msg('s-before', 'spammer', B - 1),
    msg('s-after', 'spammer', B + 11 * 500 + 1),
    msg('o-0', 'other', B + 1000),
    ...dup,
  ]);
  const alert = (id: string, user: string, kind: string, first: MessageRow, last: MessageRow, n: number) => ({
    alert_id: id,
    user_id: user,
    kind,
    severity: 'high',
    status: 'closed',
    count: n,
    threshold: 3,
    window_ms: 60_000,
    window_start: first.created_at,
    window_end: last.created_at,
    first_message_id: first.message_id,
    last_message_id: last.message_id,
    trigger_message_id: first.message_id,
    message_count: n,
    detected_at: first.created_at,
    emitted_at: last.created_at,
    retracted: 0,
    version: 4,
  });
  await insertAnomalyAlerts(f.ch, [
    alert('a-rate', 'spammer', 'rate', burst[0]!, burst[11]!, 12),
    alert('a-dup', 'copier', 'duplicate_content', dup[0]!, dup[3]!, 3),
  ]);
  const rate = await get('/api/v1/alerts/a-rate/messages');
  const cut = await get('/api/v1/alerts/a-rate/messages?limit=5');
  const copies = await get('/api/v1/alerts/a-dup/messages');
  const unknown = await get('/api/v1/alerts/nope/messages');
  const item = (m: MessageRow) => ({
    message_id: m.message_id,
    conversation_id: m.conversation_id,
    receiver_id: m.receiver_id,
    content: m.content,
    timestamp: iso(m.created_at),
  });
  assert.deepStrictEqual(
    {
      rate: rate.body,
      cut: [cut.body.items.map((m: { message_id: string }) => m.message_id), cut.body.truncated],
      copies: copies.body.items.map((m: { message_id: string }) => m.message_id),
      unknown: [unknown.status, unknown.body.error.code],
    },
    {
      rate: {
        alert_id: 'a-rate',
        user_id: 'spammer',
        kind: 'rate',
        from: iso(B),
        to: iso(B + 11 * 500),
        message_count: 12,
        items: burst.map(item),
        truncated: false,
      },
      cut: [burst.slice(0, 5).map((m) => m.message_id), true],
      copies: ['d-0', 'd-2', 'd-3'],
      unknown: [404, 'API_NOT_FOUND'],
    },
  );
});

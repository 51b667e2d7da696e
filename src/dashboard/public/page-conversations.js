// The conversations page: the busiest conversations, and one conversation's windows and history.
import { api } from './api.js';
import { enc, inTurn, MAX } from './page-calls.js';
import { barChart, card, fmt, h, table, time } from './ui.js';

export async function conversations(ctx) {
  if (ctx.q.id) return conversation(ctx, ctx.q.id);
  const sort = ctx.q.sort === 'peaks' ? 'peaks' : 'volume';
  const r = await api(`/api/v1/conversations?sort=${sort}&from=${ctx.from}&to=${ctx.to}&limit=50`);
  const select = h(
    'select',
    { id: 'conv-sort', onchange: (e) => ctx.go({ sort: e.target.value }) },
    h('option', { value: 'volume', selected: sort === 'volume' }, 'volume'),
    h('option', { value: 'peaks', selected: sort === 'peaks' }, 'peaks'),
  );
  return h(
    'div',
    {},
    h('div', { class: 'row' }, h('label', { for: 'conv-sort' }, 'Sort by'), select),
    card(
      'Conversations',
      barChart(
        'conversations',
        r.items.slice(0, 30).map((c) => ({ x: c.conversation_id, y: c.messages })),
        'No conversations in this range.',
      ),
      table(
        [
          {
            label: 'conversation',
            get: (c) => h('a', { href: `#/conversations?id=${enc(c.conversation_id)}` }, c.conversation_id),
          },
          { label: 'messages', get: (c) => fmt(c.messages), num: true },
          { label: 'participants', get: (c) => fmt(c.participants), num: true },
          { label: 'peaks', get: (c) => fmt(c.peaks), num: true },
          { label: 'last message', get: (c) => time(c.last_message_at) },
        ],
        r.items,
        'No conversations in this range: widen the time range.',
      ),
    ),
  );
}

async function conversation(ctx, id) {
  const [m, msgs] = await inTurn(
    () => api(`/api/v1/conversations/${enc(id)}/metrics?from=${ctx.from}&to=${ctx.to}&limit=${MAX}`),
    () => api(`/api/v1/conversations/${enc(id)}/messages?limit=100`),
  );
  return h(
    'div',
    {},
    h('p', {}, h('a', { href: '#/conversations' }, '← all conversations')),
    card(
      `Conversation ${id}: 30 s windows`,
      barChart(
        'conversation-windows',
        m.items.map((w) => ({ x: time(w.window_start).slice(11), y: w.message_count, alt: w.is_peak })),
        'No windows in this range (windows are emitted as messages arrive).',
      ),
    ),
    card(
      'History (newest first)',
      table(
        [
          { label: 'time', get: (x) => time(x.timestamp) },
          { label: 'sender', get: (x) => x.sender_id },
          { label: 'receiver', get: (x) => x.receiver_id },
          { label: 'content', get: (x) => x.content },
          { label: 'status', get: (x) => x.read_status },
        ],
        msgs.items,
        'No messages in this conversation.',
      ),
    ),
  );
}

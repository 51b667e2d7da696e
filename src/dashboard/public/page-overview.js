// The overview page: KPIs for the range, message volume and the read/unread split.
import { api } from './api.js';
import { inTurn } from './page-calls.js';
import { barChart, card, empty, fmt, h, kpis, time } from './ui.js';

function bucketFor(from, to) {
  const span = Date.parse(to) - Date.parse(from);
  return span <= 6 * 3600_000 ? 'minute' : span <= 7 * 86400_000 ? 'hour' : 'day';
}

async function volume(ctx) {
  const r = await api(
    `/api/v1/stats/volume?interval=${bucketFor(ctx.from, ctx.to)}&from=${ctx.from}&to=${ctx.to}`,
  );
  return r.buckets.map((b) => ({ x: time(b.start).slice(5, 16), y: b.messages }));
}

export async function overview(ctx) {
  const hourAgo = new Date(Date.now() - 3600_000).toISOString();
  const [series, tot, alerts] = await inTurn(
    () => volume(ctx),
    () => api(`/api/v1/stats/summary?from=${ctx.from}&to=${ctx.to}`),
    () => api(`/api/v1/alerts?since=${hourAgo}&limit=100`),
  );
  const sent = tot.messages;
  const read = tot.read_count;
  const tick = ctx.live;
  return h(
    'div',
    {},
    kpis([
      ['Messages in range', fmt(sent), 'messages'],
      ['Msgs/s in (live)', tick ? fmt(tick.messages_in_per_s) : '…', 'rate'],
      ['Active conversations', fmt(tot.conversations), 'conversations'],
      ['Active senders', fmt(tot.senders), 'senders'],
      ['Unread messages', fmt(tot.unread), 'unread'],
      ['Read rate', tot.read_rate === null ? '–' : `${fmt(tot.read_rate)} %`, 'read-rate'],
      ['Alerts, last hour', fmt(alerts.items.length) + (alerts.next_cursor ? '+' : ''), 'alerts'],
      ['End-to-end lag (records)', tick ? fmt(tick.lag) : '…', 'lag'],
    ]),
    card(
      'Message volume',
      barChart(
        'volume',
        series,
        'No messages in this range: post some, or run `msgtrack start` with the generator.',
      ),
    ),
    card(
      'Status distribution (messages sent in the range)',
      sent === 0
        ? empty('No messages in this range.')
        : h(
            'div',
            {},
            h(
              'div',
              {
                class: 'meter',
                role: 'img',
                'aria-label': `${read} read, ${sent - read} sent (unread)`,
                'data-chart': 'status',
                'data-series': JSON.stringify({ read, sent: sent - read }),
              },
              h('span', { class: 'read', style: `width: ${(100 * read) / sent}%` }),
              h('span', { class: 'sent', style: `width: ${(100 * (sent - read)) / sent}%` }),
            ),
            h('p', {}, `read ${fmt(read)} · sent, not read ${fmt(sent - read)}`),
          ),
    ),
  );
}

// The users page: the activity heatmap and the top senders' read rates.
import { api } from './api.js';
import { inTurn } from './page-calls.js';
import { card, duration, fmt, h, heatmap, table } from './ui.js';

export async function users(ctx) {
  const [act, senders] = await inTurn(
    () => api(`/api/v1/users/activity?from=${ctx.from}&to=${ctx.to}`),
    () => api(`/api/v1/stats/senders?limit=20&from=${ctx.from}&to=${ctx.to}`),
  );
  return h(
    'div',
    {},
    card('Activity (UTC day × hour)', heatmap(act.cells, 'No activity in this range.')),
    card(
      'Top senders: read rates and time to read',
      table(
        [
          { label: 'sender', get: (r) => r.sender_id },
          { label: 'sent', get: (r) => fmt(r.sent), num: true },
          { label: 'read', get: (r) => fmt(r.read_count), num: true },
          { label: 'read rate %', get: (r) => fmt(r.read_rate), num: true },
          { label: 'median time to read', get: (r) => duration(r.median_ms), num: true },
          { label: 'p90 time to read', get: (r) => duration(r.p90_ms), num: true },
        ],
        senders.items,
        'No messages in this range.',
        'The senders with the most messages in the range; time to read = receiver’s first view − sent.',
      ),
    ),
  );
}

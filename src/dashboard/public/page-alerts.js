// The alerts page: the range's alerts, live updates and each alert's burst messages.
import { api } from './api.js';
import { enc } from './page-calls.js';
import { card, empty, fmt, h, time } from './ui.js';

function alertRow(a, fresh) {
  return h(
    'tr',
    { class: fresh ? 'alert-new' : undefined, 'data-alert': a.alert_id },
    // REST rows carry detected_at; live records (anomaly-alerts) carry triggered_at and a status
    h('td', {}, time(a.detected_at ?? a.triggered_at)),
    h('td', {}, a.user_id),
    h('td', {}, a.kind),
    h('td', {}, a.status ? `${a.severity} (${a.status})` : a.severity),
    h('td', { class: 'num' }, fmt(a.count)),
    h('td', { class: 'num' }, fmt(a.threshold)),
    h('td', {}, `${time(a.window_start).slice(11)} → ${time(a.window_end).slice(11)}`),
    h(
      'td',
      {},
      h(
        'button',
        {
          type: 'button',
          'aria-label': `messages of the burst of ${a.user_id} at ${time(a.detected_at ?? a.triggered_at)}`,
          onclick: (e) => burst(e.currentTarget, a, fresh),
        },
        'messages',
      ),
    ),
  );
}

/** All messages of the alert's burst (GET /api/v1/alerts/{id}/messages), in place of the button. */
async function burst(button, a, fresh) {
  button.disabled = true;
  // An alert that just arrived over the live feed may not be stored yet: wait (up to 10 s) until the
  // alert list has it, rather than asking for its burst too early (a 404).
  const since = new Date(Date.parse(a.detected_at ?? a.triggered_at) - 1000).toISOString();
  for (let i = 0; fresh && i < 40; i++) {
    const listed = await api(`/api/v1/alerts?user=${enc(a.user_id)}&since=${since}&limit=100`).catch(
      () => undefined,
    );
    if (listed?.items.some((x) => x.alert_id === a.alert_id)) break;
    button.textContent = 'waiting for the alert to be stored…';
    await new Promise((done) => setTimeout(done, 250));
  }
  let r;
  try {
    r = await api(`/api/v1/alerts/${enc(a.alert_id)}/messages`);
  } catch (e) {
    button.replaceWith(h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  const more = r.truncated ? ' (first 1,000)' : '';
  button.replaceWith(
    h(
      'div',
      { class: 'burst', 'data-burst': a.alert_id },
      h(
        'p',
        { class: 'muted' },
        r.items.length === 0
          ? `No messages stored yet for this burst (the alert counts ${r.message_count}; the sink may be behind).`
          : `${r.items.length}${more} messages from ${time(r.from)} to ${time(r.to).slice(11)} (the alert counts ${r.message_count})`,
      ),
      h(
        'ol',
        {},
        r.items.map((m) =>
          h(
            'li',
            { 'data-message': m.message_id },
            `${time(m.timestamp).slice(11)} → ${m.receiver_id}: ${m.content}`,
          ),
        ),
      ),
    ),
  );
}

export async function alerts(ctx) {
  const r = await api(`/api/v1/alerts?since=${ctx.from}&limit=200`);
  const rows = new Map(r.items.map((a) => [a.alert_id, alertRow(a, false)]));
  const body = h('tbody', { id: 'alert-rows' }, [...rows.values()]);
  const why = empty(
    'No alerts in this range yet: the generator injects a spam burst every few minutes; new alerts appear here live.',
  );
  const tableEl = h(
    'table',
    { hidden: r.items.length === 0 },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['detected', 'user', 'kind', 'severity', 'count', 'threshold', 'window', 'burst'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    body,
  );
  if (r.items.length > 0) why.hidden = true;
  ctx.onLive('alert', (a) => {
    // a later record of the same alert (severity up, closed, retracted) replaces its row
    const row = alertRow(a, true);
    const old = rows.get(a.alert_id);
    if (old) old.replaceWith(row);
    else body.prepend(row);
    rows.set(a.alert_id, row);
    tableEl.hidden = false;
    why.hidden = true;
  });
  return card(
    'Alerts (live)',
    h('p', { class: 'muted', 'aria-live': 'polite' }, 'New alerts arrive over the live feed without reload.'),
    why,
    tableEl,
  );
}

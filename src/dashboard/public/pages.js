// The pages. Each is `async (ctx) => Node`: ctx.q (the page's URL parameters), ctx.from/ctx.to (ISO,
// the global range), ctx.go(params) (new URL state), ctx.live (latest tick) and ctx.onLive(fn).
import { api } from './api.js';
import { barChart, card, duration, empty, fmt, h, heatmap, kpis, table, time } from './ui.js';

const enc = encodeURIComponent;
/** Largest page the list routes accept. */
const MAX = 1000;

/**
 * Runs the page's calls one after another and resolves to their results in order. The server reads
 * ClickHouse one statement at a time (chDB), so calls sent together only wait for each other there —
 * each would take the time of all before it; in turn each answers in its own time, and the page takes
 * as long as before.
 */
async function inTurn(...calls) {
  const out = [];
  for (const call of calls) out.push(await call());
  return out;
}

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

/** A word's windows as chart points over the grid of windows from its first to its last, gaps as null. */
function windowPoints(items) {
  if (items.length === 0) return [];
  const size = Date.parse(items[0].window_end) - Date.parse(items[0].window_start);
  const at = new Map(items.map((w) => [Date.parse(w.window_start), w]));
  const first = Date.parse(items[0].window_start);
  const last = Date.parse(items.at(-1).window_start);
  const points = [];
  for (let t = first; t <= last && points.length < 2000; t += size) {
    const w = at.get(t);
    points.push({
      x: time(new Date(t).toISOString()).slice(5, 16),
      y: w?.count ?? null,
      base: w?.baseline ?? null,
    });
  }
  return points;
}

async function wordHistory(ctx, word) {
  const r = await api(`/api/v1/trends/${enc(word)}/history?from=${ctx.from}&to=${ctx.to}`);
  return card(
    `History of “${r.word}”: count per window against its baseline`,
    barChart(
      'word-history',
      windowPoints(r.items),
      `“${r.word}” did not trend in this range (only ranked words are stored: widen the range or pick another word).`,
    ),
    table(
      [
        { label: 'window', get: (w) => `${time(w.window_start)} → ${time(w.window_end).slice(11)}` },
        { label: 'count', get: (w) => fmt(w.count), num: true },
        { label: 'baseline', get: (w) => fmt(w.baseline), num: true },
        { label: 'score', get: (w) => fmt(w.score), num: true },
        { label: 'rank', get: (w) => w.rank, num: true },
      ],
      [...r.items].reverse(),
      'No windows.',
      'Bars: messages with the word per window; line: its baseline. A window without a bar is one in which the word did not trend.',
    ),
  );
}

export async function trends(ctx) {
  const word = ctx.q.word?.trim() ?? '';
  const [r, history] = await inTurn(
    () => api('/api/v1/trends?window=latest&limit=50'),
    () => (word === '' ? undefined : wordHistory(ctx, word)),
  );
  const input = h('input', { id: 'word', value: word, list: 'trend-words', autocomplete: 'off' });
  const form = h(
    'form',
    {
      class: 'row',
      role: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        ctx.go({ word: input.value.trim() });
      },
    },
    h('label', { for: 'word' }, 'Word history'),
    input,
    h(
      'datalist',
      { id: 'trend-words' },
      r.items.map((t) => h('option', { value: t.word })),
    ),
    h('button', { type: 'submit' }, 'Show'),
  );
  return h(
    'div',
    {},
    card(
      'Trending words (latest window)',
      barChart(
        'trends',
        r.items.map((t) => ({ x: t.word, y: t.count, base: t.baseline })),
        'No trend window yet: trends are ranked every window of message words (the generator injects a trend every few minutes).',
      ),
      table(
        [
          { label: 'rank', get: (t) => t.rank, num: true },
          {
            label: 'word',
            get: (t) =>
              h('a', { href: `#/trends?${new URLSearchParams({ ...ctx.q, word: t.word })}` }, t.word),
          },
          { label: 'count', get: (t) => fmt(t.count), num: true },
          { label: 'baseline', get: (t) => fmt(t.baseline), num: true },
          { label: 'score', get: (t) => fmt(t.score), num: true },
        ],
        r.items,
        'No trending words yet.',
        r.items[0] ? `window ${time(r.items[0].window_start)} → ${time(r.items[0].window_end)}` : undefined,
      ),
    ),
    card(
      'A word’s history',
      form,
      history ?? empty('Pick a word (a trending one above, or type any word) to see its history.'),
    ),
  );
}

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

export async function pipeline(ctx) {
  const [t, p] = await Promise.all([api('/api/v1/topics'), api('/api/v1/processors')]);
  const tick = ctx.live;
  return h(
    'div',
    {},
    kpis([
      ['Msgs/s in', tick ? fmt(tick.messages_in_per_s) : '…', 'rate'],
      ['Processed/s', tick ? fmt(tick.processed_per_s) : '…', 'processed'],
      ['Total lag', tick ? fmt(tick.lag) : '…', 'lag'],
    ]),
    card(
      'Processors',
      table(
        [
          { label: 'name', get: (x) => x.name },
          { label: 'state', get: (x) => x.state },
          { label: 'tasks', get: (x) => x.tasks.length, num: true },
          { label: 'records', get: (x) => fmt(x.records_processed), num: true },
          { label: 'records/s', get: (x) => fmt(x.records_per_s), num: true },
          { label: 'lag', get: (x) => fmt(x.lag), num: true },
          { label: 'late', get: (x) => fmt(x.late_records), num: true },
          { label: 'dead letters', get: (x) => fmt(x.dead_letters), num: true },
          {
            label: 'commit ms (avg/max)',
            get: (x) => `${fmt(x.commit_latency_ms.avg)} / ${fmt(x.commit_latency_ms.max)}`,
            num: true,
          },
        ],
        p.processors,
        'No processors in this instance (`msgtrack api` runs none; `msgtrack start` runs them all).',
      ),
    ),
    card(
      'Dead letters',
      table(
        [
          { label: 'topic', get: (d) => d.topic },
          { label: 'records', get: (d) => fmt(d.records), num: true },
          {
            label: 'samples (stage: reason)',
            get: (d) =>
              h(
                'ul',
                {},
                d.samples.map((s) =>
                  h('li', {}, `${s.stage ?? '?'}: ${s.reason ?? '?'} @${s.partition}:${s.offset}`),
                ),
              ),
          },
        ],
        p.dead_letters.filter((d) => d.records > 0),
        'No dead letters: every record so far was decoded and processed.',
      ),
    ),
    card(
      'Consumer groups',
      table(
        [
          { label: 'group', get: (g) => g.group_id },
          { label: 'members', get: (g) => fmt(g.members), num: true },
          { label: 'lag', get: (g) => fmt(g.lag), num: true },
          {
            label: 'partitions (topic:partition committed/end)',
            get: (g) =>
              g.partitions.map((x) => `${x.topic}:${x.partition} ${x.committed}/${x.end_offset}`).join(', '),
          },
        ],
        t.groups,
        'No consumer groups have committed yet.',
      ),
    ),
    card(
      'Topics',
      table(
        [
          { label: 'topic', get: (x) => x.name },
          { label: 'partitions', get: (x) => x.partitions, num: true },
          {
            label: 'records (end − start)',
            get: (x) => fmt(x.offsets.reduce((s, o) => s + o.end_offset - o.start_offset, 0)),
            num: true,
          },
          {
            label: 'offsets (start–end per partition)',
            get: (x) => x.offsets.map((o) => `${o.partition}:${o.start_offset}–${o.end_offset}`).join(' '),
          },
          { label: 'cleanup', get: (x) => x.cleanup_policy },
        ],
        t.topics,
        'No topics: the log has none yet.',
      ),
    ),
  );
}

const NUMERIC = /^(U?Int|Float|Decimal)/;

/** The result as a bar chart: first column as labels, first numeric column as values. */
function resultChart(r) {
  const y = r.columns.findIndex((c) => NUMERIC.test(c.type.replace(/^Nullable\(/, '')));
  if (y < 0 || r.rows.length === 0) return empty('No numeric column to chart.');
  const x = y === 0 && r.columns.length > 1 ? 1 : 0;
  return barChart(
    'query',
    r.rows.map((row) => ({ x: String(row[x]), y: Number(row[y]) })),
    'The query returned no rows.',
  );
}

export async function explore(ctx) {
  // The example reads the hourly rollup (a row per hour), not the messages: the same numbers as the
  // seed's hourly query over `messages`, without scanning a day of them.
  const sql =
    ctx.q.sql ??
    'SELECT hour, sum(messages) AS messages, sum(reads) AS read FROM hourly_totals\nWHERE hour >= now() - INTERVAL 1 DAY GROUP BY hour ORDER BY hour DESC';
  const area = h('textarea', { id: 'sql', spellcheck: 'false' }, sql);
  const params = h('input', { id: 'params', value: ctx.q.params ?? '', placeholder: '{"user": "u1"}' });
  const rows = h('input', { id: 'max-rows', type: 'number', min: '1', value: ctx.q.max_rows ?? '1000' });
  const view = h(
    'select',
    { id: 'view' },
    h('option', { value: 'table', selected: ctx.q.view !== 'chart' }, 'table'),
    h('option', { value: 'chart', selected: ctx.q.view === 'chart' }, 'chart'),
  );
  const out = h('div', { id: 'result', 'aria-live': 'polite' });
  const run = async () => {
    ctx.go({ sql: area.value, params: params.value, max_rows: rows.value, view: view.value }, true);
    out.replaceChildren(h('p', { class: 'muted' }, 'running…'));
    try {
      let p;
      try {
        p = params.value.trim() === '' ? undefined : JSON.parse(params.value);
      } catch (e) {
        throw new Error(`parameters are not JSON: ${e.message}`);
      }
      const r = await api('/api/v1/query', {
        sql: area.value,
        max_rows: Number(rows.value),
        ...(p === undefined ? {} : { params: p }),
      });
      out.replaceChildren(
        h(
          'p',
          { class: 'muted' },
          `${r.row_count} rows in ${fmt(r.elapsed_ms)} ms${r.truncated ? ' (truncated at max rows)' : ''}`,
        ),
        view.value === 'chart'
          ? resultChart(r)
          : table(
              r.columns.map((c, i) => ({ label: `${c.name} (${c.type})`, get: (row) => String(row[i]) })),
              r.rows,
              'The query returned no rows.',
            ),
      );
    } catch (e) {
      out.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
    }
  };
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void run();
  });
  view.addEventListener('change', run);
  if (ctx.q.sql) queueMicrotask(run);
  return card(
    'SQL console (read-only)',
    h('label', { for: 'sql' }, 'SQL (SELECT only; parameters as {name:Type}); Ctrl+Enter runs'),
    area,
    h(
      'div',
      { class: 'row' },
      h('label', { for: 'params' }, 'Parameters (JSON)'),
      params,
      h('label', { for: 'max-rows' }, 'Max rows'),
      rows,
      h('label', { for: 'view' }, 'View'),
      view,
      h('button', { type: 'button', id: 'run', onclick: run }, 'Run'),
    ),
    out,
  );
}

export const PAGES = { overview, conversations, users, trends, alerts, pipeline, explore };

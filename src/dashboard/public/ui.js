// DOM and chart helpers: no framework, every chart is plain SVG/HTML whose data is also in
// data-* attributes and a text alternative (screen readers and tests read the same numbers).

/** Element builder: h('td', {class: 'num'}, 'text', child, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    // CSSOM, not a style attribute: the page's CSP allows no inline style.
    else if (k === 'style') el.style.cssText = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat())
    if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const fmt = (n) =>
  typeof n === 'number' ? n.toLocaleString('en-US', { maximumFractionDigits: 2 }) : '–';
export const time = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) : '–');

export function card(title, ...children) {
  return h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...children);
}

export function empty(why) {
  return h('p', { class: 'empty' }, why);
}

/** KPI tiles: [[label, value, id]]. */
export function kpis(items) {
  return h(
    'dl',
    { class: 'kpis' },
    items.map(([label, value, id]) =>
      h('div', { class: 'kpi' }, h('dt', {}, label), h('dd', { 'data-kpi': id }, value)),
    ),
  );
}

/** A table from column specs [{label, get, num}] and rows; `why` when there are none. */
export function table(cols, rows, why, caption) {
  if (rows.length === 0) return empty(why);
  return h(
    'table',
    {},
    caption ? h('caption', { class: 'muted' }, caption) : undefined,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        cols.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : undefined }, c.label)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          {},
          cols.map((c) => h('td', { class: c.num ? 'num' : undefined }, c.get(r))),
        ),
      ),
    ),
  );
}

/** Bar chart of [{x, y}] as SVG; the series is in data-series (JSON) for scripts and tests. */
export function barChart(name, points, why) {
  if (points.length === 0) return empty(why);
  const W = 800;
  const H = 180;
  const max = Math.max(1, ...points.map((p) => p.y));
  const bw = W / points.length;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H + 16}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  const total = points.reduce((s, p) => s + p.y, 0);
  svg.setAttribute('aria-label', `${name}: ${points.length} points, total ${total}, max ${max}`);
  points.forEach((p, i) => {
    const r = document.createElementNS(svg.namespaceURI, 'rect');
    const bh = (p.y / max) * H;
    r.setAttribute('x', String(i * bw + bw * 0.1));
    r.setAttribute('width', String(Math.max(1, bw * 0.8)));
    r.setAttribute('y', String(H - bh));
    r.setAttribute('height', String(bh));
    r.setAttribute('class', p.alt ? 'bar alt' : 'bar');
    const t = document.createElementNS(svg.namespaceURI, 'title');
    t.textContent = `${p.x}: ${p.y}`;
    r.append(t);
    svg.append(r);
  });
  const label = document.createElementNS(svg.namespaceURI, 'text');
  label.setAttribute('x', '2');
  label.setAttribute('y', String(H + 13));
  label.textContent = `${points[0].x} … ${points.at(-1).x} (max ${max})`;
  svg.append(label);
  return h('figure', { class: 'chart', 'data-chart': name, 'data-series': JSON.stringify(points) }, svg);
}

/** Day × hour heatmap (UTC) as a table of cells shaded by volume. */
export function heatmap(cells, why) {
  if (cells.length === 0) return empty(why);
  const days = [...new Set(cells.map((c) => c.day))].sort();
  const at = new Map(cells.map((c) => [`${c.day} ${c.hour}`, c]));
  const max = Math.max(1, ...cells.map((c) => c.messages));
  const hours = [...Array(24).keys()];
  return h(
    'table',
    { class: 'heatmap', 'data-chart': 'activity', 'data-series': JSON.stringify(cells) },
    h('caption', { class: 'muted' }, 'Messages per UTC day × hour'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'day'),
        hours.map((x) => h('th', { scope: 'col' }, x)),
      ),
    ),
    h(
      'tbody',
      {},
      days.map((d) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, d),
          hours.map((x) => {
            const c = at.get(`${d} ${x}`);
            const v = c?.messages ?? 0;
            const a = v === 0 ? 0 : 0.15 + 0.85 * (v / max);
            return h(
              'td',
              {
                title: `${d} ${x}:00 UTC: ${v} messages, ${c?.active_users ?? 0} active users`,
                style: `background: rgba(47, 111, 214, ${a.toFixed(2)})`,
              },
              v === 0 ? '' : v,
            );
          }),
        ),
      ),
    ),
  );
}

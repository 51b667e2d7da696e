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

/**
 * Bar chart of [{x, y}] as SVG; the series is in data-series (JSON) for scripts and tests. A point's
 * `y` may be null (no bar: no data there); points with a `base` also draw a line through the bases
 * (e.g. a word's count per window against its baseline).
 */
export function barChart(name, points, why) {
  if (points.length === 0) return empty(why);
  const W = 800;
  const H = 180;
  const max = Math.max(1, ...points.map((p) => Math.max(p.y ?? 0, p.base ?? 0)));
  const bw = W / points.length;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  const el = (tag, attrs) => {
    const e = document.createElementNS(svg.namespaceURI, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  };
  svg.setAttribute('viewBox', `0 0 ${W} ${H + 16}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  const total = points.reduce((s, p) => s + (p.y ?? 0), 0);
  svg.setAttribute('aria-label', `${name}: ${points.length} points, total ${total}, max ${max}`);
  points.forEach((p, i) => {
    if (p.y === null) return;
    const bh = (p.y / max) * H;
    const r = el('rect', {
      x: i * bw + bw * 0.1,
      width: Math.max(1, bw * 0.8),
      y: H - bh,
      height: bh,
      class: p.alt ? 'bar alt' : 'bar',
    });
    const t = document.createElementNS(svg.namespaceURI, 'title');
    t.textContent = p.base === undefined ? `${p.x}: ${p.y}` : `${p.x}: ${p.y} (baseline ${p.base})`;
    r.append(t);
    svg.append(r);
  });
  const bases = points
    .map((p, i) =>
      p.base === undefined || p.base === null ? null : `${i * bw + bw / 2},${H - (p.base / max) * H}`,
    )
    .filter((xy) => xy !== null);
  if (bases.length > 0) svg.append(el('polyline', { points: bases.join(' '), class: 'base-line' }));
  const label = el('text', { x: 2, y: H + 13 });
  label.textContent = `${points[0].x} … ${points.at(-1).x} (max ${max})`;
  svg.append(label);
  return h('figure', { class: 'chart', 'data-chart': name, 'data-series': JSON.stringify(points) }, svg);
}

/** Milliseconds as a short duration: 850 ms, 12.4 s, 3.2 min, 1.5 h. */
export function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
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
            // five shades (app.css: each with a text colour that keeps its contrast in both themes)
            const level = v === 0 ? 0 : Math.min(5, 1 + Math.floor((5 * v) / (max + 1)));
            return h(
              'td',
              {
                title: `${d} ${x}:00 UTC: ${v} messages, ${c?.active_users ?? 0} active users`,
                class: `l${level}`,
              },
              v === 0 ? '' : v,
            );
          }),
        ),
      ),
    ),
  );
}

// The explore page: the read-only SQL console with a table or chart view.
import { api } from './api.js';
import { barChart, card, empty, fmt, h, table } from './ui.js';

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

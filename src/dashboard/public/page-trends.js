// The trends page: the latest window's trending words and one word's history.
import { api } from './api.js';
import { enc, inTurn } from './page-calls.js';
import { barChart, card, empty, fmt, h, table, time } from './ui.js';

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

// Shell: hash routing (#/<page>?range=1h&refresh=5&...), the global controls, the live feed, errors.
import { liveFeed } from './api.js';
import { PAGES } from './pages.js';
import { h } from './ui.js';

const RANGES = {
  '15m': 15 * 60_000,
  '1h': 3600_000,
  '6h': 6 * 3600_000,
  '24h': 86400_000,
  '7d': 7 * 86400_000,
};
const TITLES = {
  overview: 'Overview',
  conversations: 'Conversations',
  users: 'Users',
  trends: 'Trends',
  alerts: 'Alerts',
  pipeline: 'Pipeline',
  explore: 'Explore',
};
/** Pages that a timer must not re-render (the SQL console keeps what is typed). */
const NO_AUTO_REFRESH = new Set(['explore']);

const main = document.getElementById('main');
const errorBox = document.getElementById('error');
const rangeSel = document.getElementById('range');
const refreshSel = document.getElementById('refresh');
const themeSel = document.getElementById('theme');

let timer;
let silentHash;
let generation = 0;
let liveHandlers = [];
/** The latest tick of the live feed (msgs/s, lag), shared by the pages. */
let lastTick;

function parse() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const page = PAGES[path] ? path : 'overview';
  const q = Object.fromEntries(new URLSearchParams(query));
  return { page, q };
}

function hashFor(page, q) {
  const s = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined && v !== '')).toString();
  return `#/${page}${s ? `?${s}` : ''}`;
}

function showError(e) {
  errorBox.textContent = e ? `Error: ${e.message}` : '';
  errorBox.hidden = !e;
}

async function render(quiet) {
  const { page, q } = parse();
  const range = RANGES[q.range] ? q.range : '1h';
  const refresh = ['5', '30'].includes(q.refresh) ? q.refresh : 'off';
  rangeSel.value = range;
  refreshSel.value = refresh;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
    a.href = hashFor(a.dataset.page, { range: q.range, refresh: q.refresh });
  }
  document.title = `${TITLES[page]} · msgtrack`;
  const to = new Date(Date.now() + 60_000);
  const mine = ++generation;
  const handlers = [];
  const ctx = {
    q,
    from: new Date(to.getTime() - 60_000 - RANGES[range]).toISOString(),
    to: to.toISOString(),
    live: lastTick,
    go: (params, silent) => navigate(page, { ...q, ...params }, silent),
    onLive: (type, fn) => handlers.push({ type, fn }),
  };
  if (!quiet) main.setAttribute('aria-busy', 'true');
  try {
    const node = await PAGES[page](ctx);
    if (mine !== generation) return;
    liveHandlers = handlers;
    main.replaceChildren(h('h2', { class: 'page-title' }, TITLES[page]), node);
    main.dataset.page = page;
    main.dataset.rendered = String(Date.now());
    showError(undefined);
  } catch (e) {
    if (mine === generation) showError(e);
  } finally {
    if (mine === generation) main.removeAttribute('aria-busy');
  }
  clearInterval(timer);
  if (refresh !== 'off' && !NO_AUTO_REFRESH.has(page))
    timer = setInterval(() => void render(true), Number(refresh) * 1000);
}

function navigate(page, q, silent) {
  const next = hashFor(page, q);
  if (silent) {
    silentHash = next;
    history.replaceState(null, '', next);
    return;
  }
  location.hash = next;
}

function setGlobal(key, value) {
  const { page, q } = parse();
  navigate(page, { ...q, [key]: value });
}

const prefersDark = matchMedia('(prefers-color-scheme: dark)');

/** light, dark, or auto (follows the system setting, also when it changes). */
function applyTheme(t) {
  const dark = t === 'dark' || (t === 'auto' && prefersDark.matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  localStorage.setItem('msgtrack.theme', t);
}

const nav = document.getElementById('nav');
for (const [id, title] of Object.entries(TITLES))
  nav.append(h('li', {}, h('a', { href: `#/${id}`, 'data-page': id }, title)));
rangeSel.addEventListener('change', () => setGlobal('range', rangeSel.value));
refreshSel.addEventListener('change', () => setGlobal('refresh', refreshSel.value));
themeSel.value = localStorage.getItem('msgtrack.theme') ?? 'auto';
applyTheme(themeSel.value);
themeSel.addEventListener('change', () => applyTheme(themeSel.value));
prefersDark.addEventListener('change', () => applyTheme(themeSel.value));
// The skip link moves focus to the page's content; following its #main would leave the page (the
// hash is the route).
document.querySelector('.skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', () => {
  if (location.hash === silentHash) return;
  void render(false).then(() => main.focus({ preventScroll: true }));
});

const liveEl = document.getElementById('live');
liveFeed(
  ['alert', 'tick'],
  (type, data) => {
    if (type === 'tick') {
      lastTick = data;
      liveEl.textContent = `live: ${data.messages_in_per_s} msgs/s in, lag ${data.lag}`;
      liveEl.dataset.lag = String(data.lag);
      for (const el of document.querySelectorAll('[data-kpi="rate"]'))
        el.textContent = String(data.messages_in_per_s);
      for (const el of document.querySelectorAll('[data-kpi="lag"]')) el.textContent = String(data.lag);
      for (const el of document.querySelectorAll('[data-kpi="processed"]'))
        el.textContent = String(data.processed_per_s);
    }
    for (const l of liveHandlers) if (l.type === type) l.fn(data);
  },
  (text) => {
    liveEl.textContent = text;
  },
);
void render(false);

import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Headless Chromium from the Debian package (scripts/ci-install-system.sh installs it). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface Watched {
  readonly page: Page;
  /** Console errors and uncaught page errors. */
  readonly errors: string[];
  /** Requests to anything but `origin` (blocked). */
  readonly foreign: string[];
}

/**
 * A page that may reach only `origin`: every other request is aborted and recorded (the dashboard
 * must work with no network), and console errors are collected.
 */
export async function watchedPage(browser: Browser, origin: string): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const foreign: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors, foreign };
}

/** A folder for screenshots (not in the repo); its path is printed by the test. */
export function screenshotDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'msgtrack-dashboard-shots-'));
}

/** Runs in the page (plain JS: the type check has no DOM library). */
const CONTRAST_SCRIPT = readFileSync(new URL('./contrast.js', import.meta.url), 'utf8');

/** A text (or chart mark) whose contrast against what is behind it is below the WCAG AA minimum. */
export interface ContrastProblem {
  readonly theme: string;
  readonly what: string;
  readonly text: string;
  readonly ratio: number;
  readonly needed: number;
}

/**
 * WCAG 2.x contrast of everything visible on the page: each element with text of its own (and form
 * controls, SVG text) against its background — the backgrounds of its ancestors alpha-blended down to
 * the page's — needing 4.5:1, or 3:1 for large text (≥ 24 px, or ≥ 18.66 px bold); chart bars against
 * their card need 3:1 (non-text contrast, 1.4.11). Animations are finished first.
 */
export async function contrastProblems(
  page: Page,
): Promise<{ checked: number; problems: ContrastProblem[] }> {
  return page.evaluate(CONTRAST_SCRIPT) as Promise<{ checked: number; problems: ContrastProblem[] }>;
}

/**
 * Note in the page the wall-clock time (ms) at which a `selector` element, whose cells include one
 * with exactly the text `cell` when given, first appears. Measured by a MutationObserver in the page,
 * so the test's own round trips to the browser (which a loaded machine stretches) do not count.
 * Call before the action (fails if it is shown already); the returned function reads the time (NaN
 * when it never appeared).
 */
export async function noteWhenShown(
  page: Page,
  selector: string,
  cell?: string,
): Promise<() => Promise<number>> {
  const key = `__shown_${Math.random().toString(36).slice(2)}`;
  const args = JSON.stringify({ key, selector, cell: cell ?? null });
  const already = await page.evaluate(`(() => {
    const { key, selector, cell } = ${args};
    const present = () =>
      [...document.querySelectorAll(selector)].some(
        (el) => cell === null || [...el.querySelectorAll('td')].some((td) => td.textContent === cell),
      );
    const note = () => {
      if (window[key] === undefined && present()) window[key] = Date.now();
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    return present();
  })()`);
  if (already === true) throw new Error(`${selector} ${cell ?? ''} is shown before the action`);
  return async () => Number(await page.evaluate(`window[${JSON.stringify(key)}]`));
}

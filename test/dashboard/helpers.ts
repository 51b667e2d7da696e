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

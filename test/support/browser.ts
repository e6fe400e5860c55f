import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import type { RegisteredUser, TestApp } from './test-app';

/** Debian's chromium, driven by playwright-core (see /work/shared/notes/browser-tests.md). */
const CHROMIUM_PATHS = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'];
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Screenshots of the dashboard's pages (git-ignored). */
export const ARTIFACTS = resolve(__dirname, '../artifacts');
export const PASSWORD = 'password-123';
export const UI_TIMEOUT = 15_000;

export function chromiumPath(): string {
  const found = CHROMIUM_PATHS.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `Chromium not found (looked at ${CHROMIUM_PATHS.join(', ')}). The browser tests need Debian's chromium: ` +
        'run `apt-get update && apt-get install -y chromium` (.ci/run installs it in CI).',
    );
  }
  return found;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
}

/** Where the dashboard keeps its token (apps/dashboard/public/api.js), and logIn's own mark. */
const TOKEN_KEY = 'wagw.dashboard.token';
const SEEDED_KEY = 'wagw.test.loggedIn';

let logIns = 0;

/**
 * Opens the dashboard logged in as `user`, its live updates' waits shortened to `live` (QUICK_LIVE
 * unless given; `null`: the page's own). The token is put where the login form puts it (this tab's
 * sessionStorage) before the page's first script runs, once: the form's own flow is tested on its
 * own ("logs in …"), and its password check took 1.5–2 s of each test on a busy machine.
 */
export async function logIn(
  page: Page,
  t: TestApp,
  user: RegisteredUser,
  live: LiveTiming | null = QUICK_LIVE,
): Promise<void> {
  logIns += 1;
  // Each logIn's script runs on the page's next navigation only (a later logIn's wins).
  await page.addInitScript(`(() => {
    if (location.origin !== ${JSON.stringify(new URL(t.url).origin)}) return;
    if (Number(sessionStorage.getItem('${SEEDED_KEY}') ?? 0) >= ${logIns}) return;
    sessionStorage.setItem('${SEEDED_KEY}', '${logIns}');
    sessionStorage.setItem('${TOKEN_KEY}', ${JSON.stringify(user.token)});
  })()`);
  await page.goto(`${t.url}/dashboard`);
  if (live) await shortenLiveWaits(page, live);
  await page.getByRole('heading', { name: 'Sessions', level: 2 }).waitFor({ timeout: UI_TIMEOUT });
}

/** The live updates' waits (apps/dashboard/public/live.js `timing`), in ms. */
export interface LiveTiming {
  minGapMs?: number;
  safetyReloadMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  eventWaitMs?: number;
}

/**
 * Waits the page's live updates (live.js `timing`) shortened to `timing` until it navigates again:
 * a test follows reloads without sleeping through the 2 s gap between them. A safety reload already
 * scheduled keeps its interval; one started after this takes the new one.
 */
export async function shortenLiveWaits(page: Page, timing: LiveTiming): Promise<void> {
  // As a string: vitest would rewrite a dynamic import() in a function it compiled.
  await page.evaluate(
    `import('/dashboard/live.js').then((live) => Object.assign(live.timing, ${JSON.stringify(timing)}))`,
  );
}

/** The waits most browser tests use: reloads 50 ms apart, a failed stream or load retried at once. */
export const QUICK_LIVE: LiveTiming = { minGapMs: 50, retryMinMs: 100, retryMaxMs: 400 };

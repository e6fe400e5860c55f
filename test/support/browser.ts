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

export async function logIn(page: Page, t: TestApp, user: RegisteredUser): Promise<void> {
  await page.goto(`${t.url}/dashboard`);
  await page.getByLabel('Email').fill(user.user.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Sessions', level: 2 }).waitFor({ timeout: UI_TIMEOUT });
}

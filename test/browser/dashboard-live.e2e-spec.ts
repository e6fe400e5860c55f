import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import {
  ARTIFACTS,
  CHROMIUM_ARGS,
  chromiumPath,
  logIn,
  PASSWORD,
  screenshot,
  UI_TIMEOUT,
} from '../support/browser';
import {
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '../support/test-app';

/**
 * The dashboard's messages view as it changes under the admin (inbound messages, receipts), replies
 * to any chat (groups, LIDs), and the toast at phone width; Chromium against the sandbox engine.
 */
interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('Dashboard messages and toasts in Chromium (e2e)', () => {
  let t: TestApp;
  let browser: Browser;
  let owner: RegisteredUser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    const executablePath = chromiumPath();
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await createTestApp();
    owner = await registerUser(t, { organizationName: 'Live Co', password: PASSWORD });
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  afterEach(async () => {
    await context?.close();
  });

  it('at 375 px the toast never covers the QR code of the session just created', async () => {
    context = await browser.newContext({
      viewport: { width: 375, height: 667 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    page = await context.newPage();
    await logIn(page, t, owner);
    await page.getByLabel('Session name').fill('front-desk');
    await page.getByRole('button', { name: 'Create session' }).click();
    const qr = page.getByRole('img', { name: 'QR code to link session front-desk' });
    await qr.waitFor({ timeout: UI_TIMEOUT });
    const toast = page.locator('#toast');
    await toast.getByText('Session front-desk created').waitFor({ timeout: UI_TIMEOUT });
    await screenshot(page, 'mobile-toast-qr');

    // Wherever the admin scrolls the QR code while the toast shows: as the page opened it, then
    // with the code at the bottom of the screen and at its top.
    for (const block of ['nearest', 'end', 'start'] as const) {
      await qr.evaluate((el, b) => el.scrollIntoView({ block: b }), block);
      const [qrBox, toastBox] = [(await qr.boundingBox())!, (await toast.boundingBox())!];
      expect(overlaps(qrBox, toastBox), `toast over the QR code (scrolled to ${block})`).toBe(
        false,
      );
      expect(toastBox.x).toBeGreaterThanOrEqual(0);
      expect(toastBox.x + toastBox.width).toBeLessThanOrEqual(375);
    }
    expect(await toast.textContent()).toBe('Session front-desk created');
  });
});

import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import jsQR from 'jsqr';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import {
  ARTIFACTS,
  CHROMIUM_ARGS,
  chromiumPath,
  logIn,
  PASSWORD,
  QUICK_LIVE,
  screenshot,
  shortenLiveWaits,
  UI_TIMEOUT,
} from '../support/browser';
import {
  createTestApp,
  registerUser,
  TEST_JWT_SECRET,
  type RegisteredUser,
  type TestApp,
} from '../support/test-app';
import { waitFor } from '../support/wait';

/**
 * The admin dashboard in a real browser (Debian's chromium driven by playwright-core) against the
 * real app with the sandbox engine. Screenshots of every page go to test/artifacts/ (git-ignored).
 */
const CUSTOMER = '+201112223334';
/** The 1280 px browser's time zone: UTC+05:30 all year, so a local hour differs from a UTC slice. */
const BROWSER_TIME_ZONE = 'Asia/Kolkata';
/** An hourly bucket's start (an ISO instant) in BROWSER_TIME_ZONE, as HH:MM. */
const kolkataTime = (iso: string) =>
  new Date(Date.parse(iso) + 330 * 60_000).toISOString().slice(11, 16);

/** Decodes a PNG data URL as a QR code and returns its text (undefined when unreadable). */
function decodeQr(dataUrl: string): string | undefined {
  const png = PNG.sync.read(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
}

// Browser-side code is passed as strings: the project's TypeScript lib has no DOM types.
// Against the viewport's width: a mobile browser widens its layout viewport (innerWidth) to fit
// content that overflows, zoomed out.
async function noHorizontalOverflow(page: Page): Promise<boolean> {
  const width = page.viewportSize()!.width;
  return page.evaluate<boolean>(`document.documentElement.scrollWidth <= ${width}`);
}

/** Collects the page's Content-Security-Policy violations (the app sends a same-origin CSP). */
function recordCspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) violations.push(message.text());
  });
  return violations;
}

const storedToken = (page: Page) =>
  page.evaluate<string | null>("sessionStorage.getItem('wagw.dashboard.token')");

/** The same access token, re-signed as expired a minute ago. */
function expiredCopy(token: string): string {
  const [header, payload] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as object;
  const expired = Buffer.from(
    JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }),
  ).toString('base64url');
  const signed = `${header}.${expired}`;
  return `${signed}.${createHmac('sha256', TEST_JWT_SECRET).update(signed).digest('base64url')}`;
}

describe('Admin dashboard in Chromium (e2e)', () => {
  let t: TestApp;
  let browser: Browser;
  let owner: RegisteredUser;

  beforeAll(async () => {
    const executablePath = chromiumPath(); // fails (not skips) every test when chromium is missing
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await createTestApp();
    owner = await registerUser(t, {
      organizationName: 'Dashboard Co',
      name: 'Dana Admin',
      password: PASSWORD,
    });
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const sandbox = (session: string, route: string, body: object) =>
    t
      .http()
      .post(`/api/v1/whatsapp/sandbox/sessions/${session}/${route}`)
      .set(owner.auth)
      .send(body);

  describe('at 1280 px', () => {
    let context: BrowserContext;
    let page: Page;
    let cspViolations: string[];
    const faviconRequests: string[] = [];

    beforeAll(async () => {
      context = await browser.newContext({
        viewport: { width: 1280, height: 900 },
        timezoneId: BROWSER_TIME_ZONE,
      });
      page = await context.newPage();
      cspViolations = recordCspViolations(page);
      page.on('request', (req) => {
        if (new URL(req.url()).pathname.endsWith('/favicon.ico')) faviconRequests.push(req.url());
      });
    });

    afterAll(async () => {
      await context?.close();
    });

    it('logs in (a wrong password is refused) and keeps the token in sessionStorage only', async () => {
      await page.goto(`${t.url}/dashboard`);
      await shortenLiveWaits(page, QUICK_LIVE);
      expect(new URL(page.url()).pathname).toBe('/dashboard/');
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      await screenshot(page, 'login');

      await page.getByLabel('Email').fill(owner.user.email);
      await page.getByLabel('Password').fill('wrong-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByText('Wrong email or password.').waitFor({ timeout: UI_TIMEOUT });

      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page
        .getByRole('heading', { name: 'Sessions', level: 2 })
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#account-name').textContent()).toBe('Dana Admin · Dashboard Co');
      const icon = await page.locator('head link[rel="icon"]').getAttribute('href');
      expect(icon).toMatch(/^data:image\/svg\+xml,/);
      expect(decodeURIComponent(icon!.slice('data:image/svg+xml,'.length))).toContain('<svg');
      expect(await storedToken(page)).toMatch(/^ey/);
      expect(await page.evaluate<number>('localStorage.length')).toBe(0);

      await page.reload();
      await shortenLiveWaits(page, QUICK_LIVE);
      await page
        .getByRole('heading', { name: 'Sessions', level: 2 })
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await page.getByRole('button', { name: 'Log out' }).isVisible()).toBe(true);
    });

    it('creates a session, shows its QR (refreshed on restart), and switches to connected when scanned', async () => {
      await page.getByLabel('Session name').fill('sales-1');
      await page.getByRole('button', { name: 'Create session' }).click();

      const img = page.getByRole('img', { name: 'QR code to link session sales-1' });
      await img.waitFor({ timeout: UI_TIMEOUT });
      const firstQr = (await img.getAttribute('src'))!;
      expect(firstQr).toMatch(/^data:image\/png;base64,/);
      expect(decodeQr(firstQr), 'the QR image must be a readable QR code').toEqual(
        expect.any(String),
      );
      expect(await page.locator('#qr-status').textContent()).toContain('Scan the QR code');
      const row = page.locator('#sessions-table tbody tr[data-session="sales-1"]');
      await row.getByText('Waiting for scan').waitFor({ timeout: UI_TIMEOUT });
      await screenshot(page, 'sessions-qr');

      // A new QR (after a restart, as after a rotation) replaces the image without a reload.
      await page.getByRole('button', { name: 'Restart sales-1' }).click();
      await waitFor(
        async () => {
          const src = await img.getAttribute('src');
          return src !== firstQr && src?.startsWith('data:image/png') && (await img.isVisible());
        },
        UI_TIMEOUT,
        'a new QR image after the restart',
      );

      // The phone scans (sandbox control route); its status event has the page show "connected".
      await waitFor(
        async () => (await sandbox('sales-1', 'scan', { phone: '+201001234567' })).status === 200,
        10_000,
        'scan',
      );
      await page
        .locator('#qr-status')
        .getByText('Connected as +201001234567')
        .waitFor({ timeout: UI_TIMEOUT });
      await row.getByText('Connected', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#qr-figure').isHidden()).toBe(true);
      expect(await row.locator('td').nth(1).textContent()).toBe('+201001234567');
      await screenshot(page, 'sessions-connected');
    });

    it('sends a text message', async () => {
      await page.getByRole('link', { name: 'Messages' }).click();
      await page.getByRole('heading', { name: 'Messages', level: 2 }).waitFor();
      await page.getByLabel('From session').selectOption('sales-1');
      await page.getByLabel('To (phone or JID)').fill(CUSTOMER);
      await page.getByLabel('Message', { exact: true }).fill('Hello from the dashboard');
      // Sent once, however impatient the click (a double click submitted the form twice).
      const sends: string[] = [];
      page.on('request', (r) => {
        if (r.method() === 'POST' && r.url().endsWith('/messages/send')) sends.push(r.url());
      });
      await page.getByRole('button', { name: 'Send', exact: true }).dblclick();
      await page
        .locator('#send-result')
        .getByText('Message queued (status pending).')
        .waitFor({ timeout: UI_TIMEOUT });
      await page
        .locator('#messages-table tbody tr')
        .filter({ hasText: 'Hello from the dashboard' })
        .waitFor({ timeout: UI_TIMEOUT });

      const sent = await waitFor(
        async () => {
          const res = await t
            .http()
            .get('/api/v1/whatsapp/messages')
            .query({ direction: 'out' })
            .set(owner.auth);
          return res.body.items.find(
            (m: { text: string; status: string }) =>
              m.text === 'Hello from the dashboard' && m.status === 'sent',
          );
        },
        10_000,
        'the message to be sent',
      );
      expect(sent.chatJid).toBe('201112223334@s.whatsapp.net');
      expect(sends).toHaveLength(1);
    });

    it('browses messages with filters and paging', async () => {
      for (let i = 1; i <= 25; i += 1) {
        const res = await sandbox('sales-1', 'inbound', {
          from: CUSTOMER,
          pushName: 'Ali',
          text: `Inbound number ${i}`,
        });
        expect(res.status).toBe(202);
      }
      await waitFor(
        async () =>
          (
            await t
              .http()
              .get('/api/v1/whatsapp/messages')
              .query({ direction: 'in' })
              .set(owner.auth)
          ).body.total === 25,
        10_000,
        '25 inbound',
      );

      await page.getByLabel('Direction').selectOption('in');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page
        .locator('#messages-page')
        .getByText('Page 1 of 2 · 25 total')
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#messages-table tbody tr').count()).toBe(20);
      expect(await page.getByRole('button', { name: 'Previous page' }).first().isDisabled()).toBe(
        true,
      );
      await screenshot(page, 'messages');

      await page.getByRole('button', { name: 'Next page' }).first().click();
      await page
        .locator('#messages-page')
        .getByText('Page 2 of 2 · 25 total')
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#messages-table tbody tr').count()).toBe(5);

      // Paging keeps the filters applied, not what is typed in the form meanwhile.
      await page.getByLabel('Text contains').fill('number 17');
      await page.getByRole('button', { name: 'Previous page' }).first().click();
      await page
        .locator('#messages-page')
        .getByText('Page 1 of 2 · 25 total')
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#messages-table tbody tr').count()).toBe(20);

      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page
        .locator('#messages-page')
        .getByText('Page 1 of 1 · 1 total')
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#messages-table tbody').textContent()).toContain(
        'Inbound number 17',
      );

      await page.getByLabel('Text contains').fill('');
      await page.getByLabel('Direction').selectOption('out');
      await page.getByLabel('Status').selectOption('sent');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      // The pager already read "1 total" for the previous filter: wait for the new rows instead.
      await page
        .locator('#messages-table tbody tr', { hasText: 'Hello from the dashboard' })
        .waitFor({ timeout: UI_TIMEOUT });
      await page
        .locator('#messages-page')
        .getByText('Page 1 of 1 · 1 total')
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#messages-table tbody tr').count()).toBe(1);
    });

    it('lists chats with their unread count and marks one read', async () => {
      await page.getByLabel('Direction').selectOption('');
      await page.getByLabel('Status').selectOption('');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      const row = page.locator('#chats-table tbody tr').filter({ hasText: '201112223334' });
      await row
        .locator('td')
        .nth(4)
        .getByText('25', { exact: true })
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await row.locator('td').nth(3).textContent()).toBe('Inbound number 25');
      await screenshot(page, 'chats');

      await row.getByRole('button', { name: 'Mark read' }).click();
      await page
        .locator('#toast')
        .getByText('25 messages marked read')
        .waitFor({ timeout: UI_TIMEOUT });
      await row
        .locator('td')
        .nth(4)
        .getByText('0', { exact: true })
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await row.getByRole('button', { name: 'Mark read' }).isDisabled()).toBe(true);
      const unread = await t
        .http()
        .get('/api/v1/whatsapp/messages')
        .query({ direction: 'in', status: 'delivered' })
        .set(owner.auth);
      expect(unread.body.total).toBe(0);

      await row.getByRole('button', { name: 'Show messages' }).click();
      await page
        .locator('#messages-page')
        .getByText('Page 1 of 2 · 26 total')
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await page.getByLabel('Chat (phone or JID)').inputValue()).toBe(
        '201112223334@s.whatsapp.net',
      );
      await page.getByLabel('Chat (phone or JID)').fill('');
    });

    it("edits a contact's tags and notes", async () => {
      await page.getByRole('link', { name: 'Contacts' }).click();
      await page.getByRole('heading', { name: 'Contacts', level: 2 }).waitFor();
      await page.getByLabel('Search name or phone').fill('20111222');
      await page.getByRole('button', { name: 'Search' }).click();
      const row = page.locator('#contacts-table tbody tr').filter({ hasText: '+201112223334' });
      await row.waitFor({ timeout: UI_TIMEOUT });

      await row.getByRole('button', { name: /^Edit / }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await dialog.getByLabel('Tags (one per line)').fill('VIP\nsupplier');
      await dialog.getByLabel('Notes').fill('Prefers calls after 5pm');
      await screenshot(page, 'contacts-edit');
      await dialog.getByRole('button', { name: 'Save contact' }).click();
      await dialog.waitFor({ state: 'hidden', timeout: UI_TIMEOUT });

      await row.getByText('supplier').waitFor({ timeout: UI_TIMEOUT });
      expect(await row.locator('.tag').allTextContents()).toEqual(['vip', 'supplier']);
      expect(await row.textContent()).toContain('Prefers calls after 5pm');
      const contacts = await t
        .http()
        .get('/api/v1/whatsapp/contacts')
        .query({ tag: 'vip' })
        .set(owner.auth);
      expect(contacts.body.items).toHaveLength(1);
      expect(contacts.body.items[0]).toMatchObject({
        phone: '201112223334',
        tags: ['vip', 'supplier'],
        notes: 'Prefers calls after 5pm',
      });

      await page.getByLabel('Tag', { exact: true }).fill('vip');
      await page.getByLabel('Search name or phone').fill('');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.locator('#contacts-page').getByText('1 total').waitFor({ timeout: UI_TIMEOUT });
      await screenshot(page, 'contacts');
    });

    it('saves a contact unchanged without splitting a tag that holds a comma', async () => {
      const listed = await t
        .http()
        .get('/api/v1/whatsapp/contacts')
        .query({ search: '201112223334' })
        .set(owner.auth);
      const id = listed.body.items[0].id as string;
      await t
        .http()
        .put(`/api/v1/whatsapp/contacts/${id}`)
        .set(owner.auth)
        .send({ tags: ['north,east', 'vip'] })
        .expect(200);
      await page.getByLabel('Tag', { exact: true }).fill('north,east');
      await page.getByRole('button', { name: 'Search' }).click();
      const row = page.locator('#contacts-table tbody tr').filter({ hasText: '+201112223334' });
      await row.getByText('north,east').waitFor({ timeout: UI_TIMEOUT });

      await row.getByRole('button', { name: /^Edit / }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await dialog.getByRole('button', { name: 'Save contact' }).click();
      await dialog.waitFor({ state: 'hidden', timeout: UI_TIMEOUT });
      await page.locator('#toast').getByText('Contact saved').waitFor({ timeout: UI_TIMEOUT });

      const saved = await t.http().get(`/api/v1/whatsapp/contacts/${id}`).set(owner.auth);
      expect(saved.body.tags).toEqual(['north,east', 'vip']);
      expect(await row.locator('.tag').allTextContents()).toEqual(['north,east', 'vip']);
    });

    it("does not overwrite a colleague's edit saved while the dialog was open", async () => {
      const listed = await t
        .http()
        .get('/api/v1/whatsapp/contacts')
        .query({ search: '201112223334' })
        .set(owner.auth);
      const id = listed.body.items[0].id as string;
      const row = page.locator('#contacts-table tbody tr').filter({ hasText: '+201112223334' });
      await row.getByRole('button', { name: /^Edit / }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await dialog.getByLabel('Notes').fill('Mine');
      await t
        .http()
        .put(`/api/v1/whatsapp/contacts/${id}`)
        .set(owner.auth)
        .send({ notes: "A colleague's note" })
        .expect(200);
      await dialog.getByRole('button', { name: 'Save contact' }).click();
      await dialog
        .getByRole('alert')
        .getByText(/changed/)
        .waitFor({ timeout: UI_TIMEOUT });
      const kept = await t.http().get(`/api/v1/whatsapp/contacts/${id}`).set(owner.auth);
      expect(kept.body.notes).toBe("A colleague's note");
      // Saved again from the same dialog, still filled from the older read: refused again.
      const [again] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes(id)),
        dialog.getByRole('button', { name: 'Save contact' }).click(),
      ]);
      expect(again.status()).toBe(409);
      const stillKept = await t.http().get(`/api/v1/whatsapp/contacts/${id}`).set(owner.auth);
      expect(stillKept.body.notes).toBe("A colleague's note");

      // Opened again, the dialog shows the current contact and saves on top of it.
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await row.getByRole('button', { name: /^Edit / }).click();
      await dialog.waitFor();
      expect(await dialog.getByLabel('Notes').inputValue()).toBe("A colleague's note");
      await dialog.getByLabel('Notes').fill("A colleague's note. Mine");
      await dialog.getByRole('button', { name: 'Save contact' }).click();
      await dialog.waitFor({ state: 'hidden', timeout: UI_TIMEOUT });
      const saved = await t.http().get(`/api/v1/whatsapp/contacts/${id}`).set(owner.auth);
      expect(saved.body.notes).toBe("A colleague's note. Mine");
    });

    it('shows stats with a chart of the series', async () => {
      type Stats = { range: { granularity: string }; series: { bucket: string }[] };
      const statsResponse = () =>
        page
          .waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/whatsapp/stats')
          .then(async (r) => (await r.json()) as Stats);
      const rowLabels = () => page.locator('#stats-table tbody th').allTextContents();
      const axisLabels = () => page.locator('#stats-chart svg text.axis').allTextContents();

      const daily = statsResponse();
      await page.getByRole('link', { name: 'Stats' }).click();
      await page.getByRole('heading', { name: 'Statistics', level: 2 }).waitFor();
      const chart = page.getByRole('img', {
        name: /Messages sent and received per day \(UTC days\)/,
      });
      await chart.waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#chart-title').textContent()).toBe('Messages per day (UTC days)');
      // Daily buckets are UTC days: labelled by their UTC date, whatever the browser's zone.
      const days = (await daily).series.map((p) => p.bucket.slice(5, 10));
      expect(days).toHaveLength(7);
      expect(await rowLabels()).toEqual(days);
      expect(await axisLabels()).toEqual(expect.arrayContaining(days.slice(0, 1)));
      expect(await page.locator('#stats-summary').textContent()).toContain('Messages received25');
      expect(await page.locator('#stats-chart svg rect.bar-received').count()).toBe(7);
      const heights = await Promise.all(
        (await page.locator('#stats-chart svg rect.bar-received').all()).map((r) =>
          r.getAttribute('height'),
        ),
      );
      const tallest = Math.max(...heights.map(Number));
      expect(tallest).toBeGreaterThan(100);
      expect(await page.locator('#stats-chart').textContent()).toContain('Received (25)');
      await screenshot(page, 'stats');

      await page.getByLabel('Range').selectOption('1');
      const hourly = statsResponse();
      await page.getByRole('button', { name: 'Show' }).click();
      await page
        .getByRole('img', { name: /per hour \(local time\)/ })
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#stats-chart svg rect.bar-sent').count()).toBe(24);
      expect(await page.locator('#stats-chart').textContent()).toContain('Received (25)');
      expect(await page.locator('#chart-title').textContent()).toBe(
        'Messages per hour (local time)',
      );
      // Hourly buckets in the browser's zone (UTC+05:30): 10:00Z reads 15:30, not 10:00.
      const hours = (await hourly).series.map((p) => kolkataTime(p.bucket));
      expect(hours).toHaveLength(24);
      expect(hours.every((h) => h.endsWith(':30'))).toBe(true);
      expect(await rowLabels()).toEqual(hours);
      const axis = await axisLabels();
      expect(axis).toContain(hours[0]);
      expect(axis.filter((label) => label.includes(':')).every((l) => l.endsWith(':30'))).toBe(
        true,
      );
      expect(await page.locator('#stats-table thead th').first().textContent()).toBe(
        'Hour (local time)',
      );
    });

    it('says why a session is not connected, and deletes it after confirmation', async () => {
      await page.getByRole('link', { name: 'Sessions' }).click();
      await page.getByLabel('Session name').fill('temp');
      await page.getByRole('button', { name: 'Create session' }).click();
      const row = page.locator('#sessions-table tbody tr[data-session="temp"]');
      await row.waitFor({ timeout: UI_TIMEOUT });
      // Linked, then logged out on the phone: the row gives the API's lastError under its status.
      await waitFor(
        async () => (await sandbox('temp', 'scan', { phone: '+201001234568' })).status === 200,
        10_000,
        'scan',
      );
      await sandbox('temp', 'disconnect', { reason: 'loggedOut' }).expect(202);
      const reason = row.locator('.status-cell .status-reason');
      await reason.waitFor({ timeout: UI_TIMEOUT });
      const [status] = (
        await t.http().get('/api/v1/whatsapp/sessions').set(owner.auth)
      ).body.filter((s: { sessionName: string }) => s.sessionName === 'temp');
      expect(await row.locator('.status-cell .badge').textContent()).toBe('Logged out');
      expect(await reason.textContent()).toBe(status.lastError);
      expect(status.lastError).toMatch(/^Logged out/);
      const remove = page.getByRole('button', { name: 'Delete temp' });
      await remove.click();
      expect(await remove.textContent()).toBe('Confirm delete');
      await remove.click();
      await row.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      const sessions = await t.http().get('/api/v1/whatsapp/sessions').set(owner.auth);
      expect(sessions.body.map((s: { sessionName: string }) => s.sessionName)).toEqual(['sales-1']);
    });

    it('logs out', async () => {
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('heading', { name: 'Log in' }).waitFor();
      expect(await storedToken(page)).toBeNull();
      expect(cspViolations).toEqual([]); // nothing the dashboard did was blocked (the data: icon neither)
      expect(faviconRequests).toEqual([]); // the inline icon: no /favicon.ico 404 on each load
    });

    it('Swagger UI renders its operations under the same security headers', async () => {
      const response = await page.goto(`${t.url}/api/docs`);
      expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
      await page.locator('.opblock').first().waitFor({ timeout: UI_TIMEOUT });
      const spec = (await t.http().get('/api/docs-json').expect(200)).body as {
        paths: Record<string, object>;
      };
      const operations = Object.values(spec.paths).flatMap((path) => Object.keys(path)).length;
      expect(await page.locator('.opblock').count()).toBe(operations);
      await screenshot(page, 'swagger-ui');
      expect(cspViolations).toEqual([]);
    });
  });

  it('asks to log in again when the token expires while a page follows the events', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await logIn(page, t, owner);
      const expired = expiredCopy((await storedToken(page))!);
      await page.evaluate(`sessionStorage.setItem('wagw.dashboard.token', '${expired}')`);
      // A session created elsewhere: its event has the page reload the list, with that token.
      await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(owner.auth)
        .send({ sessionName: 'expiry-1' })
        .expect(201);

      await page.getByRole('heading', { name: 'Log in' }).waitFor({ timeout: UI_TIMEOUT });
      expect(await storedToken(page)).toBeNull();
      expect(await page.locator('#alert').textContent()).toBe(
        'Your session expired. Please log in again.',
      );
    } finally {
      await context.close();
      // The organization may have 10 sessions: the phone-sized test creates one more.
      await t.http().delete('/api/v1/whatsapp/sessions/expiry-1').set(owner.auth);
    }
  });

  describe('logged out and error states', () => {
    let context: BrowserContext;
    let page: Page;

    beforeEach(async () => {
      context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      page = await context.newPage();
    });

    afterEach(async () => {
      await context?.close();
    });

    /** A connected session of the owner with one contact (an inbound message from `from`). */
    async function sessionWithContact(name: string, from: string): Promise<void> {
      await t.http().post('/api/v1/whatsapp/sessions').set(owner.auth).send({ sessionName: name });
      await waitFor(
        async () => (await sandbox(name, 'scan', { phone: '+201005550000' })).status === 200,
        10_000,
        'scan',
      );
      expect((await sandbox(name, 'inbound', { from, text: 'Hello' })).status).toBe(202);
    }

    /** A new organization whose owner can log in, with the whatsapp module switched off. */
    async function withoutWhatsApp(organizationName: string): Promise<RegisteredUser> {
      const other = await registerUser(t, { organizationName, password: PASSWORD });
      await t
        .http()
        .put('/api/v1/organizations/me/modules')
        .set(other.auth)
        .send({ modules: ['crm'] })
        .expect(200);
      return other;
    }

    /** Answers the requests of `pattern` as the gateway does while its database is down. */
    async function databaseDown(pattern: string, times?: number): Promise<void> {
      await page.route(
        pattern,
        (route) =>
          route.fulfill({
            status: 503,
            headers: { 'content-type': 'application/json', 'retry-after': '5' },
            body: JSON.stringify({
              statusCode: 503,
              error: 'Service Unavailable',
              code: 'DATABASE_UNAVAILABLE',
              message: 'The database cannot be reached; try again shortly',
              requestId: 'test',
            }),
          }),
        { times },
      );
    }

    it('shows the account bar only while logged in', async () => {
      const account = page.locator('#account');
      await page.goto(`${t.url}/dashboard`);
      await page.getByRole('heading', { name: 'Log in' }).waitFor({ timeout: UI_TIMEOUT });
      expect(await account.isVisible()).toBe(false);

      await logIn(page, t, owner);
      await account.getByText('Dana Admin · Dashboard Co').waitFor({ timeout: UI_TIMEOUT });

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('heading', { name: 'Log in' }).waitFor({ timeout: UI_TIMEOUT });
      expect(await account.isVisible()).toBe(false);
      expect(await page.getByText('Dana Admin · Dashboard Co').isVisible()).toBe(false);
    });

    it('leaves the login form usable when the token expires while the contact dialog is open', async () => {
      await sessionWithContact('dialog-1', '+201007770001');
      await logIn(page, t, owner);
      await page.getByRole('link', { name: 'Contacts' }).click();
      const row = page.locator('#contacts-table tbody tr').filter({ hasText: '+201007770001' });
      await row.getByRole('button', { name: /^Edit / }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      const expired = expiredCopy((await storedToken(page))!);
      await page.evaluate(`sessionStorage.setItem('wagw.dashboard.token', '${expired}')`);
      await dialog.getByLabel('Notes').fill('Unsaved');
      await dialog.getByRole('button', { name: 'Save contact' }).click();
      await page.getByRole('heading', { name: 'Log in' }).waitFor({ timeout: UI_TIMEOUT });

      // The dialog is closed, not left modal (and invisible) over a login form it made inert.
      expect(await page.evaluate<boolean>("document.querySelector('#contact-dialog').open")).toBe(
        false,
      );
      await page.getByLabel('Email').fill(owner.user.email, { timeout: UI_TIMEOUT });
      await page.getByLabel('Password').fill(PASSWORD, { timeout: UI_TIMEOUT });
      await page.getByRole('button', { name: 'Log in' }).click({ timeout: UI_TIMEOUT });
      await page
        .getByRole('heading', { name: 'Contacts', level: 2 })
        .waitFor({ timeout: UI_TIMEOUT });
    });

    it('recovers when the first load of the page failed, and tells why a reload fails', async () => {
      await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(owner.auth)
        .send({ sessionName: 'outage-1' })
        .expect(201);
      await logIn(page, t, owner);
      // Off the page first: a reload the page followed an event with would take the refusal.
      await page.goto('about:blank');
      await databaseDown('**/api/v1/whatsapp/sessions', 1);
      await page.goto(`${t.url}/dashboard/`);
      await shortenLiveWaits(page, QUICK_LIVE);
      await page
        .locator('#alert')
        .getByText('The database cannot be reached; try again shortly')
        .waitFor({ timeout: UI_TIMEOUT });
      // The view's failed load is tried again (after 1, 2, 4 … s) until the gateway answers.
      await page
        .locator('#sessions-table tbody tr[data-session="outage-1"]')
        .waitFor({ timeout: UI_TIMEOUT });
      /** A change of the session, whose event has the page reload the list. */
      const restart = () =>
        t
          .http()
          .post('/api/v1/whatsapp/sessions/outage-1/restart')
          .set(owner.auth)
          .expect((res) => expect(res.status).toBeLessThan(300));

      // A proxy's error page (no JSON) and no answer at all are told in words too.
      await page.route(
        '**/api/v1/whatsapp/sessions',
        (route) =>
          route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>Bad Gateway</h1>' }),
        { times: 1 },
      );
      await restart();
      await page
        .locator('#alert')
        .getByText('The gateway is not answering properly (HTTP 502). Try again shortly.')
        .waitFor({ timeout: UI_TIMEOUT });
      await page.route('**/api/v1/whatsapp/sessions', (route) => route.abort('connectionrefused'), {
        times: 1,
      });
      await restart();
      await page
        .locator('#alert')
        .getByText('The gateway cannot be reached. Check the connection and try again.')
        .waitFor({ timeout: UI_TIMEOUT });
    });

    it('keeps the login when a reload finds the gateway unable to answer', async () => {
      await logIn(page, t, owner);
      const token = await storedToken(page);
      await databaseDown('**/api/v1/auth/me', 1);
      await page.reload();
      await page
        .locator('#alert')
        .getByText('The database cannot be reached; try again shortly')
        .waitFor({ timeout: UI_TIMEOUT });
      await page
        .getByRole('heading', { name: 'Sessions', level: 2 })
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await storedToken(page)).toBe(token);
      // The account bar is filled in by the reload at the event stream's opening.
      await page
        .locator('#account-name')
        .getByText('Dana Admin · Dashboard Co')
        .waitFor({ timeout: UI_TIMEOUT });
    });

    it('drops a history filter on a session that was deleted since', async () => {
      await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(owner.auth)
        .send({ sessionName: 'gone-1' })
        .expect(201);
      await logIn(page, t, owner);
      await page.getByRole('link', { name: 'Messages' }).click();
      await page.locator('#filter-session option[value="gone-1"]').waitFor({ state: 'attached' });
      await page.locator('#filter-session').selectOption('gone-1');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.locator('#messages-page').getByText('0 total').waitFor({ timeout: UI_TIMEOUT });

      await page.getByRole('link', { name: 'Sessions' }).click();
      const remove = page.getByRole('button', { name: 'Delete gone-1' });
      await remove.click();
      await remove.click();
      await page
        .locator('#sessions-table tbody tr[data-session="gone-1"]')
        .waitFor({ state: 'detached', timeout: UI_TIMEOUT });

      const isList = (r: { url(): string }) =>
        ['/api/v1/whatsapp/messages', '/api/v1/whatsapp/chats'].includes(new URL(r.url()).pathname);
      const loads: { url(): string; status(): number }[] = [];
      page.on('response', (r) => {
        if (isList(r)) loads.push(r);
      });
      await page.getByRole('link', { name: 'Messages' }).click();
      await waitFor(async () => loads.length === 2, UI_TIMEOUT, 'chats and messages loaded');
      expect(loads.map((r) => r.status())).toEqual([200, 200]);
      expect(loads.some((r) => r.url().includes('gone-1'))).toBe(false);
      expect(await page.locator('#filter-session').inputValue()).toBe('');
      expect(await page.locator('#alert').isVisible()).toBe(false);
    });

    it('shows a message in the history as WhatsApp does now: edited, or deleted', async () => {
      await sessionWithContact('history-1', '+201007770002');
      const inbound = async (body: object) => {
        const res = await sandbox('history-1', 'inbound', { from: '+201007770003', ...body });
        expect(res.status).toBe(202);
        return res.body.waMessageId as string;
      };
      const edited = await inbound({ text: 'See you at 5' });
      await inbound({ type: 'edit', targetId: edited, editedText: 'See you at 6' });
      const deleted = await inbound({ text: 'My card PIN is 1234' });
      await inbound({ type: 'revoke', targetId: deleted });
      type Message = { id: string; waMessageId: string; editedText?: string; revoked?: boolean };
      const stored = await waitFor(
        async () => {
          const res = await t
            .http()
            .get('/api/v1/whatsapp/messages')
            .query({ chat: '201007770003' })
            .set(owner.auth);
          const items = res.body.items as Message[];
          const byWaId = (id: string) => items.find((m) => m.waMessageId === id);
          return byWaId(edited)?.editedText && byWaId(deleted)?.revoked
            ? { edited: byWaId(edited)!, deleted: byWaId(deleted)! }
            : undefined;
        },
        10_000,
        'the edit and the revoke applied',
      );

      await sessionWithContact('history-2', '+201007770003'); // the same person, another number of ours

      await logIn(page, t, owner);
      await page.getByRole('link', { name: 'Messages' }).click();
      await page.getByLabel('Chat (phone or JID)').fill('201007770003');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      const text = (m: Message) =>
        page.locator(`#messages-table tbody tr[data-id="${m.id}"] .text-cell`);
      await text(stored.edited).getByText('See you at 6').waitFor({ timeout: UI_TIMEOUT });
      expect(await text(stored.deleted).textContent()).toBe('(deleted)');
      expect(await page.locator('#messages-table tbody').textContent()).not.toContain('PIN');

      // A chat is one session's: its messages are those of that session only.
      const chat = page
        .locator('#chats-table tbody tr[data-chat="201007770003@s.whatsapp.net"]')
        .filter({ has: page.getByRole('cell', { name: 'history-2', exact: true }) });
      await chat.getByRole('button', { name: 'Show messages' }).click();
      await page
        .locator('#messages-page')
        .getByText('Page 1 of 1 · 1 total')
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#messages-table tbody td:nth-child(2)').allTextContents()).toEqual(
        ['history-2'],
      );
      expect(await page.locator('#filter-session').inputValue()).toBe('history-2');
    });

    it('shows an error by its message, without the ids its details carry for programs', async () => {
      await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(owner.auth)
        .send({ sessionName: 'dup-1' })
        .expect(201);
      await logIn(page, t, owner);
      await page.getByLabel('Session name').fill('dup-1');
      await page.getByRole('button', { name: 'Create session' }).click();
      await page
        .locator('#alert')
        .getByText('A WhatsApp session named "dup-1" already exists')
        .waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#alert').textContent()).toBe(
        'A WhatsApp session named "dup-1" already exists',
      );

      // A validation error still lists its fields' problems.
      await page.getByRole('link', { name: 'Messages' }).click();
      await page.getByLabel('To (phone or JID)').fill('+201007770008');
      await page.getByLabel('Message', { exact: true }).fill('   '); // the browser's required lets it by
      await page.getByRole('button', { name: 'Send', exact: true }).click();
      await page
        .locator('#alert')
        .getByText(/^Validation failed: text must not be only whitespace/)
        .waitFor({ timeout: UI_TIMEOUT });

      // The gateway takes a send but its answer is lost: sending again does not send it twice.
      await page.route(
        '**/api/v1/whatsapp/messages/send',
        async (route) => {
          await route.fetch();
          await route.abort('connectionreset');
        },
        { times: 1 },
      );
      await page.getByLabel('To (phone or JID)').fill('+201007770009');
      await page.getByLabel('Message', { exact: true }).fill('Sent once');
      await page.getByRole('button', { name: 'Send', exact: true }).click();
      await page
        .locator('#alert')
        .getByText('The gateway cannot be reached. Check the connection and try again.')
        .waitFor({ timeout: UI_TIMEOUT });
      await page.getByRole('button', { name: 'Send', exact: true }).click();
      await page
        .locator('#send-result')
        .getByText('Message queued')
        .waitFor({ timeout: UI_TIMEOUT });
      const sent = await t
        .http()
        .get('/api/v1/whatsapp/messages')
        .query({ search: 'Sent once' })
        .set(owner.auth);
      expect(sent.body.total).toBe(1);
    });

    it('wraps a long unbroken contact name inside its card at phone width', async () => {
      await sessionWithContact('names-1', '+201007770004');
      const name = 'W'.repeat(64); // the longest pushName, with no place to break
      const from = '+201007770005';
      expect(
        (await sandbox('names-1', 'inbound', { from, pushName: name, text: 'Hi' })).status,
      ).toBe(202);
      await page.setViewportSize({ width: 390, height: 844 });
      await logIn(page, t, owner);
      await page.getByRole('link', { name: 'Contacts' }).click();
      await page.getByLabel('Search name or phone').fill('201007770005');
      await page.getByRole('button', { name: 'Search' }).click();
      const cell = page.locator('#contacts-table tbody th').filter({ hasText: name });
      await cell.waitFor({ timeout: UI_TIMEOUT });
      // The card does not widen the table past its region (which then scrolls sideways).
      expect(
        await page.evaluate<boolean>(
          "[...document.querySelectorAll('#contacts-table')].every((t) => t.parentElement.scrollWidth <= t.parentElement.clientWidth)",
        ),
      ).toBe(true);
    });

    it('shows a reload error once while it lasts, not again at every reload', async () => {
      await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(owner.auth)
        .send({ sessionName: 'quiet-1' })
        .expect(201);
      const refused: number[] = [];
      page.on('response', (r) => {
        if (new URL(r.url()).pathname === '/api/v1/whatsapp/sessions' && r.status() === 503)
          refused.push(Date.now());
      });
      await logIn(page, t, owner);
      await databaseDown('**/api/v1/whatsapp/sessions');
      await t
        .http()
        .post('/api/v1/whatsapp/sessions/quiet-1/restart')
        .set(owner.auth)
        .expect((res) => expect(res.status).toBeLessThan(300));
      const alert = page.locator('#alert');
      await alert
        .getByText('The database cannot be reached; try again shortly')
        .waitFor({ timeout: UI_TIMEOUT });
      await page.evaluate(`
        window.alertWrites = 0;
        new MutationObserver((records) => (window.alertWrites += records.length)).observe(
          document.querySelector('#alert'),
          { childList: true, characterData: true, subtree: true },
        );`);
      const seen = refused.length;
      // Two more changes, each a reload (at most one every 2 s), refused alike.
      for (let i = 0; i < 2; i += 1) {
        await t
          .http()
          .post('/api/v1/whatsapp/sessions/quiet-1/restart')
          .set(owner.auth)
          .expect((res) => expect(res.status).toBeLessThan(300));
        await waitFor(async () => refused.length > seen + i, UI_TIMEOUT, 'a refused reload');
      }
      // Not rewritten: a screen reader would announce it again at every reload.
      expect(await page.evaluate<number>('window.alertWrites')).toBe(0);
      await t.http().delete('/api/v1/whatsapp/sessions/quiet-1').set(owner.auth).expect(204);
    });

    it('says how long to wait when logins are throttled', async () => {
      const other = await registerUser(t, { organizationName: 'Locked Co', password: PASSWORD });
      for (let i = 0; i < 10; i += 1) {
        await t
          .http()
          .post('/api/v1/auth/login')
          .send({ email: other.user.email, password: 'wrong-password' })
          .expect(401);
      }
      await page.goto(`${t.url}/dashboard`);
      await page.getByLabel('Email').fill(other.user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page
        .locator('#login-error')
        .getByText('Too many failed attempts. Try again in 15 minutes.')
        .waitFor({ timeout: UI_TIMEOUT });
    });

    it('shows an error of the first load after logging in in the page, not under the login form', async () => {
      const other = await withoutWhatsApp('No WhatsApp Co');
      await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(owner.auth)
        .send({ sessionName: 'shared-1' })
        .expect(201);
      // The owner logs out of a shared browser tab, where the next user logs in.
      await logIn(page, t, owner);
      await page.getByRole('button', { name: 'Show QR code of shared-1' }).click();
      await page
        .getByRole('img', { name: 'QR code to link session shared-1' })
        .waitFor({ timeout: UI_TIMEOUT });
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByLabel('Email').fill(other.user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page
        .locator('#alert')
        .getByText("The 'whatsapp' module is not enabled for this organization")
        .waitFor({ timeout: UI_TIMEOUT });
      // Nothing of the owner's organization is left on the page: their sessions, their QR code.
      expect(await page.locator('#sessions-table tbody tr').count()).toBe(0);
      expect(await page.locator('#qr-panel').isVisible()).toBe(false);

      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('heading', { name: 'Log in' }).waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('#login-error').isVisible()).toBe(false);
    });
  });

  describe('at a phone-sized viewport (390 × 844)', () => {
    const PHONE_SESSION = 'phone1FrontDeskCairoNasrCityMain'; // 32 characters, the longest name

    it('every page fits the screen and the QR flow works', async () => {
      const context = await browser.newContext({
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
      });
      try {
        const page = await context.newPage();
        // The longest names, unbroken: the account bar and the QR panel's title wrap them.
        await t
          .http()
          .patch('/api/v1/organizations/me')
          .set(owner.auth)
          .send({ name: 'D'.repeat(120) })
          .expect(200);
        await page.goto(`${t.url}/dashboard/`);
        await page.getByRole('heading', { name: 'Log in' }).waitFor();
        expect(await noHorizontalOverflow(page)).toBe(true);
        await screenshot(page, 'mobile-login');

        await logIn(page, t, owner);
        await page.getByLabel('Session name').fill(PHONE_SESSION);
        await page.getByRole('button', { name: 'Create session' }).click();
        const img = page.getByRole('img', { name: `QR code to link session ${PHONE_SESSION}` });
        await img.waitFor({ timeout: UI_TIMEOUT });
        const box = (await img.boundingBox())!;
        expect(box.width).toBeGreaterThan(150);
        expect(box.x + box.width).toBeLessThanOrEqual(390);
        expect(await noHorizontalOverflow(page)).toBe(true);
        await screenshot(page, 'mobile-sessions-qr');

        await waitFor(
          async () =>
            (await sandbox(PHONE_SESSION, 'scan', { phone: '+201009998887' })).status === 200,
          10_000,
          'scan',
        );
        await page
          .locator('#qr-status')
          .getByText('Connected as +201009998887')
          .waitFor({ timeout: UI_TIMEOUT });

        // Each view once loaded (its pager or chart drawn): waitForLoadState('networkidle') waited
        // for nothing here (reached when the page first loaded; a view change is no navigation).
        for (const [link, heading, loaded] of [
          ['Messages', 'Messages', '#messages-page:not(:empty)'],
          ['Contacts', 'Contacts', '#contacts-page:not(:empty)'],
          ['Stats', 'Statistics', '#stats-chart svg'],
        ] as const) {
          await page.getByRole('link', { name: link }).click();
          await page.getByRole('heading', { name: heading, level: 2 }).waitFor();
          await page.locator(loaded).waitFor({ timeout: UI_TIMEOUT });
          expect(await noHorizontalOverflow(page), `${link} overflows at 390 px`).toBe(true);
          await screenshot(page, `mobile-${link.toLowerCase()}`);
        }
        expect(await page.locator('#stats-chart svg').boundingBox()).toMatchObject({
          width: expect.any(Number),
        });
        const chartBox = (await page.locator('#stats-chart svg').boundingBox())!;
        expect(chartBox.x + chartBox.width).toBeLessThanOrEqual(390);
      } finally {
        await context.close();
      }
    });
  });
});

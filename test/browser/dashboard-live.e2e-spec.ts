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
import { waitFor } from '../support/wait';

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
const GROUP = '120363021234567890@g.us';
const LID = '123456789012345@lid';
interface Message {
  id: string;
  text?: string;
  chatJid: string;
  sessionName: string;
  direction: string;
  status: string;
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

  const sandbox = (session: string, route: string, body: object) =>
    t
      .http()
      .post(`/api/v1/whatsapp/sandbox/sessions/${session}/${route}`)
      .set(owner.auth)
      .send(body);

  async function connectedSession(name: string, phone: string): Promise<void> {
    await t.http().post('/api/v1/whatsapp/sessions').set(owner.auth).send({ sessionName: name });
    await waitFor(
      async () => (await sandbox(name, 'scan', { phone })).status === 200,
      10_000,
      `${name} scanned`,
    );
  }

  /** The messages of `query` (newest first), once `ready` holds for them. */
  const messagesWhen = (query: object, ready: (items: Message[]) => boolean, what: string) =>
    waitFor(
      async () => {
        const res = await t.http().get('/api/v1/whatsapp/messages').query(query).set(owner.auth);
        const items = res.body.items as Message[];
        return ready(items) && items;
      },
      10_000,
      what,
    );

  async function desktopPage(): Promise<Page> {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    await logIn(page, t, owner);
    await page.getByRole('link', { name: 'Messages' }).click();
    await page.getByRole('heading', { name: 'Messages', level: 2 }).waitFor();
    return page;
  }

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

  it("replies to a group's and a LID's chat from its messages view", async () => {
    await connectedSession('team', '+201005550001');
    expect(
      (await sandbox('team', 'inbound', { from: '+201230000001', chatJid: GROUP, text: 'Hi all' }))
        .status,
    ).toBe(202);
    expect((await sandbox('team', 'inbound', { from: LID, text: 'Hello' })).status).toBe(202);
    await messagesWhen({ sessionName: 'team' }, (items) => items.length === 2, 'both inbound');
    await desktopPage();

    for (const [chat, text] of [
      [GROUP, 'Hi everyone, we open at 9'],
      [LID, 'Hi, how can we help?'],
    ]) {
      const row = page.locator(`#chats-table tbody tr[data-chat="${chat}"]`);
      await row.getByRole('button', { name: 'Show messages' }).click();
      await page.getByLabel(`Reply to ${chat} from team`).fill(text);
      await page.getByRole('button', { name: 'Send reply' }).click();
      await page
        .locator('#reply-result')
        .getByText('Reply queued')
        .waitFor({ timeout: UI_TIMEOUT });
      const [sent] = await messagesWhen(
        { chat, direction: 'out' },
        (items) => items.some((m) => m.text === text),
        `the reply to ${chat}`,
      );
      expect(sent).toMatchObject({ chatJid: chat, sessionName: 'team', text });
      await page
        .locator('#messages-table tbody tr', { hasText: text })
        .waitFor({ timeout: UI_TIMEOUT });
    }
    await screenshot(page, 'reply-lid');
  });

  it('sends to a JID from the send form, and says why a recipient is not one', async () => {
    await desktopPage();
    const sends: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/messages/send')) sends.push(r.url());
    });
    const to = page.getByLabel('To (phone or JID)');
    const error = page.locator('#send-to-error');
    await page.getByLabel('From session').selectOption('team');
    await page.getByLabel('Message', { exact: true }).fill('To the group');

    await to.fill('120363021234567890@gus');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await error.getByText(/^Not a chat JID/).waitFor({ timeout: UI_TIMEOUT });
    expect(await to.getAttribute('aria-invalid')).toBe('true');
    expect(await to.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await to.fill('0100 123 4567'); // a trunk 0, no country code
    await error.getByText(/^Not a phone number: 10–15 digits/).waitFor({ timeout: UI_TIMEOUT });
    await to.fill(GROUP);
    expect(await error.isHidden()).toBe(true);
    expect(await to.getAttribute('aria-invalid')).toBeNull();
    expect(sends).toHaveLength(0);

    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('#send-result').getByText('Message queued').waitFor({ timeout: UI_TIMEOUT });
    await messagesWhen(
      { chat: GROUP, direction: 'out' },
      (items) => items.some((m) => m.text === 'To the group'),
      'the text to the group',
    );
    // A number as people write it goes to that number.
    await to.fill('+20 100 555-0009');
    await page.getByLabel('Message', { exact: true }).fill('To a spaced number');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const [spaced] = await messagesWhen(
      { search: 'To a spaced number' },
      (items) => items.length === 1,
      'the text to the spaced number',
    );
    expect(spaced.chatJid).toBe('201005550009@s.whatsapp.net');
    expect(sends).toHaveLength(2);
  });

  it("refuses in the browser exactly the recipients the API's send refuses", async () => {
    await desktopPage();
    const inputs = [
      '+201001234567',
      '201001234567',
      '+20 100 123 4567',
      '(020) 1001234567',
      '0201001234567',
      '+2010012345',
      '2010012345678901',
      GROUP,
      '120363021234-1234567890@g.us',
      '12345@g.us',
      LID,
      '123456789012345:4@lid',
      'abc@lid',
      '201001234567@s.whatsapp.net',
      '201001234567:12@s.whatsapp.net',
      '0201001234567@s.whatsapp.net',
      'status@broadcast',
      '120363021234567890@newsletter',
      'hello',
    ];
    for (const input of inputs) {
      // As a string: vitest would rewrite a dynamic import() in a function it compiled.
      const browser = await page.evaluate<{ to: string; accepted: boolean }>(`(async () => {
        const { recipientProblem, recipientValue } = await import('/dashboard/recipient.js');
        const to = recipientValue(${JSON.stringify(input)});
        return { to, accepted: recipientProblem(to) === '' };
      })()`);
      // An empty text is refused whatever the recipient: nothing is sent, `to` is judged.
      const res = await t
        .http()
        .post('/api/v1/whatsapp/messages/send')
        .set(owner.auth)
        .send({ sessionName: 'team', to: browser.to, text: '' });
      expect(res.status).toBe(400);
      const apiAccepts = !(res.body.details as Record<string, unknown>).to;
      expect(browser.accepted, `${input} (sent as ${browser.to})`).toBe(apiAccepts);
    }
  });
});

import { mkdirSync } from 'node:fs';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Page,
  type Request,
} from 'playwright-core';
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
  type RegisteredUser,
  type TestApp,
} from '../support/test-app';
import { waitFor } from '../support/wait';
import { EventOutboxService } from '../../apps/api/src/events/event-outbox.service';
import { EventStreamService } from '../../apps/api/src/events/event-stream.service';
import { EventTailService } from '../../apps/api/src/events/event-tail.service';
import type { StoredEvent } from '../../apps/api/src/events/events.types';

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

/** Records the envelope of every event the page's streams deliver in `window.streamEvents`. */
const RECORD_STREAM_EVENTS = `
  window.streamEvents = [];
  const NativeEventSource = window.EventSource;
  window.EventSource = class extends NativeEventSource {
    constructor(url, init) {
      super(url, init);
      this.addEventListener('message', (m) => window.streamEvents.push(JSON.parse(m.data)));
    }
  };`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * A proxy that holds the organization's events back: its streams open, but none of its events
 * comes (other organizations' do). `mockRestore()` lets them through again.
 */
function holdEventsOf(t: TestApp, organizationId: string) {
  const tails = t.app.get(EventTailService);
  const subscribe = tails.subscribe.bind(tails);
  return vi
    .spyOn(tails, 'subscribe')
    .mockImplementation((id, listener) =>
      subscribe(id, id === organizationId ? () => {} : listener),
    );
}

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

  /** Tail subscriptions of the running test (tailWitness), ended after it. */
  const witnesses: (() => void)[] = [];

  afterEach(async () => {
    for (const stop of witnesses.splice(0)) stop();
    await context?.close();
  });

  /**
   * Watches the organization's event tail from now on: `passed` resolves once an event `matching`
   * went by, so a stream the page opens after that never gets it.
   */
  async function tailWitness(user: RegisteredUser) {
    const seen: StoredEvent[] = [];
    const { unsubscribe } = await t.app
      .get(EventTailService)
      .subscribe(user.organization.id, (events) => seen.push(...events));
    witnesses.push(unsubscribe);
    return {
      passed: (what: string, matching: (event: StoredEvent) => boolean) =>
        waitFor(async () => seen.some(matching), 10_000, what),
    };
  }

  /** The query (types, sessionName) of each event stream the page opens from now on. */
  function streamsOpened(): URLSearchParams[] {
    const streams: URLSearchParams[] = [];
    page.on('response', (r) => {
      const url = new URL(r.url());
      if (url.pathname === '/api/v1/events' && r.status() === 200) streams.push(url.searchParams);
    });
    return streams;
  }

  const messageRow = (text: string) => page.locator('#messages-table tbody tr', { hasText: text });

  const sandbox = (session: string, route: string, body: object, user = owner) =>
    t
      .http()
      .post(`/api/v1/whatsapp/sandbox/sessions/${session}/${route}`)
      .set(user.auth)
      .send(body);

  async function connectedSession(name: string, phone: string, user = owner): Promise<void> {
    await t.http().post('/api/v1/whatsapp/sessions').set(user.auth).send({ sessionName: name });
    await waitFor(
      async () => (await sandbox(name, 'scan', { phone }, user)).status === 200,
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
    await connectedSession('desk', '+201005550004');
    await desktopPage();
    const sends: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/messages/send')) sends.push(r.url());
    });
    const to = page.getByLabel('To (phone or JID)');
    const error = page.locator('#send-to-error');
    await page.getByLabel('From session').selectOption('desk');
    await page.getByLabel('Message', { exact: true }).fill('To the group');

    await to.fill('120363021234567890@gus');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await error.getByText(/^Not a chat JID/).waitFor({ timeout: UI_TIMEOUT });
    expect(await to.getAttribute('aria-invalid')).toBe('true');
    expect(await to.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    // Sent with Enter from the field itself (focus does not move): the problem is announced.
    await to.fill('0100 123 4567'); // a trunk 0, no country code
    await to.press('Enter');
    await page
      .getByRole('status')
      .getByText(/^Not a phone number: 10–15 digits/)
      .waitFor({ timeout: UI_TIMEOUT });
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

  /** The page's open event streams, as the gateway counts them. */
  const openStreams = () => t.app.get(EventStreamService).connections;

  /** Tells the page its tab was hidden or shown again, as the browser does on switching tabs. */
  const setTabHidden = (hidden: boolean) =>
    page.evaluate(`
      Object.defineProperty(document, 'hidden', { value: ${hidden}, configurable: true });
      Object.defineProperty(document, 'visibilityState', {
        value: '${hidden ? 'hidden' : 'visible'}',
        configurable: true,
      });
      document.dispatchEvent(new Event('visibilitychange'));`);

  it("shows new messages and receipts as they come, keeping the reader's place and a half-typed reply", async () => {
    const customer = '+201007771001';
    const chat = '201007771001@s.whatsapp.net';
    await connectedSession('live', '+201005550002');
    for (let i = 1; i <= 30; i += 1)
      expect(
        (await sandbox('live', 'inbound', { from: customer, text: `Earlier ${i}` })).status,
      ).toBe(202);
    const sent = await t
      .http()
      .post('/api/v1/whatsapp/messages/send')
      .set(owner.auth)
      .send({ sessionName: 'live', to: customer, text: 'Our offer' })
      .expect(202);
    await messagesWhen(
      { chat, direction: 'out', status: 'sent' },
      (items) => items.length === 1,
      'the offer sent',
    );
    await desktopPage();
    // 50 a page: rows below the one watched, so the page can scroll on to hold it in place.
    await page.getByLabel('Per page').selectOption('50');
    await page
      .locator(`#chats-table tbody tr[data-chat="${chat}"]`)
      .getByRole('button', { name: 'Show messages' })
      .click();
    await page.locator('#messages-page').getByText('31 total').waitFor({ timeout: UI_TIMEOUT });
    // The history of one session, and the organization's session events for the drop-downs.
    await waitFor(async () => openStreams() === 2, UI_TIMEOUT, 'the page to follow the events');
    const reply = page.getByLabel(`Reply to 201007771001 from live`);
    await reply.fill('Thanks, we will call you at');
    // The reader looks at a row halfway down the page, the reply box out of sight.
    const watched = page.locator('#messages-table tbody tr', { hasText: 'Earlier 20' });
    await watched.evaluate((row) => {
      row.scrollIntoView({ block: 'center' });
      row.dataset.watched = 'yes'; // gone if the row were drawn anew
      row.ownerDocument.documentElement.dataset.loadedOnce = 'yes'; // gone after a reload
    });
    const before = (await watched.boundingBox())!;
    expect(await page.evaluate<number>('window.scrollY')).toBeGreaterThan(0);

    expect(
      (await sandbox('live', 'inbound', { from: customer, text: 'Are you there?' })).status,
    ).toBe(202);
    await sandbox('live', 'receipts', { messageId: sent.body.id, status: 'delivered' }).expect(202);
    const offer = page.locator(`#messages-table tbody tr[data-id="${sent.body.id}"]`);
    await offer.locator('.badge').getByText('delivered').waitFor({ timeout: UI_TIMEOUT });
    await sandbox('live', 'receipts', { messageId: sent.body.id, status: 'read' }).expect(202);
    await offer.locator('.badge').getByText('read').waitFor({ timeout: UI_TIMEOUT });
    await page
      .locator('#messages-table tbody tr', { hasText: 'Are you there?' })
      .waitFor({ timeout: UI_TIMEOUT });
    await page.locator('#messages-page').getByText('32 total').waitFor({ timeout: UI_TIMEOUT });
    const chatRow = page.locator(`#chats-table tbody tr[data-chat="${chat}"]`);
    expect(await chatRow.locator('td').nth(3).textContent()).toBe('Are you there?');

    expect(await page.evaluate<string>('document.documentElement.dataset.loadedOnce')).toBe('yes');
    expect(await reply.inputValue()).toBe('Thanks, we will call you at');
    expect(await reply.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    // The same row, where it was on the screen (a row came in above it).
    expect(await watched.getAttribute('data-watched')).toBe('yes');
    const after = (await watched.boundingBox())!;
    expect(Math.abs(after.y - before.y)).toBeLessThanOrEqual(1);

    // The same with nothing focused.
    await reply.blur();
    const lastBefore = (await watched.boundingBox())!;
    expect((await sandbox('live', 'inbound', { from: customer, text: 'Hello?' })).status).toBe(202);
    await page
      .locator('#messages-table tbody tr', { hasText: 'Hello?' })
      .waitFor({ timeout: UI_TIMEOUT });
    const lastAfter = (await watched.boundingBox())!;
    expect(Math.abs(lastAfter.y - lastBefore.y)).toBeLessThanOrEqual(1);
  });

  it('follows only while the Messages view shows in a visible tab, one load at a time on a slow API', async () => {
    const customer = '+201007771002';
    await connectedSession('follow', '+201005550003');
    await desktopPage();
    await waitFor(async () => openStreams() === 1, UI_TIMEOUT, 'the page to follow the events');
    const loads: number[] = [];
    const inFlight = new Set<Request>();
    let mostInFlight = 0;
    page.on('request', (r) => {
      if (r.method() !== 'GET' || new URL(r.url()).pathname !== '/api/v1/whatsapp/messages') return;
      loads.push(Date.now());
      inFlight.add(r);
      mostInFlight = Math.max(mostInFlight, inFlight.size);
    });
    page.on('requestfinished', (r) => inFlight.delete(r));
    page.on('requestfailed', (r) => inFlight.delete(r));

    // Hidden: no stream, no loads; the messages that came meanwhile show once it is visible again.
    await setTabHidden(true);
    await waitFor(async () => openStreams() === 0, UI_TIMEOUT, 'the stream to close');
    loads.length = 0; // a load the stream's opening asked for may have started just before
    expect(
      (await sandbox('follow', 'inbound', { from: customer, text: 'While away' })).status,
    ).toBe(202);
    await sleep(500); // ten times the gap between reloads this page waits (logIn's QUICK_LIVE)
    expect(loads).toEqual([]);
    await setTabHidden(false);
    await page
      .locator('#messages-table tbody tr', { hasText: 'While away' })
      .waitFor({ timeout: UI_TIMEOUT });

    // An API slower than the events: a burst costs one load at a time, not one per event. The
    // page's 2 s, 3 s and 1.5 s halved: reloads 1 s apart, ten messages over 1.5 s, loads of 0.75 s.
    await waitFor(async () => inFlight.size === 0, UI_TIMEOUT, 'the loads to end');
    mostInFlight = 0;
    await shortenLiveWaits(page, { minGapMs: 1000 });
    await page.route('**/api/v1/whatsapp/messages?*', async (route) => {
      await sleep(750);
      await route.continue();
    });
    loads.length = 0;
    for (let i = 1; i <= 10; i += 1) {
      expect(
        (await sandbox('follow', 'inbound', { from: customer, text: `Burst ${i}` })).status,
      ).toBe(202);
      await sleep(150);
    }
    await page
      .locator('#messages-table tbody tr', { hasText: 'Burst 10' })
      .waitFor({ timeout: UI_TIMEOUT });
    expect(mostInFlight).toBe(1);
    expect(loads.length).toBeLessThanOrEqual(4);

    // The gateway cuts the stream (a restart, a proxy's timeout): the page opens another, with a
    // fresh token (the one it opened with is valid for 60 s only), and shows what came meanwhile.
    const tokens: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/v1/events/token') tokens.push(r.url());
    });
    t.app.get(EventStreamService).beforeApplicationShutdown();
    expect(openStreams()).toBe(0);
    expect(
      (await sandbox('follow', 'inbound', { from: customer, text: 'After the cut' })).status,
    ).toBe(202);
    await waitFor(async () => openStreams() === 1, UI_TIMEOUT, 'the stream opened again');
    expect(tokens).toHaveLength(1);
    await page
      .locator('#messages-table tbody tr', { hasText: 'After the cut' })
      .waitFor({ timeout: UI_TIMEOUT });

    // Another view's stream replaces it; logging out ends the stream.
    const streams = streamsOpened();
    await page.getByRole('link', { name: 'Stats' }).click();
    await waitFor(
      async () => streams.length === 1 && openStreams() === 1,
      UI_TIMEOUT,
      "the stats view's stream instead",
    );
    expect(streams[0].get('types')).toContain('contact.updated');
    await page.getByRole('link', { name: 'Messages' }).click();
    await waitFor(
      async () => streams.length === 2 && openStreams() === 1,
      UI_TIMEOUT,
      'the stream again',
    );
    await page.getByRole('button', { name: 'Log out' }).click();
    await waitFor(async () => openStreams() === 0, UI_TIMEOUT, 'the stream to close');
  });

  /** GETs of `pathname` the page makes from now on, with when each started. */
  function loadsOf(pathname: string): number[] {
    const loads: number[] = [];
    page.on('request', (r) => {
      if (r.method() === 'GET' && new URL(r.url()).pathname === pathname) loads.push(Date.now());
    });
    return loads;
  }

  it('follows sessions and their QR codes through the event stream, asking nothing while nothing changes', async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.clock.install();
    page = await context.newPage();
    const loads = loadsOf('/api/v1/whatsapp/sessions');
    await logIn(page, t, owner);
    await waitFor(async () => openStreams() === 1, UI_TIMEOUT, 'the sessions view to follow');
    await waitFor(async () => loads.length === 1, UI_TIMEOUT, "the load at the stream's opening");
    loads.length = 0;
    // Nothing changes: nothing is asked (it polled every 2 s) over 25 s of the page's time.
    await page.clock.runFor(25_000);
    await sleep(300);
    expect(loads).toEqual([]);

    // Created elsewhere (the API, another admin): shown, and its QR code while it waits.
    await t.http().post('/api/v1/whatsapp/sessions').set(owner.auth).send({ sessionName: 'lobby' });
    const row = page.locator('#sessions-table tbody tr[data-session="lobby"]');
    await row.getByText('Waiting for scan').waitFor({ timeout: UI_TIMEOUT });
    await page.getByRole('button', { name: 'Show QR code of lobby' }).click();
    const img = page.getByRole('img', { name: 'QR code to link session lobby' });
    await img.waitFor({ timeout: UI_TIMEOUT });
    const firstQr = await img.getAttribute('src');
    // A new QR code (a restart elsewhere, as a rotation) replaces the one shown.
    await t
      .http()
      .post('/api/v1/whatsapp/sessions/lobby/restart')
      .set(owner.auth)
      .expect((res) => expect(res.status).toBeLessThan(300));
    await waitFor(
      async () => {
        const src = await img.getAttribute('src');
        return src !== firstQr && src?.startsWith('data:image/png') && (await img.isVisible());
      },
      UI_TIMEOUT,
      'the new QR code',
    );
    await waitFor(
      async () => (await sandbox('lobby', 'scan', { phone: '+201005550006' })).status === 200,
      10_000,
      'lobby scanned',
    );
    await page
      .locator('#qr-status')
      .getByText('Connected as +201005550006')
      .waitFor({ timeout: UI_TIMEOUT });
    await row.getByText('Connected', { exact: true }).waitFor({ timeout: UI_TIMEOUT });

    // Hidden: no stream, nothing asked; shown again, what changed meanwhile shows.
    await setTabHidden(true);
    await waitFor(async () => openStreams() === 0, UI_TIMEOUT, 'the stream to close');
    loads.length = 0;
    await sandbox('lobby', 'disconnect', { reason: 'loggedOut' }).expect(202);
    await page.clock.runFor(25_000);
    await sleep(300);
    expect(loads).toEqual([]);
    await setTabHidden(false);
    await row.getByText('Logged out', { exact: true }).waitFor({ timeout: UI_TIMEOUT });
    await waitFor(async () => openStreams() === 1, UI_TIMEOUT, 'the stream again');
  });

  it("shows contacts as WhatsApp reports them, keeping a half-typed note and the reader's place", async () => {
    await connectedSession('book', '+201005550005');
    const pushContact = (phone: string, name: string) =>
      sandbox('book', 'contacts', { phone, name }).expect(202);
    for (let i = 1; i <= 3; i += 1) await pushContact(`+20100888000${i}`, `Client ${i}`);
    await waitFor(
      async () =>
        (
          await t
            .http()
            .get('/api/v1/whatsapp/contacts')
            .query({ sessionName: 'book' })
            .set(owner.auth)
        ).body.total === 3,
      10_000,
      'three contacts',
    );
    await desktopPage();
    await page.getByRole('link', { name: 'Contacts' }).click();
    await page.locator('#contact-session option[value="book"]').waitFor({ state: 'attached' });
    await page.locator('#contact-session').selectOption('book');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#contacts-page').getByText('3 total').waitFor({ timeout: UI_TIMEOUT });
    // The contacts of one session, and the organization's session events for the drop-downs.
    await waitFor(async () => openStreams() === 2, UI_TIMEOUT, 'the contacts view to follow');
    const rowOf = (name: string) => page.locator('#contacts-table tbody tr', { hasText: name });
    await rowOf('Client 1').evaluate((row) => (row.dataset.watched = 'yes')); // gone if drawn anew

    // Typing a note while WhatsApp reports a new contact and renames another.
    await page.getByRole('button', { name: 'Edit Client 1' }).click();
    const notes = page.getByRole('dialog').getByLabel('Notes');
    await notes.fill('Called on Monday, wants');
    await pushContact('+201008880004', 'Client 4');
    await pushContact('+201008880002', 'Client 2 (supplier)');
    await rowOf('Client 4').waitFor({ state: 'attached', timeout: UI_TIMEOUT });
    await rowOf('Client 2 (supplier)').waitFor({ state: 'attached', timeout: UI_TIMEOUT });
    expect(await notes.inputValue()).toBe('Called on Monday, wants');
    expect(await notes.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    expect(await page.getByRole('dialog').isVisible()).toBe(true);

    // Back on the list, focus on the Edit button it came from: the next change leaves it there.
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    const edit = page.getByRole('button', { name: 'Edit Client 1' });
    expect(await edit.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    await pushContact('+201008880005', 'Client 5');
    await page.locator('#contacts-page').getByText('5 total').waitFor({ timeout: UI_TIMEOUT });
    expect(await edit.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    expect(await rowOf('Client 1').getAttribute('data-watched')).toBe('yes');

    await page.getByRole('button', { name: 'Log out' }).click();
    await waitFor(async () => openStreams() === 0, UI_TIMEOUT, 'the stream to close');
  });
  async function freshPage(): Promise<Page> {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    return page;
  }

  it('loads a view once per visit, when its stream is open: a message that came meanwhile shows', async () => {
    const org = await registerUser(t, { organizationName: 'Visits Co', password: PASSWORD });
    await connectedSession('visits', '+201005550011', org);
    const witness = await tailWitness(org);
    await freshPage();
    const streams = streamsOpened();
    await logIn(page, t, org);
    await waitFor(async () => streams.length === 1, UI_TIMEOUT, 'the sessions view to follow');
    const contacts = loadsOf('/api/v1/whatsapp/contacts');
    const messages = loadsOf('/api/v1/whatsapp/messages');
    const chats = loadsOf('/api/v1/whatsapp/chats');

    await page.getByRole('link', { name: 'Contacts' }).click();
    await waitFor(async () => streams.length === 2, UI_TIMEOUT, 'the contacts view to follow');
    await page.locator('#contacts-page').getByText('0 total').waitFor({ timeout: UI_TIMEOUT });
    await sandbox('visits', 'contacts', { phone: '+201008881011', name: 'New client' }, org).expect(
      202,
    );
    await page
      .locator('#contacts-table tbody tr', { hasText: 'New client' })
      .waitFor({ timeout: UI_TIMEOUT });
    expect(contacts).toHaveLength(2); // the visit's, and the one after the contact's event

    // The Messages view's stream opens late: a message comes in before, its event gone by then.
    await page.route(
      '**/api/v1/events/token',
      async (route) => {
        const res = await sandbox(
          'visits',
          'inbound',
          { from: '+201007771011', text: 'Before the stream' },
          org,
        );
        expect(res.status).toBe(202);
        await witness.passed('its event', (e) => e.type === 'message.received');
        await route.continue();
      },
      { times: 1 },
    );
    await page.getByRole('link', { name: 'Messages' }).click();
    await messageRow('Before the stream').waitFor({ timeout: UI_TIMEOUT });
    await waitFor(async () => streams.length === 3, UI_TIMEOUT, 'the messages view to follow');
    expect(
      (await sandbox('visits', 'inbound', { from: '+201007771011', text: 'After it' }, org)).status,
    ).toBe(202);
    await messageRow('After it').waitFor({ timeout: UI_TIMEOUT });
    expect(messages).toHaveLength(2);
    expect(chats).toHaveLength(2);
  });

  it("follows only its session's events while a view shows one session", async () => {
    const org = await registerUser(t, { organizationName: 'Busy Co', password: PASSWORD });
    await connectedSession('mine', '+201005550012', org);
    await connectedSession('theirs', '+201005550013', org);
    const theirs = (text: string) =>
      sandbox('theirs', 'inbound', { from: '+201007771013', text }, org).expect(202);
    await theirs('Earlier, theirs');
    const witness = await tailWitness(org);
    await freshPage();
    await context.addInitScript(RECORD_STREAM_EVENTS);
    const streams = streamsOpened();
    await logIn(page, t, org);
    await page.getByRole('link', { name: 'Messages' }).click();
    await messageRow('Earlier, theirs').waitFor({ timeout: UI_TIMEOUT });

    const messages = loadsOf('/api/v1/whatsapp/messages');
    await page.locator('#filter-session').selectOption('mine');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('#messages-page').getByText('0 total').waitFor({ timeout: UI_TIMEOUT });
    await waitFor(
      async () => streams.some((s) => s.get('sessionName') === 'mine'),
      UI_TIMEOUT,
      'a stream of the events of mine',
    );
    await page.evaluate('window.streamEvents.length = 0');
    await theirs('Busy 1');
    await theirs('Busy 2');
    await witness.passed("theirs' messages", (e) => e.data.text === 'Busy 2');
    expect(
      (await sandbox('mine', 'inbound', { from: '+201007771012', text: 'For us' }, org)).status,
    ).toBe(202);
    await messageRow('For us').waitFor({ timeout: UI_TIMEOUT });
    const received = await page.evaluate<StoredEvent[]>('window.streamEvents');
    expect(received.map((e) => [e.sessionName, e.type])).toEqual([['mine', 'message.received']]);
    expect(messages).toHaveLength(2); // the filter's, at its stream's opening; the one for "For us"
  });

  it('keeps the figures current in the Stats view, one load at a time with a gap between, and fills in the account bar', async () => {
    const org = await registerUser(t, { organizationName: 'Figures Co', password: PASSWORD });
    await connectedSession('figures', '+201005550014', org);
    const inbound = (text: string) =>
      sandbox('figures', 'inbound', { from: '+201007771014', text }, org).expect(202);
    await freshPage();
    const streams = streamsOpened();
    await logIn(page, t, org);
    await page.getByRole('link', { name: 'Stats' }).click();
    const received = (n: number) =>
      page
        .locator('#stats-summary div', { hasText: 'Messages received' })
        .locator('dd')
        .getByText(String(n), { exact: true });
    await received(0).waitFor({ timeout: UI_TIMEOUT });
    await waitFor(
      async () => streams.at(-1)?.get('types')?.split(',').includes('message.received'),
      UI_TIMEOUT,
      'the stats view to follow',
    );
    await inbound('Counted');
    await received(1).waitFor({ timeout: UI_TIMEOUT });

    // A burst on a slow API: one load at a time, each the gap after the one before.
    await shortenLiveWaits(page, { minGapMs: 800 });
    const loads = loadsOf('/api/v1/whatsapp/stats');
    const inFlight = new Set<Request>();
    let mostInFlight = 0;
    page.on('request', (r) => {
      if (new URL(r.url()).pathname !== '/api/v1/whatsapp/stats') return;
      inFlight.add(r);
      mostInFlight = Math.max(mostInFlight, inFlight.size);
    });
    page.on('requestfinished', (r) => inFlight.delete(r));
    await page.route('**/api/v1/whatsapp/stats?*', async (route) => {
      await sleep(100);
      await route.continue();
    });
    // Eight messages over 2 s or more: events keep coming while a load waits or runs.
    for (let i = 1; i <= 8; i += 1) {
      await inbound(`Burst ${i}`);
      await sleep(200);
    }
    await received(9).waitFor({ timeout: UI_TIMEOUT });
    expect(mostInFlight).toBe(1);
    expect(loads.length).toBeGreaterThan(1);
    for (let i = 1; i < loads.length; i += 1)
      expect(loads[i] - loads[i - 1]).toBeGreaterThanOrEqual(650); // as seen from here
    await page.unroute('**/api/v1/whatsapp/stats?*');

    // The account bar cannot load with the page: the figures load all the same, and the bar is
    // filled in once the gateway answers.
    let meRefused = 0;
    await page.route('**/api/v1/auth/me', (route) => {
      meRefused += 1;
      return route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({
          statusCode: 503,
          error: 'Service Unavailable',
          message: 'The database cannot be reached; try again shortly',
          requestId: 'test',
        }),
      });
    });
    await page.reload();
    await shortenLiveWaits(page, QUICK_LIVE);
    await page
      .locator('#alert')
      .getByText('The database cannot be reached; try again shortly')
      .waitFor({ timeout: UI_TIMEOUT });
    await received(9).waitFor({ timeout: UI_TIMEOUT });
    await waitFor(async () => meRefused >= 3, UI_TIMEOUT, 'the account bar tried again');
    expect(await page.locator('#account-name').textContent()).toBe('');
    await page.unroute('**/api/v1/auth/me');
    await page
      .locator('#account-name')
      .getByText('Owner · Figures Co')
      .waitFor({ timeout: UI_TIMEOUT });
  });

  it('reloads every 30 s anyway, for a change whose event never came', async () => {
    const org = await registerUser(t, { organizationName: 'Held Co', password: PASSWORD });
    await connectedSession('held', '+201005550015', org);
    const witness = await tailWitness(org);
    await freshPage();
    await context.clock.install();
    const streams = streamsOpened();
    await logIn(page, t, org);
    // Counted before leaving: a stream still opening when the view is left is never counted.
    await waitFor(async () => streams.length === 1, UI_TIMEOUT, 'the sessions view to follow');
    // A proxy holds the stream back: the next one opens, but no event of the organization comes.
    const held = holdEventsOf(t, org.organization.id);
    try {
      await page.getByRole('link', { name: 'Messages' }).click();
      await page.locator('#messages-page').getByText('0 total').waitFor({ timeout: UI_TIMEOUT });
      await waitFor(async () => streams.length === 2, UI_TIMEOUT, 'the messages view to follow');
      const loads = loadsOf('/api/v1/whatsapp/messages');
      expect(
        (await sandbox('held', 'inbound', { from: '+201007771015', text: 'Held back' }, org))
          .status,
      ).toBe(202);
      await witness.passed('its event', (e) => e.data.text === 'Held back');
      // 25 s of the page's time in a moment: no event came, and the page does not poll.
      await page.clock.runFor(25_000);
      await sleep(300);
      expect(loads).toEqual([]);
      await page.clock.runFor(5_000);
      await messageRow('Held back').waitFor({ timeout: UI_TIMEOUT });
      expect(loads).toHaveLength(1);
    } finally {
      held.mockRestore();
    }
  });
  let marks = 0;
  /**
   * Waits until every request the page sent so far was seen here: the page sends one more after
   * them, and requests are reported in the order sent (no sleep guessing how long they take).
   */
  async function requestsSeen(): Promise<void> {
    const mark = `/health?seen=${(marks += 1)}`;
    let seen = false;
    const onRequest = (r: Request) => {
      if (r.url().endsWith(mark)) seen = true;
    };
    page.on('request', onRequest);
    try {
      await page.evaluate(`fetch(${JSON.stringify(mark)}).then(() => undefined)`);
      await waitFor(async () => seen, UI_TIMEOUT, "the page's requests");
    } finally {
      page.off('request', onRequest);
    }
  }

  it('marks a chat read with one load of the chats and the history: at its event, before or after the answer, or without it', async () => {
    const org = await registerUser(t, { organizationName: 'Reads Co', password: PASSWORD });
    await connectedSession('reads', '+201005550016', org);
    const [first, second, third] = ['201007771016', '201007771017', '201007771018'];
    for (const phone of [first, second, third])
      await sandbox('reads', 'inbound', { from: `+${phone}`, text: `Unread ${phone}` }, org).expect(
        202,
      );
    await waitFor(
      async () => {
        const res = await t.http().get('/api/v1/whatsapp/chats').set(org.auth);
        return (
          res.body.items.filter((c: { unreadCount: number }) => c.unreadCount === 1).length === 3
        );
      },
      10_000,
      'three unread chats',
    );
    await freshPage();
    await context.clock.install();
    await context.addInitScript(RECORD_STREAM_EVENTS);
    const streams = streamsOpened();
    // No safety reload during the test: every load counted is one a mark caused.
    await logIn(page, t, org, { ...QUICK_LIVE, safetyReloadMs: 600_000 });
    await waitFor(async () => streams.length === 1, UI_TIMEOUT, 'the sessions view to follow');
    await page.getByRole('link', { name: 'Messages' }).click();
    await waitFor(async () => streams.length === 2, UI_TIMEOUT, 'the messages view to follow');
    const chatOf = (phone: string) =>
      page.locator(`#chats-table tbody tr[data-chat="${phone}@s.whatsapp.net"]`);
    const unread = (phone: string, n: number) =>
      chatOf(phone).locator('td').nth(4).getByText(String(n), { exact: true });
    const shownRead = async (phone: string) => {
      await unread(phone, 0).waitFor({ timeout: UI_TIMEOUT });
      await messageRow(`Unread ${phone}`)
        .locator('.badge')
        .getByText('read', { exact: true })
        .waitFor({ timeout: UI_TIMEOUT });
    };
    for (const phone of [first, second, third])
      await unread(phone, 1).waitFor({ timeout: UI_TIMEOUT });
    const chats = loadsOf('/api/v1/whatsapp/chats');
    const messages = loadsOf('/api/v1/whatsapp/messages');
    /** The loads of chats and history since the last call, once no wait can still ask for one. */
    const loadsSince = async () => {
      await page.clock.runFor(5_000); // past the page's wait for the event and the gap after a load
      await requestsSeen();
      return [chats.splice(0).length, messages.splice(0).length];
    };
    const markRead = (phone: string) =>
      chatOf(phone).getByRole('button', { name: 'Mark read' }).click();

    // Its event after the answer, as it mostly comes.
    await markRead(first);
    await shownRead(first);
    expect(await loadsSince()).toEqual([1, 1]);

    // Its event before the answer.
    await page.route(
      '**/api/v1/whatsapp/chats/read',
      async (route) => {
        const response = await route.fetch();
        await waitFor(
          () =>
            page.evaluate<boolean>(
              `window.streamEvents.some((e) => e.type === 'chat.read' && e.data.chat.chatJid === '${second}@s.whatsapp.net')`,
            ),
          UI_TIMEOUT,
          'the event before the answer',
        );
        await route.fulfill({ response });
      },
      { times: 1 },
    );
    await markRead(second);
    await shownRead(second);
    expect(await loadsSince()).toEqual([1, 1]);

    // Its event lost (a proxy holds the stream back): shown once the page waited for it.
    const held = holdEventsOf(t, org.organization.id);
    try {
      await page.getByRole('link', { name: 'Contacts' }).click();
      await waitFor(async () => streams.length === 3, UI_TIMEOUT, 'the contacts view to follow');
      await page.getByRole('link', { name: 'Messages' }).click();
      await waitFor(async () => streams.length === 4, UI_TIMEOUT, 'the held stream');
      await waitFor(
        async () => chats.length === 1 && messages.length === 1,
        UI_TIMEOUT,
        'the load of the visit',
      );
      expect(await loadsSince()).toEqual([1, 1]);
      await markRead(third);
      await page.locator('#toast').getByText('1 message marked read').waitFor();
      await requestsSeen();
      expect([chats.length, messages.length]).toEqual([0, 0]); // waiting for the event
      await page.clock.runFor(3_000);
      await shownRead(third);
      expect(await loadsSince()).toEqual([1, 1]);
    } finally {
      held.mockRestore();
    }
  });

  it('keeps the session drop-downs current while a view shows, keeping the choice, and says when the chosen one was deleted', async () => {
    const org = await registerUser(t, { organizationName: 'Lists Co', password: PASSWORD });
    await connectedSession('alpha', '+201005550017', org);
    await freshPage();
    const streams = streamsOpened();
    await logIn(page, t, org);
    await waitFor(async () => streams.length === 1, UI_TIMEOUT, 'the sessions view to follow');
    await page.getByRole('link', { name: 'Messages' }).click();
    await waitFor(async () => streams.length === 2, UI_TIMEOUT, 'the messages view to follow');
    const from = page.locator('#send-session');
    const filter = page.locator('#filter-session');
    const option = (select: string, name: string) =>
      page.locator(`${select} option[value="${name}"]`);
    await option('#send-session', 'alpha').waitFor({ state: 'attached', timeout: UI_TIMEOUT });
    await from.selectOption('alpha');
    const loads = [loadsOf('/api/v1/whatsapp/messages'), loadsOf('/api/v1/whatsapp/chats')];

    // Created elsewhere, then linked: listed with its status as it changes, the choice kept.
    await t.http().post('/api/v1/whatsapp/sessions').set(org.auth).send({ sessionName: 'beta' });
    await option('#filter-session', 'beta')
      .getByText('beta · Waiting for scan')
      .waitFor({ state: 'attached', timeout: UI_TIMEOUT });
    await waitFor(
      async () => (await sandbox('beta', 'scan', { phone: '+201005550018' }, org)).status === 200,
      10_000,
      'beta scanned',
    );
    for (const select of ['#send-session', '#filter-session'])
      await option(select, 'beta')
        .getByText('beta · Connected')
        .waitFor({ state: 'attached', timeout: UI_TIMEOUT });
    expect(await from.inputValue()).toBe('alpha');
    await requestsSeen();
    expect(loads.map((l) => l.length)).toEqual([0, 0]); // the lists only, not the view

    // Chosen to send from and to filter the history on, then deleted elsewhere: said, not swapped
    // for another session silently.
    await from.selectOption('beta');
    await filter.selectOption('beta');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    // beta's events, and (apart, now) the organization's session events for the drop-downs.
    await waitFor(
      async () => streams.length === 4 && streams.some((s) => s.get('sessionName') === 'beta'),
      UI_TIMEOUT,
      "beta's stream",
    );
    await t.http().delete('/api/v1/whatsapp/sessions/beta').set(org.auth).expect(204);
    await page
      .locator('#send-session-notice')
      .getByText('Session beta was deleted. Choose another session to send from.')
      .waitFor({ timeout: UI_TIMEOUT });
    expect(await from.inputValue()).toBe('');
    await page
      .locator('#filter-session-notice')
      .getByText('Session beta was deleted. Showing any session.')
      .waitFor({ timeout: UI_TIMEOUT });
    expect(await filter.inputValue()).toBe('');
    expect(await option('#send-session', 'beta').count()).toBe(0);
    // The history follows every session again, the drop-downs on its stream.
    await waitFor(
      async () => streams.length === 5 && !streams[4].has('sessionName') && openStreams() === 1,
      UI_TIMEOUT,
      'the stream of every session',
    );
    await page.getByLabel('Message', { exact: true }).fill('From nowhere');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    expect(
      await from.evaluate(
        (el) => (el as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing,
      ),
    ).toBe(true);

    // The Contacts and Stats views alike.
    await page.getByRole('link', { name: 'Contacts' }).click();
    await waitFor(async () => streams.length === 6, UI_TIMEOUT, 'the contacts view to follow');
    await t.http().post('/api/v1/whatsapp/sessions').set(org.auth).send({ sessionName: 'gamma' });
    await option('#contact-session', 'gamma').waitFor({ state: 'attached', timeout: UI_TIMEOUT });
    await page.getByRole('link', { name: 'Stats' }).click();
    await waitFor(async () => streams.length === 7, UI_TIMEOUT, 'the stats view to follow');
    await sandbox('alpha', 'disconnect', { reason: 'loggedOut' }, org).expect(202);
    await option('#stats-session', 'alpha')
      .getByText('alpha · Logged out')
      .waitFor({ state: 'attached', timeout: UI_TIMEOUT });
  });

  it("hears at once of sessions created or deleted elsewhere while a view shows one session, whose stream still carries only that session's events", async () => {
    const org = await registerUser(t, { organizationName: 'Roster Co', password: PASSWORD });
    await connectedSession('alpha', '+201005550021', org);
    await connectedSession('doomed', '+201005550022', org);
    await connectedSession('other', '+201005550023', org);
    await freshPage();
    await context.addInitScript(RECORD_STREAM_EVENTS);
    const streams = streamsOpened();
    // Neither a safety reload nor a second look after an event comes within the test: what the
    // drop-downs show, they learnt from the events.
    await logIn(page, t, org, { ...QUICK_LIVE, safetyReloadMs: 3_600_000, eventWaitMs: 3_600_000 });
    const option = (select: string, name: string) =>
      page.locator(`${select} option[value="${name}"]`);
    const listed = (select: string, name: string) =>
      option(select, name).waitFor({ state: 'attached', timeout: UI_TIMEOUT });
    const unlisted = (select: string, name: string) =>
      waitFor(async () => (await option(select, name).count()) === 0, UI_TIMEOUT, `${name} gone`);
    const lists = (url: URLSearchParams) =>
      url.get('types') === 'session.status,session.deleted' && !url.has('sessionName');

    await page.getByRole('link', { name: 'Messages' }).click();
    await listed('#filter-session', 'alpha');
    await page.locator('#filter-session').selectOption('alpha');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await waitFor(
      async () => streams.some((s) => s.get('sessionName') === 'alpha') && streams.some(lists),
      UI_TIMEOUT,
      "alpha's stream and the organization's session events",
    );
    await t.http().post('/api/v1/whatsapp/sessions').set(org.auth).send({ sessionName: 'beta' });
    for (const select of ['#filter-session', '#send-session']) await listed(select, 'beta');
    await t.http().delete('/api/v1/whatsapp/sessions/doomed').set(org.auth).expect(204);
    for (const select of ['#filter-session', '#send-session']) await unlisted(select, 'doomed');
    expect(await page.locator('#filter-session').inputValue()).toBe('alpha');

    // The view's own events stay those of alpha: another session's messages never reach the page.
    await page.evaluate('window.streamEvents.length = 0');
    await sandbox('other', 'inbound', { from: '+201007771023', text: 'Not here' }, org).expect(202);
    await sandbox('alpha', 'inbound', { from: '+201007771021', text: 'Here' }, org).expect(202);
    await messageRow('Here').waitFor({ timeout: UI_TIMEOUT });
    const received = await page.evaluate<StoredEvent[]>('window.streamEvents');
    expect(received.filter((e) => e.type.startsWith('message.')).map((e) => e.sessionName)).toEqual(
      ['alpha'],
    );

    // The Stats view alike.
    await page.getByRole('link', { name: 'Stats' }).click();
    await listed('#stats-session', 'alpha');
    await page.locator('#stats-session').selectOption('alpha');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await waitFor(
      async () => streams.filter((s) => s.get('sessionName') === 'alpha').length === 2,
      UI_TIMEOUT,
      "the stats view's stream of alpha",
    );
    await t.http().post('/api/v1/whatsapp/sessions').set(org.auth).send({ sessionName: 'gamma' });
    await listed('#stats-session', 'gamma');
    await t.http().delete('/api/v1/whatsapp/sessions/beta').set(org.auth).expect(204);
    await unlisted('#stats-session', 'beta');
    expect(await page.locator('#stats-session').inputValue()).toBe('alpha');

    // The Sessions table drops a session deleted elsewhere at its event, not a while after.
    await page.getByRole('link', { name: 'Sessions' }).click();
    const row = page.locator('#sessions-table tbody tr[data-session="gamma"]');
    await row.waitFor({ timeout: UI_TIMEOUT });
    await t.http().delete('/api/v1/whatsapp/sessions/gamma').set(org.auth).expect(204);
    await row.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
  });

  it('reloads the sessions for a new QR code only while the QR panel shows that session', async () => {
    const org = await registerUser(t, { organizationName: 'Codes Co', password: PASSWORD });
    const witness = await tailWitness(org);
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(org.auth)
      .send({ sessionName: 'waiting' })
      .expect(201);
    await witness.passed('its first QR code', (e) => e.type === 'session.qr');
    await witness.passed(
      'its status',
      (e) => e.type === 'session.status' && e.data.status === 'qr_ready',
    );
    /** A new QR code of the session, announced as the gateway does when it rotates. */
    const rotated = () =>
      t.app.get(EventOutboxService).append({
        type: 'session.qr',
        organizationId: org.organization.id,
        sessionName: 'waiting',
        occurredAt: new Date(),
        data: { sessionName: 'waiting', status: 'qr_ready' },
      });
    const received = () =>
      page.evaluate<number>("window.streamEvents.filter((e) => e.type === 'session.qr').length");
    await freshPage();
    await context.addInitScript(RECORD_STREAM_EVENTS);
    const loads = loadsOf('/api/v1/whatsapp/sessions');
    await logIn(page, t, org);
    const row = page.locator('#sessions-table tbody tr[data-session="waiting"]');
    await row.getByText('Waiting for scan').waitFor({ timeout: UI_TIMEOUT });
    await waitFor(async () => openStreams() === 1, UI_TIMEOUT, 'the sessions view to follow');
    expect(loads).toHaveLength(1);

    // The panel closed: the table shows nothing a new code changes.
    await rotated();
    await waitFor(async () => (await received()) === 1, UI_TIMEOUT, 'the new code announced');
    await sleep(300); // six times the gap between reloads (logIn's QUICK_LIVE)
    expect(loads).toHaveLength(1);

    // The panel shows the session: its new code is fetched.
    const codes = loadsOf('/api/v1/whatsapp/sessions/waiting/qr');
    await page.getByRole('button', { name: 'Show QR code of waiting' }).click();
    await page
      .getByRole('img', { name: 'QR code to link session waiting' })
      .waitFor({ timeout: UI_TIMEOUT });
    const shown = codes.length;
    await rotated();
    await waitFor(async () => codes.length > shown, UI_TIMEOUT, 'the new code fetched');
  });
});

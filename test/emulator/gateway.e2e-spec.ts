import { randomBytes } from 'node:crypto';
import { WaEmulator } from '@app/wa-emulator';
import { EmulatorBackend } from '@app/whatsapp';
import { connectedSession, waitForSessionStatus } from '../support/sandbox';
import {
  createTestApp,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from '../support/test-app';
import { waitFor } from '../support/wait';
import { linkSession } from './gateway-support';
import { downloadMedia } from '../support/media';
import { mediaSample } from '../support/media-samples';

const ACCOUNT = '15550005555';
const PN_CONTACT = '15559995001';
const LID_CONTACT = '15559995002';

describe('gateway on the real Baileys engine against the WhatsApp emulator', () => {
  let emulator: WaEmulator;
  let t: TestApp;
  let owner: RegisteredUser;

  const history = async (query: Record<string, string | number>) =>
    (await t.http().get('/api/v1/whatsapp/messages').query(query).set(owner.auth).expect(200)).body;
  const getMessage = async (id: string) =>
    (await t.http().get(`/api/v1/whatsapp/messages/${id}`).set(owner.auth).expect(200)).body;
  const waitForMessageStatus = (id: string, status: string) =>
    waitFor(
      async () => ((await getMessage(id)).status === status ? getMessage(id) : undefined),
      10_000,
      `message ${id} to be ${status}`,
    );

  beforeAll(async () => {
    emulator = await WaEmulator.start();
    t = await createTestApp({ WHATSAPP_ENGINE: 'baileys', WA_WEBSOCKET_URL: emulator.url });
    owner = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  it('QR scan → connected; gateway restart → connected again without a new scan', async () => {
    const connected = await linkSession(t, owner, emulator, ACCOUNT);
    expect(connected).toMatchObject({
      status: 'connected',
      phone: expect.stringContaining(ACCOUNT),
    });

    t = await t.restart();
    await waitForSessionStatus(t, owner, 'main', 'connected', 15_000);
    expect(emulator.phone(ACCOUNT).devices).toHaveLength(1); // the same linked device, no second pairing
  });

  it('inbound text from a PN contact and from a LID contact → each stored once', async () => {
    const phone = emulator.phone(ACCOUNT);
    const pn = phone.contact(PN_CONTACT, { pushName: 'Pat' });
    const lid = phone.contact(LID_CONTACT, { pushName: 'Lee' });
    const pnId = await phone.sendText(PN_CONTACT, 'hello by phone number');
    const lidId = await phone.sendText(LID_CONTACT, 'hello by lid', { via: 'lid' });

    const pnMsg = await waitFor(
      async () =>
        (await history({ chat: pn.jid })).items.find(
          (m: { waMessageId: string }) => m.waMessageId === pnId,
        ),
      10_000,
      'PN message',
    );
    expect(pnMsg).toMatchObject({
      direction: 'in',
      text: 'hello by phone number',
      pushName: 'Pat',
    });
    const lidMsg = await waitFor(
      async () =>
        (await history({ direction: 'in' })).items.find(
          (m: { waMessageId: string }) => m.waMessageId === lidId,
        ),
      10_000,
      'LID message',
    );
    expect(lidMsg).toMatchObject({ direction: 'in', text: 'hello by lid' });
    expect(JSON.stringify(lidMsg)).toContain(lid.lid);

    await new Promise((r) => setTimeout(r, 300));
    const all = (await history({ direction: 'in', limit: 100 })).items.map(
      (m: { waMessageId: string }) => m.waMessageId,
    );
    expect(all.filter((id: string) => id === pnId)).toHaveLength(1);
    expect(all.filter((id: string) => id === lidId)).toHaveLength(1);
  });

  it('outbound text → sent → delivered → read, decrypted by the contact', async () => {
    const phone = emulator.phone(ACCOUNT);
    const res = await t
      .http()
      .post('/api/v1/whatsapp/messages/send')
      .set(owner.auth)
      .send({ sessionName: 'main', to: `+${PN_CONTACT}`, text: 'Your order shipped' })
      .expect(202);
    const sent = await waitForMessageStatus(res.body.id, 'sent');
    const out = await phone.waitForOutbound((r) => r.id === sent.waMessageId, 10_000);
    expect(out).toMatchObject({ recipient: PN_CONTACT, text: 'Your order shipped' });

    phone.receipt(sent.waMessageId, 'delivered');
    await waitForMessageStatus(res.body.id, 'delivered');
    phone.receipt(sent.waMessageId, 'read');
    const read = await waitForMessageStatus(res.body.id, 'read');
    expect(read.deliveredAt).toBeDefined();
    expect(read.readAt).toBeDefined();
  });

  it('inbound image (PN) and document (LID) → stored with media downloaded byte-exactly', async () => {
    const phone = emulator.phone(ACCOUNT);
    const image = randomBytes(4096);
    const doc = randomBytes(2500);
    const imageId = await phone.sendImage(PN_CONTACT, {
      data: image,
      mimetype: 'image/jpeg',
      caption: 'a photo',
    });
    const docId = await phone.sendDocument(LID_CONTACT, {
      data: doc,
      mimetype: 'application/pdf',
      fileName: 'invoice.pdf',
      via: 'lid',
    });
    for (const [waId, bytes, mimetype] of [
      [imageId, image, 'image/jpeg'],
      [docId, doc, 'application/pdf'],
    ] as const) {
      const stored = await waitFor(
        async () =>
          (await history({ direction: 'in', limit: 100 })).items.find(
            (m: { waMessageId: string }) => m.waMessageId === waId,
          ),
        10_000,
        'media message',
      );
      await waitFor(
        async () => (await getMessage(stored.id)).media?.downloadStatus === 'stored',
        10_000,
        'media download',
      );
      const media = await downloadMedia(t, owner.auth, stored.id);
      expect(media.contentType).toContain(mimetype);
      expect(Buffer.compare(media.bytes, bytes)).toBe(0);
    }
  });

  it('100 inbound messages in a burst → 100 stored, none twice', async () => {
    const phone = emulator.phone(ACCOUNT);
    const sender = '15559995100';
    const ids = new Set<string>();
    for (let i = 0; i < 100; i++) ids.add(await phone.sendText(sender, `burst ${i}`));
    const page = await waitFor(
      async () => {
        const p = await history({ chat: `${sender}@s.whatsapp.net`, limit: 100 });
        return p.total >= 100 ? p : undefined;
      },
      20_000,
      '100 stored messages',
    );
    await new Promise((r) => setTimeout(r, 300));
    const again = await history({ chat: `${sender}@s.whatsapp.net`, limit: 100 });
    expect(again.total).toBe(100);
    expect(new Set(page.items.map((m: { waMessageId: string }) => m.waMessageId))).toEqual(ids);
  });

  it('an undecryptable message → retry receipt → the contact resends it → stored once', async () => {
    const phone = emulator.phone(ACCOUNT);
    const sender = '15559995200';
    const id = await phone.sendText(sender, 'please retry me', { undecryptableCopies: 1 });
    const stored = await waitFor(
      async () =>
        (await history({ chat: `${sender}@s.whatsapp.net` })).items.find(
          (m: { waMessageId: string }) => m.waMessageId === id,
        ),
      10_000,
      'the resent message',
    );
    expect(stored).toMatchObject({ direction: 'in', text: 'please retry me' });
    expect(phone.retries.filter((r) => r.id === id)).toEqual([
      expect.objectContaining({ count: 1, resent: true }),
    ]);
    await new Promise((r) => setTimeout(r, 300));
    expect((await history({ chat: `${sender}@s.whatsapp.net` })).total).toBe(1);
  });

  it('dropped connection → disconnected → reconnects by itself (backoff) without a new scan', async () => {
    emulator.phone(ACCOUNT).drop();
    await waitForSessionStatus(t, owner, 'main', 'disconnected', 10_000);
    await waitForSessionStatus(t, owner, 'main', 'connected', 15_000);
    expect(emulator.phone(ACCOUNT).devices).toHaveLength(1);
  });

  it('logout from the phone → logged_out, auth state cleared (a new QR is needed)', async () => {
    emulator.phone(ACCOUNT).logout();
    await waitForSessionStatus(t, owner, 'main', 'logged_out', 10_000);
    expect(emulator.phone(ACCOUNT).devices).toEqual([]);
    // The old creds are gone: starting the session again asks for a fresh QR instead of a login.
    await t
      .http()
      .post('/api/v1/whatsapp/sessions/main/restart')
      .set(owner.auth)
      .expect((res) => expect(res.status).toBeLessThan(300));
    await waitForSessionStatus(t, owner, 'main', 'qr_ready', 15_000);
  });
});

describe('gateway with WHATSAPP_ENGINE=emulator: outbound media, pairing by code', () => {
  let t: TestApp;
  let owner: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp({ WHATSAPP_ENGINE: 'emulator' });
    owner = await registerUser(t);
    await connectedSession(t, owner, 'main', '+15550007777');
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['image', 'image/jpeg', mediaSample.jpeg],
    ['document', 'application/pdf', mediaSample.pdf],
  ])(
    '%s: uploaded to the media host; the contact decrypts the exact bytes',
    async (type, mimetype, sample) => {
      const bytes = sample(4000);
      const res = await t
        .http()
        .post('/api/v1/whatsapp/messages/send')
        .set(owner.auth)
        .send({
          sessionName: 'main',
          to: '+15559997001',
          type,
          media: { base64: bytes.toString('base64'), mimetype },
          caption: 'attached',
          fileName: 'file.bin',
        })
        .expect(202);
      const sent = await waitFor(
        async () => {
          const m = (await t.http().get(`/api/v1/whatsapp/messages/${res.body.id}`).set(owner.auth))
            .body as { status: string; waMessageId?: string };
          return m.status === 'sent' ? m : undefined;
        },
        10_000,
        'sent',
      );
      const out = await t.app
        .get(EmulatorBackend)
        .server.waitForOutbound((r) => r.id === sent.waMessageId, 10_000);
      expect(out).toMatchObject({ recipient: '15559997001', media: { type, mimetype } });
      expect(out.media?.error).toBeUndefined();
      expect(Buffer.compare(out.media!.data!, bytes)).toBe(0);
    },
  );

  it('pairing code: a wrong code → 400 and nothing linked; the right one → connected', async () => {
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'bycode' })
      .expect(201);
    await waitForSessionStatus(t, owner, 'bycode', 'qr_ready', 15_000);
    const requestCode = async () =>
      (
        await t
          .http()
          .post('/api/v1/whatsapp/sessions/bycode/pairing-code')
          .set(owner.auth)
          .send({ phone: '+15550007778' })
          .expect(200)
      ).body.code as string;
    const code = await requestCode();
    const control = (c: string) =>
      t
        .http()
        .post('/api/v1/whatsapp/sandbox/sessions/bycode/pairing-code')
        .set(owner.auth)
        .send({ code: c });
    const wrong = await control(code === 'ZZZZZZZZ' ? 'YYYYYYYY' : 'ZZZZZZZZ').expect(400);
    expect(wrong.body.code).toBe('INVALID_PAIRING_CODE');
    expect(t.app.get(EmulatorBackend).server.phone('15550007778').devices).toEqual([]);
    // A wrong code ends that attempt, as on WhatsApp: ask for a new code and type it.
    const again = await requestCode();
    await control(again).expect(200);
    await waitForSessionStatus(t, owner, 'bycode', 'connected', 15_000);
    expect(t.app.get(EmulatorBackend).server.phone('15550007778').devices).toHaveLength(1);
  });
});

import { buffer } from 'node:stream/consumers';
import { randomBytes } from 'node:crypto';
import { WaEmulator, type PhoneControl } from '@app/wa-emulator';
import { MediaExceedsLimitError } from '@app/whatsapp';
import { EngineHarness, linkedOnFreshEmulator } from './engine-harness';

const ACCOUNT = '15550002222';
const PN_CONTACT = '15559990001';
const LID_CONTACT = '15559990002';

describe('wa-emulator: messages with the real Baileys engine', () => {
  let engine: EngineHarness;
  let phone: PhoneControl;

  linkedOnFreshEmulator(ACCOUNT, (linked) => ({ phone, engine } = linked));

  it('inbound text from a phone-number contact: pkmsg, then msg → one message each', async () => {
    const c = phone.contact(PN_CONTACT, { pushName: 'Pat' });
    const id1 = await phone.sendText(PN_CONTACT, 'hello 1');
    const id2 = await phone.sendText(PN_CONTACT, 'hello 2');
    const got = await engine.until(
      () => {
        const ids = engine.messages.map((m) => m.waMessageId);
        return ids.includes(id1) && ids.includes(id2) ? engine.messages : undefined;
      },
      5_000,
      'two inbound messages',
    );
    const m1 = got.find((m) => m.waMessageId === id1)!;
    expect(m1).toMatchObject({
      chatJid: c.jid,
      fromMe: false,
      type: 'text',
      text: 'hello 1',
      pushName: 'Pat',
      isHistory: false,
    });
    expect(got.find((m) => m.waMessageId === id2)).toMatchObject({ text: 'hello 2' });
    expect(got.filter((m) => m.waMessageId === id1)).toHaveLength(1);
  });

  it('inbound text from a LID-addressed contact', async () => {
    const c = phone.contact(LID_CONTACT, { pushName: 'Lee' });
    const id = await phone.sendText(LID_CONTACT, 'via lid', { via: 'lid' });
    const m = await engine.until(
      () => engine.messages.find((x) => x.waMessageId === id),
      5_000,
      'lid message',
    );
    expect(m).toMatchObject({ text: 'via lid', fromMe: false });
    expect([m.chatJid, m.senderLid, m.senderPhone].join(' ')).toContain(c.lid);
    const id2 = await phone.sendText(LID_CONTACT, 'again', { via: 'lid' });
    await engine.until(
      () => engine.messages.find((x) => x.waMessageId === id2),
      5_000,
      'second lid message',
    );
  });

  it('outbound text: decrypted by the contact, then delivered → read via receipts', async () => {
    const to = `${PN_CONTACT}@s.whatsapp.net`;
    const sent = await engine.connection!.sendMessage(to, {
      type: 'text',
      text: 'hi from the gateway',
    });
    const out = await phone.waitForOutbound((r) => r.id === sent.waMessageId, 5_000);
    expect(out).toMatchObject({ recipient: PN_CONTACT, text: 'hi from the gateway', to });

    phone.receipt(sent.waMessageId, 'delivered');
    await engine.until(
      () =>
        engine.statuses.find((s) => s.waMessageId === sent.waMessageId && s.status === 'delivered'),
      5_000,
      'delivered',
    );
    phone.receipt(sent.waMessageId, 'read');
    await engine.until(
      () => engine.statuses.find((s) => s.waMessageId === sent.waMessageId && s.status === 'read'),
      5_000,
      'read',
    );
  });

  it('two receipts of one message in one Baileys batch: a read followed by a delivered (another device) is still read', async () => {
    const to = `${PN_CONTACT}@s.whatsapp.net`;
    const sent = await engine.connection!.sendMessage(to, { type: 'text', text: 'seen?' });
    await phone.waitForOutbound((r) => r.id === sent.waMessageId, 5_000);
    await new Promise((r) => setTimeout(r, 300)); // the send's own upsert has settled
    // Same tick: Baileys buffers both and merges them into the last one (delivered).
    phone.receipt(sent.waMessageId, 'read');
    phone.receipt(sent.waMessageId, 'delivered');
    await engine.until(
      () => engine.statuses.find((s) => s.waMessageId === sent.waMessageId && s.status === 'read'),
      5_000,
      'read',
    );
  });

  it('outbound text to a LID contact, and a second message on the established session', async () => {
    const c = phone.contact(LID_CONTACT);
    for (const text of ['one', 'two']) {
      const sent = await engine.connection!.sendMessage(c.lidJid, { type: 'text', text });
      const out = await phone.waitForOutbound((r) => r.id === sent.waMessageId, 5_000);
      expect(out).toMatchObject({ recipient: LID_CONTACT, text });
    }
  });
});

describe('wa-emulator: messages read on the phone (read-self receipts)', () => {
  let engine: EngineHarness;
  let phone: PhoneControl;

  linkedOnFreshEmulator(ACCOUNT, (linked) => ({ phone, engine } = linked));

  it('reports a message read on the phone while connected', async () => {
    phone.contact(PN_CONTACT, { pushName: 'Pat' });
    const id = await phone.sendText(PN_CONTACT, 'read me');
    await engine.until(() => engine.messages.find((m) => m.waMessageId === id), 5_000, 'message');
    phone.readOnPhone(PN_CONTACT, [id]);
    const read = await engine.until(
      () => engine.readElsewhere.find((r) => r.waMessageIds.includes(id)),
      5_000,
      'read elsewhere',
    );
    expect(read.chatJid).toBe(`${PN_CONTACT}@s.whatsapp.net`);
    expect(engine.statuses.some((s) => s.waMessageId === id)).toBe(false);
  });

  it('reports a message the phone read while the device was offline (folded into its upsert)', async () => {
    // Closed before the initial sync finished, Baileys would treat the next login as a first one
    // and hold its events for 20 s: wait until the sync is recorded in the creds.
    const synced = async () => Number((await engine.auth.readCreds())?.accountSyncCounter ?? 0) > 0;
    for (let i = 0; i < 100 && !(await synced()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await synced()).toBe(true);
    await engine.close();
    await engine.until(() => !phone.connected || undefined, 5_000, 'the emulator to see it gone');
    const id = await phone.sendText(PN_CONTACT, 'read while you were away');
    phone.readOnPhone(PN_CONTACT, [id]);
    expect(await engine.connect()).toHaveProperty('open');
    await engine.until(() => engine.messages.find((m) => m.waMessageId === id), 10_000, 'message');
    await engine.until(
      () => engine.readElsewhere.find((r) => r.waMessageIds.includes(id)),
      10_000,
      'read elsewhere',
    );
  });
});

describe('wa-emulator: inbound media with the real Baileys download path', () => {
  let engine: EngineHarness;
  let phone: PhoneControl;

  linkedOnFreshEmulator(
    '15550004444',
    (linked) => ({ phone, engine } = linked),
    (e) => new EngineHarness(e.url, 'org_media'),
  );

  it.each([
    ['image', 'image/jpeg', 'pn'],
    ['document', 'application/pdf', 'lid'],
  ] as const)(
    '%s (%s, via %s) is downloadable byte-exactly with downloadMediaMessage',
    async (kind, mimetype, via) => {
      const data = randomBytes(3000);
      const id =
        kind === 'image'
          ? await phone.sendImage('15559994001', { data, mimetype, caption: 'look', via })
          : await phone.sendDocument('15559994001', {
              data,
              mimetype,
              fileName: 'invoice.pdf',
              via,
            });
      const m = await engine.until(
        () => engine.messages.find((x) => x.waMessageId === id),
        5_000,
        `${kind} message`,
      );
      expect(m.type).toBe(kind);
      expect(m.media).toMatchObject({ mimetype, size: 3000 });
      const bytes = await buffer(await engine.connection!.downloadMedia(m.media!.ref, data.length));
      expect(Buffer.compare(bytes, data)).toBe(0);
      // One byte less allowed: the real download stream is cut off at the limit.
      await expect(
        buffer(await engine.connection!.downloadMedia(m.media!.ref, data.length - 1)),
      ).rejects.toThrow(MediaExceedsLimitError);
    },
  );
});

describe('wa-emulator: outbound media through the emulator media host (HTTPS upload)', () => {
  const CONTACT = '15559996001';
  let emulator: WaEmulator;
  let engine: EngineHarness;
  let phone: PhoneControl;

  linkedOnFreshEmulator(
    '15550006666',
    (linked) => ({ emulator, phone, engine } = linked),
    (e) => new EngineHarness(e.url, 'org_outmedia', undefined, e.mediaCertificate),
  );

  it.each([
    ['image', 'image/png', {}],
    ['video', 'video/mp4', {}],
    ['audio', 'audio/ogg', { voice: true, seconds: 3 }],
    ['document', 'application/pdf', { fileName: 'invoice.pdf' }],
  ] as const)(
    '%s (%s): uploaded, then fetched and decrypted by the contact byte-exactly',
    async (type, mimetype, extra) => {
      const buffer = randomBytes(5000);
      const sent = await engine.connection!.sendMessage(`${CONTACT}@s.whatsapp.net`, {
        type,
        buffer,
        mimetype,
        ...(type === 'audio' ? {} : { caption: `a ${type}` }),
        ...extra,
      });
      const out = await phone.waitForOutbound((r) => r.id === sent.waMessageId, 10_000);
      expect(out.recipient).toBe(CONTACT);
      expect(out.media).toMatchObject({
        type,
        mimetype,
        ...(type === 'audio' ? { ptt: true } : { caption: `a ${type}` }),
        ...(type === 'document' ? { fileName: 'invoice.pdf' } : {}),
      });
      expect(out.media?.error).toBeUndefined();
      expect(Buffer.compare(out.media!.data!, buffer)).toBe(0);
    },
  );

  it('refuses the upload from a client that does not trust the media host certificate', async () => {
    const untrusting = new EngineHarness(emulator.url, 'org_untrusting');
    await untrusting.link((qr) => emulator.phone('15550006667').scan(qr));
    try {
      await expect(
        untrusting.connection!.sendMessage(`${CONTACT}@s.whatsapp.net`, {
          type: 'document',
          buffer: randomBytes(100),
          mimetype: 'application/pdf',
        }),
      ).rejects.toThrow(/Media upload failed/);
    } finally {
      await untrusting.close();
    }
  });
});

describe('wa-emulator: a close of ours while Baileys is handling messages', () => {
  let engine: EngineHarness;
  let phone: PhoneControl;

  linkedOnFreshEmulator(ACCOUNT, (linked) => ({ phone, engine } = linked));

  // Baileys sends a message's receipt before it hands the message over: one it was handling as
  // the close came must still come out (WhatsApp will not send it again), or come again at the
  // next login (its receipt could not go out). Before, a message in between was dropped.
  it('hands over, or gets again after reconnecting, every message: none lost, none twice', async () => {
    phone.contact(PN_CONTACT, { pushName: 'Pat' });
    const ids: string[] = [];
    for (let round = 0; round < 5; round++) {
      const sent = await Promise.all(
        Array.from({ length: 10 }, (_, i) => phone.sendText(PN_CONTACT, `burst ${round}.${i}`)),
      );
      ids.push(...sent);
      // Mid-burst: the first of this round is out, the others are being handled.
      await engine.until(() => engine.messages.some((m) => m.waMessageId === sent[0]) || undefined);
      await engine.close();
      expect(await engine.connect()).toHaveProperty('open');
    }
    const all = await engine
      .until(
        () => ids.every((id) => engine.messages.some((m) => m.waMessageId === id)) || undefined,
        15_000,
        'every message',
      )
      .catch(() => false);
    const got = engine.messages.map((m) => m.waMessageId);
    expect(ids.filter((id) => !got.includes(id))).toEqual([]);
    expect(all).toBe(true);
    expect(new Set(got).size).toBe(got.length);
  });
});

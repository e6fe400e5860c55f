import openapi from '../openapi.json';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { getConnectionToken } from '@nestjs/mongoose';
import { type Connection, Types } from 'mongoose';
import {
  SandboxControl,
  SessionRegistry,
  WA_EVENTS,
  type WaMessageReceivedEvent,
} from '@app/whatsapp';
import { MongoNetworkError } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MessageCreationService } from '../apps/api/src/messaging/message-creation.service';
import { MessageEffectsRecovery } from '../apps/api/src/messaging/message-effects-recovery.service';
import { InboundIngestService } from '../apps/api/src/messaging/inbound-ingest.service';
import { OutboxDispatcher } from '../apps/api/src/messaging/outbox-dispatcher';
import { IdempotencyRepository } from '../apps/api/src/messaging/idempotency.repository';
import { MessagesRepository } from '../apps/api/src/messaging/messages.repository';
import { MediaOrphanSweep } from '../apps/api/src/messaging/media-orphan-sweep.service';
import { FileMediaStorage } from '../apps/api/src/messaging/media/file-media-storage';
import { GridFsMediaStorage } from '../apps/api/src/messaging/media/gridfs-media-storage';
import { MEDIA_STORAGE, type MediaStorage } from '../apps/api/src/messaging/media/media-storage';
import { connectedSession, waitForSessionStatus, scanWhenQrShows } from './support/sandbox';
import { createTestApp, registerUser, type RegisteredUser, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { findChat } from './support/chats';
import { downloadMedia } from './support/media';
import { mediaSample } from './support/media-samples';

const PEER = '+201112223334';
const PEER_JID = '201112223334@s.whatsapp.net';

/** POST /whatsapp/messages/send as `who`. */
const sendAs = (t: TestApp, who: RegisteredUser, body: object) =>
  t.http().post('/api/v1/whatsapp/messages/send').set(who.auth).send(body);

describe('messaging (HTTP, sandbox engine)', () => {
  let t: TestApp;
  let owner: RegisteredUser;

  const send = (body: object, headers: Record<string, string> = {}) =>
    sendAs(t, owner, body).set(headers);
  const getMessage = async (id: string) =>
    (await t.http().get(`/api/v1/whatsapp/messages/${id}`).set(owner.auth).expect(200)).body;
  const waitForStatus = (id: string, status: string) =>
    waitFor(
      async () => {
        const m = await getMessage(id);
        return m.status === status ? m : undefined;
      },
      10_000,
      `message ${id} to be ${status}`,
    );
  const receipt = (messageId: string, status: string) =>
    t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/main/receipts')
      .set(owner.auth)
      .send({ messageId, status })
      .expect(202);
  const inbound = (body: object) =>
    t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/main/inbound')
      .set(owner.auth)
      .send(body)
      .expect(202);
  const history = async (query: Record<string, string | number>) =>
    (await t.http().get('/api/v1/whatsapp/messages').query(query).set(owner.auth).expect(200)).body;

  beforeAll(async () => {
    t = await createTestApp();
    owner = await registerUser(t);
    await connectedSession(t, owner, 'main');
  });
  afterAll(() => t?.close());

  it('mentions each person once, however the request spells them', async () => {
    const res = await send({
      sessionName: 'main',
      to: PEER,
      text: 'hi both',
      mentions: ['+201001112223', '201001112223@s.whatsapp.net', '+201001112224'],
    }).expect(202);
    expect(res.body.mentions).toEqual([
      '201001112223@s.whatsapp.net',
      '201001112224@s.whatsapp.net',
    ]);
  });

  it('sends text: 202 pending → sent → delivered → read, monotonic under out-of-order receipts', async () => {
    const res = await send({ sessionName: 'main', to: PEER, text: 'Hello from Acme' }).expect(202);
    expect(res.body).toMatchObject({
      status: 'pending',
      direction: 'out',
      chatJid: PEER_JID,
      type: 'text',
      text: 'Hello from Acme',
      fromMe: true,
    });
    const sent = await waitForStatus(res.body.id, 'sent');
    expect(sent.waMessageId).toEqual(expect.any(String));
    expect(sent.sentAt).toBeDefined();
    // Nothing internal leaks: every field answered is one the spec documents.
    const documented = Object.keys(openapi.components.schemas.MessageResponseDto.properties);
    for (const body of [res.body, sent])
      expect(documented).toEqual(expect.arrayContaining(Object.keys(body)));

    await receipt(res.body.id, 'read');
    const read = await waitForStatus(res.body.id, 'read');
    // Read implies delivered: the skipped status gets the read's time.
    expect(read.deliveredAt).toBe(read.readAt);
    await receipt(res.body.id, 'delivered'); // late receipt: ignored
    await new Promise((r) => setTimeout(r, 200));
    const after = await getMessage(res.body.id);
    expect(after.status).toBe('read');
    expect(after.readAt).toBe(read.readAt);
    expect(after.deliveredAt).toBe(read.readAt);
  });

  it("keeps read when a delivered (the recipient's other device) arrives at the same moment", async () => {
    // On WhatsApp a second device of the recipient may report delivered right after the read; Baileys
    // buffers both and merges them into the last one.
    for (const text of ['seen 1', 'seen 2', 'seen 3']) {
      const res = await send({ sessionName: 'main', to: PEER, text }).expect(202);
      await waitForStatus(res.body.id, 'sent');
      await Promise.all([receipt(res.body.id, 'read'), receipt(res.body.id, 'delivered')]);
      const read = await waitForStatus(res.body.id, 'read');
      expect(read.deliveredAt).toBeDefined();
    }
  });

  it("moves a group message by its members' receipts: the first member to receive, read or play it", async () => {
    const group = '120363000000000712@g.us';
    await inbound({ from: '+201555000712', chatJid: group, text: 'hi all' }); // the group, with a member
    await waitFor(
      async () => (await history({ chat: group })).total === 1,
      10_000,
      'the group message stored',
    );
    const text = await send({ sessionName: 'main', to: group, text: 'Meeting at 5' }).expect(202);
    const voice = await send({
      sessionName: 'main',
      to: group,
      type: 'audio',
      media: { base64: mediaSample.ogg(64).toString('base64'), mimetype: 'audio/ogg' },
    }).expect(202);
    for (const { body } of [text, voice]) await waitForStatus(body.id, 'sent');
    await receipt(text.body.id, 'delivered');
    await waitForStatus(text.body.id, 'delivered');
    await receipt(text.body.id, 'read');
    await waitForStatus(text.body.id, 'read');
    await receipt(voice.body.id, 'played');
    const played = await waitForStatus(voice.body.id, 'played');
    expect(played.readAt).toBe(played.playedAt);
  });

  // On the emulator Baileys uploads to its HTTPS media host (media_conn), as it does to WhatsApp's.
  it.each([
    ['image', 'image/png', 'pic.png', mediaSample.png],
    ['video', 'video/mp4', 'clip.mp4', mediaSample.mp4],
    ['audio', 'audio/ogg', 'note.ogg', mediaSample.ogg],
    ['document', 'application/pdf', 'invoice.pdf', mediaSample.pdf],
  ])('sends %s media and keeps the bytes', async (type, mimetype, fileName, sample) => {
    const bytes = sample(2048);
    const res = await send({
      sessionName: 'main',
      to: PEER,
      type,
      media: { base64: bytes.toString('base64'), mimetype },
      ...(type === 'audio' ? {} : { caption: 'see this' }),
      fileName,
    }).expect(202);
    expect(res.body.media).toMatchObject({ mimetype, size: 2048, downloadStatus: 'stored' });
    await waitForStatus(res.body.id, 'sent');
    const media = await downloadMedia(t, owner.auth, res.body.id);
    expect(media.contentType).toContain(mimetype);
    expect(Buffer.compare(media.bytes, bytes)).toBe(0);
    // The bytes are whatever a sender sent: shown inline only if passive, never run as a page.
    expect(media.headers).toMatchObject({
      'content-disposition': `${type === 'document' ? 'attachment' : 'inline'}; filename=${fileName}`,
      'content-security-policy': "default-src 'none'; sandbox",
      'x-content-type-options': 'nosniff',
    });
  });

  it('serves one byte range of media with 206 (players seek), the whole media otherwise, 416 past the end', async () => {
    const bytes = mediaSample.mp4(4096);
    const res = await send({
      sessionName: 'main',
      to: PEER,
      type: 'video',
      media: { base64: bytes.toString('base64'), mimetype: 'video/mp4' },
    }).expect(202);
    const id = res.body.id as string;
    const whole = await downloadMedia(t, owner.auth, id);
    expect(whole.headers['accept-ranges']).toBe('bytes');
    expect(whole.headers).not.toHaveProperty('content-range');

    const part = async (range: string, start: number, end: number) => {
      const got = await downloadMedia(t, owner.auth, id, { Range: range }, 206);
      expect(got.headers).toMatchObject({
        'content-range': `bytes ${start}-${end}/4096`,
        'content-length': String(end - start + 1),
        'content-type': 'video/mp4',
      });
      expect(Buffer.compare(got.bytes, bytes.subarray(start, end + 1))).toBe(0);
    };
    await part('bytes=0-99', 0, 99);
    await part('bytes=4000-', 4000, 4095);
    await part('bytes=-10', 4086, 4095);
    await part('bytes=4000-999999', 4000, 4095);

    // Several ranges, another unit, a malformed header or If-Range: the whole media, 200.
    for (const headers of <Array<Record<string, string>>>[
      { Range: 'bytes=0-9,20-29' },
      { Range: 'items=0-9' },
      { Range: 'bytes=abc' },
      { Range: 'bytes=0-9', 'If-Range': '"v1"' },
    ]) {
      const got = await downloadMedia(t, owner.auth, id, headers, 200);
      expect(Buffer.compare(got.bytes, bytes)).toBe(0);
    }
    const past = await t
      .http()
      .get(`/api/v1/whatsapp/messages/${id}/media`)
      .set(owner.auth)
      .set('Range', 'bytes=5000-')
      .expect(416);
    expect(past.headers['content-range']).toBe('bytes */4096');
    expect(past.body).toMatchObject({ code: 'RANGE_NOT_SATISFIABLE', statusCode: 416 });
  });

  it('answers a media read that fails before its first byte with the JSON error, not a reset connection', async () => {
    const photo = mediaSample.jpeg(1500);
    const res = await send({
      sessionName: 'main',
      to: PEER,
      type: 'image',
      media: { base64: photo.toString('base64'), mimetype: 'image/jpeg' },
    }).expect(202);
    const id = res.body.id as string;
    await waitForStatus(id, 'sent'); // the outbox read its media: the next read is the route's
    const storage = t.app.get<symbol, MediaStorage>(MEDIA_STORAGE);
    /** Bytes whose first read fails: a disk error, the database gone as GridFS reads the chunks. */
    const failingOpen = (error: Error) =>
      vi.spyOn(storage, 'open').mockResolvedValueOnce({
        stream: new Readable({
          read() {
            this.destroy(error);
          },
        }),
        size: photo.length,
      });
    const get = () => t.http().get(`/api/v1/whatsapp/messages/${id}/media`).set(owner.auth);

    failingOpen(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
    const broken = await get().expect(500);
    expect(broken.headers['content-type']).toMatch(/^application\/json/);
    expect(broken.body).toMatchObject({
      statusCode: 500,
      message: 'Internal server error',
      requestId: expect.any(String),
    });

    failingOpen(new MongoNetworkError('connection refused'));
    const outage = await get().expect(503);
    expect(outage.body).toMatchObject({ statusCode: 503, code: 'DATABASE_UNAVAILABLE' });
    expect(outage.headers['retry-after']).toBeDefined();

    const served = await downloadMedia(t, owner.auth, id);
    expect(Buffer.compare(served.bytes, photo)).toBe(0);
  });

  // With MongoDB the media is in GridFS, where a read looks the file up, then streams its chunks: a
  // delete in between (a failed send's media discarded, a sweep) used to be a 500 (FileNotFound),
  // or a body cut short under the full Content-Length (the chunks gone after the file was read).
  it.each([
    ['the file', 'MEDIA_NOT_FOUND', 404],
    ['the chunks, after the file was read,', 'MEDIA_NOT_FOUND', 404],
    ['the file of a send that failed for good', 'MEDIA_DISCARDED', 410],
  ] as const)(
    "answers %s deleted between a media read's look-up and its first chunk with %s (%i)",
    async (what, code, statusCode) => {
      const photo = mediaSample.jpeg(1500);
      const res = await send({
        sessionName: 'main',
        to: PEER,
        type: 'image',
        media: { base64: photo.toString('base64'), mimetype: 'image/jpeg' },
      }).expect(202);
      const id = res.body.id as string;
      await waitForStatus(id, 'sent');
      const db = t.app.get<string, Connection>(getConnectionToken()).db!;
      const gridFs = new GridFsMediaStorage(db);
      const storage = t.app.get<symbol, MediaStorage>(MEDIA_STORAGE);
      const key = id; // the media as GridFS holds it (this app runs on files)
      await gridFs.put(key, photo);
      vi.spyOn(storage, 'open').mockImplementationOnce(async (_key, pickRange) => {
        const opened = await gridFs.open(key, pickRange);
        if (what.startsWith('the chunks')) {
          const file = await db.collection('media.files').findOne({ filename: key });
          await db.collection('media.chunks').deleteMany({ files_id: file!._id });
        } else await gridFs.delete(key);
        if (code === 'MEDIA_DISCARDED') await t.app.get(MessagesRepository).markMediaDiscarded(id);
        return opened;
      });

      const gone = await t
        .http()
        .get(`/api/v1/whatsapp/messages/${id}/media`)
        .set(owner.auth)
        .expect(statusCode);
      expect(gone.headers['content-type']).toMatch(/^application\/json/);
      expect(gone.body).toMatchObject({ statusCode, code, requestId: expect.any(String) });
      await gridFs.delete(key);
    },
  );

  it('stores and serves media as what its bytes are when the declared mimetype names another format', async () => {
    const png = mediaSample.png(2048);
    const res = await send({
      sessionName: 'main',
      to: PEER,
      type: 'image',
      media: { base64: png.toString('base64'), mimetype: 'image/jpeg' },
    }).expect(202);
    expect(res.body.media).toMatchObject({ mimetype: 'image/png', size: 2048 });
    await waitForStatus(res.body.id, 'sent');
    expect((await getMessage(res.body.id)).media.mimetype).toBe('image/png');
    const media = await downloadMedia(t, owner.auth, res.body.id);
    expect(media.contentType).toBe('image/png');
    expect(Buffer.compare(media.bytes, png)).toBe(0);
  });

  it('plays audio: delivered → played', async () => {
    const res = await send({
      sessionName: 'main',
      to: PEER,
      type: 'audio',
      media: { base64: mediaSample.ogg(64).toString('base64'), mimetype: 'audio/ogg' },
    }).expect(202);
    await waitForStatus(res.body.id, 'sent');
    await receipt(res.body.id, 'delivered');
    await receipt(res.body.id, 'played');
    const played = await waitForStatus(res.body.id, 'played');
    expect(played.deliveredAt).toBeDefined();
    expect(played.playedAt).toBeDefined();
    // Played implies read, even when the read receipt never came (or came late and was ignored).
    expect(played.readAt).toBe(played.playedAt);
    await receipt(res.body.id, 'read');
    await new Promise((r) => setTimeout(r, 200));
    expect(await getMessage(res.body.id)).toMatchObject({
      status: 'played',
      readAt: played.playedAt,
    });
  });

  it('reads a played receipt of a text (nothing there to play) as read', async () => {
    const res = await send({ sessionName: 'main', to: PEER, text: 'not a voice note' }).expect(202);
    await waitForStatus(res.body.id, 'sent');
    await receipt(res.body.id, 'played');
    const read = await waitForStatus(res.body.id, 'read');
    expect(read.readAt).toBeDefined();
    expect(read.playedAt).toBeUndefined();
  });

  it('applies a read receipt of a message typed on the phone that comes before the message is stored', async () => {
    const sessionId = `${owner.organization.id}_main`;
    const control = t.app.get(SandboxControl);
    const typed = control.inbound(sessionId, {
      from: '+201009990061',
      fromMe: true,
      text: 'typed on the phone, read at once',
    });
    control.receipt(sessionId, typed.waMessageId, 'read', typed.chatJid);
    await waitFor(
      async () => {
        const page = await history({ sessionName: 'main', direction: 'out', status: 'read' });
        return page.items.some((m: { waMessageId: string }) => m.waMessageId === typed.waMessageId);
      },
      10_000,
      'the phone-typed message to be read',
    );
  });

  it('stores inbound messages of every type once, with media downloadable byte-exactly', async () => {
    const image = randomBytes(4096);
    const specs = [
      { text: 'plain text' },
      {
        type: 'image',
        media: { base64: image.toString('base64'), mimetype: 'image/jpeg' },
        caption: 'a photo',
      },
      {
        type: 'video',
        media: { base64: randomBytes(100).toString('base64'), mimetype: 'video/mp4' },
      },
      {
        type: 'voice',
        media: {
          base64: randomBytes(100).toString('base64'),
          mimetype: 'audio/ogg; codecs=opus',
          seconds: 3,
        },
      },
      {
        type: 'document',
        media: {
          base64: randomBytes(100).toString('base64'),
          mimetype: 'application/pdf',
          fileName: 'a.pdf',
        },
      },
      {
        type: 'sticker',
        media: { base64: randomBytes(100).toString('base64'), mimetype: 'image/webp' },
      },
      { type: 'location', location: { lat: 30.04, lng: 31.23, name: 'Cairo' } },
      { type: 'contact', contact: { displayName: 'Ali', vcard: 'BEGIN:VCARD\nFN:Ali\nEND:VCARD' } },
      { type: 'poll', poll: { name: 'Lunch?', options: ['Yes', 'No'] } },
    ];
    const ids: string[] = [];
    for (const spec of specs)
      ids.push(
        (await inbound({ from: '+201555000111', pushName: 'Ali', ...spec })).body.waMessageId,
      );
    const stored = await waitFor(
      async () => {
        const page = await history({ chat: '201555000111@s.whatsapp.net', limit: 50 });
        return page.total === specs.length ? page : undefined;
      },
      10_000,
      'all inbound messages',
    );
    expect(stored.items.map((m: { type: string }) => m.type).sort()).toEqual(
      [
        'text',
        'image',
        'video',
        'voice',
        'document',
        'sticker',
        'location',
        'contact',
        'poll',
      ].sort(),
    );
    for (const m of stored.items)
      expect(m).toMatchObject({
        direction: 'in',
        pushName: 'Ali',
        senderPhone: '201555000111',
        status: 'delivered',
      });
    const photo = stored.items.find((m: { type: string }) => m.type === 'image');
    expect(photo.caption).toBe('a photo');
    await waitFor(
      async () => (await getMessage(photo.id)).media.downloadStatus === 'stored',
      10_000,
      'media download',
    );
    const media = await downloadMedia(t, owner.auth, photo.id);
    expect(Buffer.compare(media.bytes, image)).toBe(0);
    expect(media.contentType).toBe('image/jpeg');

    // Reactions, edits and revokes land too, and change their target.
    const target = ids[0];
    await inbound({
      from: '+201555000111',
      type: 'reaction',
      reaction: { emoji: '👍', targetId: target },
    });
    await inbound({
      from: '+201555000111',
      type: 'edit',
      targetId: target,
      editedText: 'plain text, edited',
    });
    await waitFor(
      async () =>
        (await history({ chat: '201555000111@s.whatsapp.net', type: 'text' })).items[0]
          ?.editedText === 'plain text, edited',
      10_000,
      'edit',
    );
    // Search finds the text as it now reads, as the chat preview shows it.
    const found = await history({ chat: '201555000111@s.whatsapp.net', search: 'TEXT, EDITED' });
    expect(found.items.map((m: { id: string }) => m.id)).toEqual([
      (await history({ chat: '201555000111@s.whatsapp.net', type: 'text' })).items[0].id,
    ]);
    await inbound({ from: '+201555000111', type: 'revoke', targetId: target });
    const revoked = await waitFor(
      async () => {
        const [m] = (await history({ chat: '201555000111@s.whatsapp.net', type: 'text' })).items;
        return m?.revoked === true ? m : undefined;
      },
      10_000,
      'revoke',
    );
    // A reply cannot quote a message deleted for everyone (its content would show again), nor a
    // reaction, edit or revoke.
    const replyTo = (id: string) =>
      send({ sessionName: 'main', to: '+201555000111', text: 'Re', replyTo: id }).expect(400);
    expect((await replyTo(revoked.id)).body.code).toBe('REPLY_TARGET_REVOKED');
    const [reaction] = (await history({ chat: '201555000111@s.whatsapp.net', type: 'reaction' }))
      .items;
    expect((await replyTo(reaction.id)).body.code).toBe('REPLY_TARGET_NOT_FOUND');
  });

  it('refuses inbound media past the limit without downloading it, keeping the message', async () => {
    const sticker = randomBytes(1024 * 1024 + 1); // stickers: 1 MB at most
    const { waMessageId } = (
      await inbound({
        from: '+201555000112',
        type: 'sticker',
        media: { base64: sticker.toString('base64'), mimetype: 'image/webp' },
      })
    ).body;
    const stored = await waitFor(
      async () => {
        const [m] = (await history({ chat: '201555000112@s.whatsapp.net' })).items;
        return m?.waMessageId === waMessageId && m.media.downloadStatus === 'failed'
          ? m
          : undefined;
      },
      10_000,
      'the refused download',
    );
    expect(stored.media).toMatchObject({ size: sticker.length });
    expect(stored.media.downloadError).toContain('the limit is 1048576');
    await t.http().get(`/api/v1/whatsapp/messages/${stored.id}/media`).set(owner.auth).expect(404);
  });

  it('applies an edit or a revoke that arrived before its message once the message comes', async () => {
    await inbound({
      from: '+201555000777',
      type: 'edit',
      targetId: 'EARLYTARGET0001',
      editedText: 'fixed before it was seen',
      // In the past, so the later edits below can be newer without being dated in the future.
      timestamp: new Date(Date.now() - 10 * 60_000).toISOString(),
    });
    await inbound({ from: '+201555000888', type: 'revoke', targetId: 'EARLYTARGET0002' });
    const chat = (n: string) => `201555000${n}@s.whatsapp.net`;
    await waitFor(
      async () =>
        (await history({ chat: chat('777') })).total +
          (await history({ chat: chat('888') })).total ===
        2,
      10_000,
      'the edit and the revoke stored',
    );
    await inbound({ from: '+201555000777', text: 'tpyo', waMessageId: 'EARLYTARGET0001' });
    await inbound({ from: '+201555000888', text: 'oops', waMessageId: 'EARLYTARGET0002' });
    const changed = (n: string, field: 'editedText' | 'revoked') =>
      waitFor(
        async () => {
          const [m] = (await history({ chat: chat(n), type: 'text' })).items;
          return m?.[field] !== undefined ? m : undefined;
        },
        10_000,
        `the message of ${n} with ${field}`,
      );
    expect(await changed('777', 'editedText')).toMatchObject({
      text: 'tpyo',
      editedText: 'fixed before it was seen',
    });
    expect(await changed('888', 'revoked')).toMatchObject({ text: 'oops', revoked: true });

    // A newer edit wins; an older one that arrives after it changes nothing.
    const edited = await changed('777', 'editedText');
    const later = new Date(new Date(edited.editedAt).getTime() + 60_000);
    await inbound({
      from: '+201555000777',
      type: 'edit',
      targetId: 'EARLYTARGET0001',
      editedText: 'the newest text',
      timestamp: later.toISOString(),
    });
    await inbound({
      from: '+201555000777',
      type: 'edit',
      targetId: 'EARLYTARGET0001',
      editedText: 'an older text, late',
      timestamp: new Date(later.getTime() - 30_000).toISOString(),
    });
    await waitFor(
      async () => (await history({ chat: chat('777'), type: 'edit' })).total === 3,
      10_000,
      'both late edits stored',
    );
    // Every stored message's effects ran once no creation note is left open.
    const notes = t.app
      .get<string, Connection>(getConnectionToken())
      .collection('message_creations');
    await waitFor(async () => (await notes.countDocuments()) === 0, 10_000, 'effects applied');
    expect((await history({ chat: chat('777'), type: 'text' })).items[0]).toMatchObject({
      editedText: 'the newest text',
      editedAt: later.toISOString(),
    });
  });

  it('refuses inbound simulations WhatsApp could not deliver (400), storing nothing', async () => {
    const simulate = (body: object) =>
      t
        .http()
        .post('/api/v1/whatsapp/sandbox/sessions/main/inbound')
        .set(owner.auth)
        .send(body)
        .expect(400);
    const empty = await simulate({ from: '+201555000299', text: '' });
    expect(empty.body.details).toEqual({ text: ['text must not be empty'] });
    const missing = await simulate({ from: '+201555000299' });
    expect(missing.body).toMatchObject({
      code: 'SANDBOX_INVALID_INBOUND',
      message: 'a "text" message needs "text"',
    });
    expect((await history({ chat: '+201555000299' })).total).toBe(0);
  });

  it('stores a redelivered inbound message once', async () => {
    const body = { from: '+201555000222', text: 'only once', waMessageId: 'SANDBOXDUP0001' };
    await inbound(body);
    await inbound(body);
    await inbound(body);
    await waitFor(
      async () => (await history({ chat: '201555000222@s.whatsapp.net' })).total === 1,
      10_000,
      'the message',
    );
    await new Promise((r) => setTimeout(r, 300));
    expect((await history({ chat: '201555000222@s.whatsapp.net' })).total).toBe(1);
  });

  it('honours Idempotency-Key: a retry returns the original message, another request with the key is refused', async () => {
    const key = `key-${Date.now()}`;
    const bodies = await Promise.all(
      [1, 2, 3].map(() =>
        send(
          { sessionName: 'main', to: '+201555000333', text: 'pay invoice 42' },
          { 'Idempotency-Key': key },
        ).expect(202),
      ),
    );
    const ids = new Set(bodies.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    // Exactly one request created the message; the others replayed it.
    expect(bodies.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(2);
    await waitForStatus([...ids][0], 'sent');
    // A retry that spells the same recipient as a JID is the same request.
    const retry = await send(
      { sessionName: 'main', to: '201555000333@s.whatsapp.net', text: 'pay invoice 42' },
      { 'Idempotency-Key': key },
    ).expect(202);
    expect(retry.body.id).toBe([...ids][0]);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    // The same key with another request is refused, not answered with the first message.
    const reused = await send(
      { sessionName: 'main', to: '+201555000333', text: 'pay invoice 43' },
      { 'Idempotency-Key': key },
    ).expect(422);
    expect(reused.body).toMatchObject({
      code: 'IDEMPOTENCY_KEY_REUSED',
      details: { idempotencyKey: key },
    });
    expect((await history({ chat: '201555000333@s.whatsapp.net' })).total).toBe(1);
    const fresh = await send(
      { sessionName: 'main', to: '+201555000333', text: 'pay invoice 43' },
      { 'Idempotency-Key': `${key}-2` },
    ).expect(202);
    expect(fresh.headers['idempotent-replayed']).toBeUndefined();
    await send(
      { sessionName: 'main', to: '+201555000333', text: 'x' },
      { 'Idempotency-Key': 'bad key with spaces' },
    ).expect(400);
  });

  it('replays an accepted send to a retry with its Idempotency-Key after the session was deleted', async () => {
    await connectedSession(t, owner, 'brief');
    const body = { sessionName: 'brief', to: '+201555000444', text: 'order shipped' };
    const key = `key-gone-${Date.now()}`;
    const first = await send(body, { 'Idempotency-Key': key }).expect(202);
    await waitForStatus(first.body.id, 'sent');
    await t.http().delete('/api/v1/whatsapp/sessions/brief').set(owner.auth).expect(204);
    const retry = await send(body, { 'Idempotency-Key': key }).expect(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.id).toBe(first.body.id);
    // A new request to the deleted session is still a 404, and leaves its key free.
    const fresh = `${key}-new`;
    await send(body, { 'Idempotency-Key': fresh }).expect(404);
    await connectedSession(t, owner, 'brief');
    const again = await send(body, { 'Idempotency-Key': fresh }).expect(202);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
  });

  it('answers 202 for a send stored before its effects failed; recovery replays them, and a retry with its key replays it', async () => {
    // The database fails after the message is stored, while its chat, stats and event are being
    // recorded: the message is in the outbox and goes out, so the send is accepted.
    const creation = t.app.get(MessageCreationService);
    const blip = vi
      .spyOn(creation, 'complete')
      .mockRejectedValueOnce(new Error('connection reset while recording the effects'));
    const body = { sessionName: 'main', to: '+201555000446', text: 'charge card once' };
    const key = `key-blip-${Date.now()}`;
    let accepted;
    try {
      accepted = await send(body, { 'Idempotency-Key': key }).expect(202);
    } finally {
      blip.mockRestore();
    }
    expect(accepted.body).toMatchObject({ status: 'pending', text: 'charge card once' });
    await waitForStatus(accepted.body.id, 'sent');
    const retry = await send(body, { 'Idempotency-Key': key }).expect(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body.id).toBe(accepted.body.id);
    expect((await history({ chat: '+201555000446' })).total).toBe(1);
    // Its effects never ran: no chat yet. Its creation note stayed open for recovery, which
    // replays it once past the grace period.
    const chatJid = '201555000446@s.whatsapp.net';
    expect(await findChat(t, owner, chatJid)).toBeUndefined();
    const notes = t.app
      .get<string, Connection>(getConnectionToken())
      .collection('message_creations');
    await notes.updateMany({}, { $set: { createdAt: new Date(Date.now() - 10 * 60_000) } });
    await t.app.get(MessageEffectsRecovery).recover();
    expect(await findChat(t, owner, chatJid)).toMatchObject({
      lastMessage: expect.objectContaining({ id: accepted.body.id, preview: 'charge card once' }),
      messageCount: 1,
    });
    expect(await notes.countDocuments({ messageIds: accepted.body.id })).toBe(0);
  });

  it('answers 202 with a send whose insert the database applied but whose answer the connection lost, and records its chat', async () => {
    const repository = t.app.get(MessagesRepository);
    const insertAll = repository.insertAll.bind(repository);
    vi.spyOn(repository, 'insertAll').mockImplementationOnce(async (batch) => {
      await insertAll(batch);
      return batch.map(() => new MongoNetworkError('connection reset before the acknowledgement'));
    });
    const body = { sessionName: 'main', to: '+201555000448', text: 'answer lost' };
    const accepted = await send(body).expect(202);
    vi.restoreAllMocks();
    expect(accepted.body).toMatchObject({ status: 'pending', text: 'answer lost' });
    await waitForStatus(accepted.body.id, 'sent');
    expect(await findChat(t, owner, '201555000448@s.whatsapp.net')).toMatchObject({
      lastMessage: expect.objectContaining({ id: accepted.body.id }),
      messageCount: 1,
    });
    const notes = t.app
      .get<string, Connection>(getConnectionToken())
      .collection('message_creations');
    expect(await notes.countDocuments({ messageIds: accepted.body.id })).toBe(0);
  });

  it('deletes the media of a send refused after its media was stored: nothing is left in storage', async () => {
    const storage = t.app.get<symbol, MediaStorage>(MEDIA_STORAGE);
    const put = vi.spyOn(storage, 'put');
    const body = (text: string) => ({
      sessionName: 'main',
      to: '+201555000447',
      type: 'image',
      media: { base64: mediaSample.png(300).toString('base64'), mimetype: 'image/png' },
      caption: text,
    });
    // The message's insert fails: the request is a 500 and nothing was stored under its id.
    const insert = vi
      .spyOn(t.app.get(MessagesRepository), 'insertAll')
      .mockRejectedValueOnce(new Error('insert refused'));
    // Another retry with the key took the claim over while this one stored its media: a 409.
    const move = vi
      .spyOn(t.app.get(IdempotencyRepository), 'moveClaim')
      .mockResolvedValueOnce(false);
    try {
      await send(body('refused insert')).expect(500);
      await send(body('claim taken over'), { 'Idempotency-Key': `key-moved-${Date.now()}` }).expect(
        409,
      );
    } finally {
      insert.mockRestore();
      move.mockRestore();
    }
    const keys = put.mock.calls.map(([key]) => key);
    put.mockRestore();
    expect(keys).toHaveLength(2);
    for (const key of keys) expect(await storage.open(key)).toBeNull();
    expect((await history({ chat: '+201555000447' })).total).toBe(0);
  });

  it('previews a chat: cut between characters, never inside an emoji; polls, places and cards by name', async () => {
    const previewOf = (phone: string) =>
      waitFor(async () => {
        const chat = (
          await t.http().get('/api/v1/whatsapp/chats').query({ limit: 100 }).set(owner.auth)
        ).body.items.find((c: { chatJid: string }) => c.chatJid === `${phone}@s.whatsapp.net`);
        return chat?.lastMessage?.preview;
      });
    await inbound({ from: '+201555000941', text: `a${'😀'.repeat(200)}` });
    expect(await previewOf('201555000941')).toBe(`a${'😀'.repeat(119)}`);
    await inbound({
      from: '+201555000942',
      type: 'poll',
      poll: { name: 'Lunch?', options: ['Yes', 'No'] },
    });
    expect(await previewOf('201555000942')).toBe('Lunch?');
    await inbound({
      from: '+201555000943',
      type: 'location',
      location: { lat: 30.04, lng: 31.23, name: 'Cairo' },
    });
    expect(await previewOf('201555000943')).toBe('Cairo');
    await inbound({
      from: '+201555000944',
      type: 'contact',
      contact: { displayName: 'Ali', vcard: 'BEGIN:VCARD\nFN:Ali\nEND:VCARD' },
    });
    expect(await previewOf('201555000944')).toBe('Ali');
  });

  it('lets nobody edit or delete a message of another sender or chat, whatever id they name', async () => {
    const ours = await send({ sessionName: 'main', to: '+201555000931', text: 'Total: 100 USD' })
      .expect(202)
      .then((r) => waitForStatus(r.body.id, 'sent'));
    const theirs = (await inbound({ from: '+201555000932', text: 'my order' })).body.waMessageId;
    // The recipient of our message tries to rewrite it; a stranger tries to delete another chat's.
    await inbound({
      from: '+201555000931',
      type: 'edit',
      targetId: ours.waMessageId,
      editedText: 'Total: 1 USD',
    });
    await inbound({ from: '+201555000933', type: 'revoke', targetId: theirs });
    // Both were stored as what they are, and changed nothing.
    await waitFor(
      async () =>
        (await history({ chat: '+201555000931', type: 'edit' })).total === 1 &&
        (await history({ chat: '+201555000933', type: 'revoke' })).total === 1,
      10_000,
      'the forged changes stored',
    );
    const [theirsNow] = (await history({ chat: '+201555000932' })).items;
    expect(await getMessage(ours.id)).not.toHaveProperty('editedText');
    expect(theirsNow).toMatchObject({ text: 'my order' });
    expect(theirsNow).not.toHaveProperty('revoked');
    // Nor can a member of a group delete our message there.
    const group = '120363000000000931@g.us';
    await inbound({ from: '+201555000934', chatJid: group, text: 'hi all' }); // the group, with a member
    const inGroup = await send({ sessionName: 'main', to: group, text: 'Meeting at 5' })
      .expect(202)
      .then((r) => waitForStatus(r.body.id, 'sent'));
    await inbound({
      from: '+201555000934',
      chatJid: group,
      type: 'revoke',
      targetId: inGroup.waMessageId,
    });
    await waitFor(
      async () => (await history({ chat: group, type: 'revoke' })).total === 1,
      10_000,
      'the group revoke stored',
    );
    expect(await getMessage(inGroup.id)).not.toHaveProperty('revoked');
    // The sender's own revoke still works.
    await inbound({ from: '+201555000932', type: 'revoke', targetId: theirs });
    await waitFor(
      async () => (await history({ chat: '+201555000932', type: 'text' })).items[0]?.revoked,
      10_000,
      'the own revoke',
    );
  });

  // The quote travels inside the reply (WhatsApp's contextInfo): its author and its content are
  // what the recipient's app shows. On the emulator this is what the recipient decrypted.
  it('replies quote the author and the content of the quoted message', async () => {
    const control = t.app.get(SandboxControl);
    const sessionId = `${owner.organization.id}_main`;
    const group = '120363000000000734@g.us';
    const member = '+201555000734';
    const memberJid = '201555000734@s.whatsapp.net';
    await inbound({ from: member, chatJid: group, text: 'Which size fits me?' });
    await inbound({
      from: member,
      chatJid: group,
      type: 'image',
      caption: 'this one',
      media: { base64: mediaSample.png(512).toString('base64'), mimetype: 'image/png' },
    });
    await inbound({ from: '+201555000713', text: 'Still open?' });
    const byType = await waitFor(
      async () => {
        const { items } = await history({ chat: group });
        return items.length === 2
          ? Object.fromEntries(items.map((m: { type: string }) => [m.type, m]))
          : undefined;
      },
      10_000,
      'the group messages',
    );
    const { text: question, image: photo } = byType;
    const peerMsg = await waitFor(
      async () => (await history({ chat: '+201555000713' })).items[0],
      10_000,
      'the 1:1 message',
    );
    const ours = await send({ sessionName: 'main', to: group, text: 'Question?' })
      .expect(202)
      .then((r) => waitForStatus(r.body.id, 'sent'));

    const replyWith = async (to: string, replyTo: string) => {
      const res = await send({ sessionName: 'main', to, text: 'Re', replyTo }).expect(202);
      expect(res.body.quotedId).toEqual(expect.any(String));
      const sent = await waitForStatus(res.body.id, 'sent');
      return waitFor(
        async () => control.sentQuote(sessionId, sent.waMessageId),
        10_000,
        'the quote at the recipient',
      );
    };
    expect(await replyWith(group, question.id)).toMatchObject({
      waMessageId: question.waMessageId,
      participant: memberJid,
      type: 'text',
      text: 'Which size fits me?',
    });
    expect(await replyWith(group, photo.id)).toMatchObject({
      waMessageId: photo.waMessageId,
      participant: memberJid,
      type: 'image',
      caption: 'this one',
    });
    // Our own message: our account wrote it.
    expect(await replyWith(group, ours.id)).toMatchObject({
      participant: '201001234567@s.whatsapp.net',
      text: 'Question?',
    });
    // 1:1: the peer wrote it.
    expect(await replyWith('+201555000713', peerMsg.id)).toMatchObject({
      waMessageId: peerMsg.waMessageId,
      participant: '201555000713@s.whatsapp.net',
      text: 'Still open?',
    });
  });

  // WhatsApp dates messages in whole seconds, the gateway its sends in milliseconds: a reply within
  // the same second as our message is still newer (history order, the chat's last message).
  it('orders a reply that came within the same second after the message it answers', async () => {
    const peer = '+201555000714';
    const jid = '201555000714@s.whatsapp.net';
    // Early enough in a second that the answer is stamped in the same one as the question.
    while (Date.now() % 1000 < 100 || Date.now() % 1000 > 500)
      await new Promise((r) => setTimeout(r, 5));
    const question = await send({ sessionName: 'main', to: peer, text: 'Question?' }).expect(202);
    // Stamped with the question's second as WhatsApp would, however long this machine took.
    const second = new Date(Math.floor(Date.parse(question.body.timestamp) / 1000) * 1000);
    await inbound({ from: peer, text: 'Answer!', timestamp: second.toISOString() });
    const [answer] = await waitFor(
      async () => {
        const { items } = await history({ chat: jid, direction: 'in' });
        return items.length ? items : undefined;
      },
      10_000,
      'the answer',
    );
    expect(Math.floor(Date.parse(answer.timestamp) / 1000)).toBe(
      Math.floor(Date.parse(question.body.timestamp) / 1000),
    );
    expect(Date.parse(answer.timestamp)).toBeGreaterThan(Date.parse(question.body.timestamp));
    expect((await history({ chat: jid })).items.map((m: { text: string }) => m.text)).toEqual([
      'Answer!',
      'Question?',
    ]);
    // The page before the answer holds the question; since/until agree with the same times.
    expect(
      (await history({ chat: jid, before: answer.id })).items.map((m: { text: string }) => m.text),
    ).toEqual(['Question?']);
    expect(
      (await history({ chat: jid, since: answer.timestamp })).items.map(
        (m: { text: string }) => m.text,
      ),
    ).toEqual(['Answer!']);
    const chat = await waitFor(
      async () => {
        const { items } = (
          await t.http().get('/api/v1/whatsapp/chats').query({ limit: 100 }).set(owner.auth)
        ).body;
        const found = items.find((c: { chatJid: string }) => c.chatJid === jid);
        return found?.messageCount === 2 ? found : undefined;
      },
      10_000,
      'the chat with both messages',
    );
    expect(chat.lastMessage).toMatchObject({ preview: 'Answer!', direction: 'in' });
  });

  it('pages chats whose last messages share a time: each chat on exactly one page', async () => {
    await connectedSession(t, owner, 'ties');
    const at = '2026-11-29T10:00:00Z'; // late: each is dated at the end of that second, all alike
    const phones = ['+201555001001', '+201555001002', '+201555001003', '+201555001004'];
    for (const from of phones)
      await t
        .http()
        .post('/api/v1/whatsapp/sandbox/sessions/ties/inbound')
        .set(owner.auth)
        .send({ from, text: 'same second', timestamp: at })
        .expect(202);
    const page = async (n: number) =>
      (
        await t
          .http()
          .get('/api/v1/whatsapp/chats')
          .query({ sessionName: 'ties', page: n, limit: 1 })
          .set(owner.auth)
          .expect(200)
      ).body;
    await waitFor(async () => (await page(1)).total === phones.length, 5_000, 'four chats');
    const seen: string[] = [];
    for (let n = 1; n <= phones.length; n++) {
      const { items } = await page(n);
      expect(items[0].lastMessageAt).toBe('2026-11-29T10:00:00.999Z');
      seen.push(items[0].chatJid);
    }
    expect(new Set(seen).size).toBe(phones.length);
  });

  it('lists chats with their last message and unread count', async () => {
    await inbound({ from: '+201555000444', text: 'first' });
    await inbound({ from: '+201555000444', text: 'second' });
    const chat = await waitFor(
      async () => {
        const found = await findChat(t, owner, '201555000444@s.whatsapp.net', {
          sessionName: 'main',
        });
        return found?.unreadCount === 2 && found.lastMessage?.preview === 'second'
          ? found
          : undefined;
      },
      10_000,
      'chat with 2 unread, last one "second"',
    );
    expect(chat.lastMessage).toMatchObject({ direction: 'in', preview: 'second' });
    await send({ sessionName: 'main', to: '+201555000444', text: 'reply' }).expect(202);
    await waitFor(
      async () => {
        const res = await t.http().get('/api/v1/whatsapp/chats').set(owner.auth).expect(200);
        const found = res.body.items.find(
          (c: { chatJid: string }) => c.chatJid === '201555000444@s.whatsapp.net',
        );
        return found?.unreadCount === 0 && found.lastMessage.direction === 'out';
      },
      10_000,
      'chat read after reply',
    );

    // A group's last message says who sent it.
    const group = '120363000000000444@g.us';
    await inbound({ from: '+201555000445', chatJid: group, pushName: 'Ali', text: 'hi all' });
    await inbound({ from: '+201555000446', chatJid: group, pushName: 'Bee', text: 'hello' });
    const groupChat = await waitFor(
      async () => {
        const res = await t.http().get('/api/v1/whatsapp/chats').set(owner.auth).expect(200);
        const found = res.body.items.find((c: { chatJid: string }) => c.chatJid === group);
        return found?.lastMessage?.preview === 'hello' ? found : undefined;
      },
      10_000,
      'the group chat',
    );
    expect(groupChat).toMatchObject({
      unreadCount: 2,
      lastMessage: { senderJid: '201555000446@s.whatsapp.net', pushName: 'Bee' },
    });
  });

  // Once WhatsApp has revealed a LID's phone number, it writes the LID's messages with it (sender_pn,
  // participant_pn; Baileys: key.remoteJidAlt, key.participantAlt), and they are filed under the
  // phone: one chat for the person from then on, on both engines. The inbound route names the chat
  // the message is stored under.
  it('files a LID sender under its phone chat once the mapping is revealed, and the inbound route says so', async () => {
    const lid = '987650000771@lid';
    const phone = '+201555000771';
    const jid = '201555000771@s.whatsapp.net';
    const group = '120363000000000771@g.us';
    const stored = (chat: string, text: string) =>
      waitFor(
        async () => (await history({ chat })).items.find((m: { text?: string }) => m.text === text),
        10_000,
        `"${text}" in ${chat}`,
      );
    const chatOf = async (chatJid: string) =>
      (
        await t.http().get('/api/v1/whatsapp/chats').query({ limit: 100 }).set(owner.auth)
      ).body.items.find((c: { chatJid: string }) => c.chatJid === chatJid);

    const first = await inbound({ from: lid, pushName: 'Lena', text: 'before the mapping' });
    expect(first.body.chatJid).toBe(lid);
    const before = await stored(lid, 'before the mapping');
    expect(before).toMatchObject({ chatJid: lid, senderJid: lid, senderLid: lid });
    expect(before).not.toHaveProperty('senderPhone');

    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/main/lid-mapping')
      .set(owner.auth)
      .send({ phone, lid })
      .expect(202);
    const second = await inbound({ from: lid, text: 'after the mapping' });
    expect(second.body.chatJid).toBe(jid);
    expect(await stored(jid, 'after the mapping')).toMatchObject({
      direction: 'in',
      chatJid: jid,
      senderJid: jid,
      senderPhone: '201555000771',
      senderLid: lid,
    });
    // In a group, the member is shown by its phone number too.
    const inGroup = await inbound({ from: lid, chatJid: group, text: 'in the group' });
    expect(inGroup.body.chatJid).toBe(group);
    expect(await stored(group, 'in the group')).toMatchObject({
      chatJid: group,
      senderJid: jid,
      participant: jid,
      senderPhone: '201555000771',
      senderLid: lid,
    });
    expect((await history({ chat: lid })).total).toBe(1);

    // The phone chat holds the message: a reply to the phone number answers it.
    await waitFor(
      async () => (await chatOf(jid))?.unreadCount === 1,
      10_000,
      'the phone chat with one unread',
    );
    await send({ sessionName: 'main', to: phone, text: 'got it' }).expect(202);
    await waitFor(
      async () => (await chatOf(jid))?.unreadCount === 0,
      10_000,
      'the phone chat read after the reply',
    );
    expect(await chatOf(lid)).toMatchObject({ messageCount: 1 });
  });

  it('keeps reactions, edits and revokes out of chat counts; the last message follows edits and deletion', async () => {
    const chatOf = async (jid: string) =>
      (
        await t.http().get('/api/v1/whatsapp/chats').query({ limit: 100 }).set(owner.auth)
      ).body.items.find((c: { chatJid: string }) => c.chatJid === jid);
    const from = '+201555000611';
    const jid = '201555000611@s.whatsapp.net';
    const said = (await inbound({ from, text: 'see you at 5' })).body.waMessageId;
    await inbound({ from, type: 'reaction', reaction: { emoji: '👍', targetId: said } });
    await inbound({ from, type: 'edit', targetId: said, editedText: 'see you at 6' });
    const edited = await waitFor(
      async () => {
        const chat = await chatOf(jid);
        return chat?.lastMessage?.preview === 'see you at 6' ? chat : undefined;
      },
      10_000,
      'the edited preview',
    );
    expect(edited).toMatchObject({
      unreadCount: 1,
      messageCount: 1,
      lastMessage: { type: 'text', direction: 'in' },
    });
    await inbound({ from, type: 'revoke', targetId: said });
    const deleted = await waitFor(
      async () => {
        const chat = await chatOf(jid);
        return chat?.lastMessage?.revoked ? chat : undefined;
      },
      10_000,
      'the deleted last message',
    );
    expect(deleted.lastMessage.preview).toBeUndefined(); // deleted text does not linger
    expect(deleted).toMatchObject({ unreadCount: 1, messageCount: 1 });

    // An edit that overtook its message: the chat shows the edited text once the message comes.
    const early = '+201555000612';
    await inbound({ from: early, type: 'edit', targetId: 'EARLY-1', editedText: 'fixed typo' });
    await inbound({ from: early, text: 'fixde typo', waMessageId: 'EARLY-1' });
    const overtaken = await waitFor(
      async () => {
        const chat = await chatOf('201555000612@s.whatsapp.net');
        return chat?.lastMessage?.preview === 'fixed typo' ? chat : undefined;
      },
      10_000,
      'the early edit in the chat list',
    );
    expect(overtaken).toMatchObject({ unreadCount: 1, messageCount: 1 });
  });

  it('marks a chat read: receipts go to WhatsApp, its messages become read, the unread count drops', async () => {
    const peer = '+201555000566';
    const jid = '201555000566@s.whatsapp.net';
    const markRead = (body: object, who = owner) =>
      t.http().post('/api/v1/whatsapp/chats/read').set(who.auth).send(body);
    const chatOf = async (sessionName: string) =>
      (
        await t.http().get('/api/v1/whatsapp/chats').query({ sessionName }).set(owner.auth)
      ).body.items.find((c: { chatJid: string }) => c.chatJid === jid);
    const readReceipts = () =>
      t.app.get(SandboxControl).readReceipts(`${owner.organization.id}_main`);

    const none = await markRead({ sessionName: 'main', chat: peer }).expect(404);
    expect(none.body).toMatchObject({ code: 'CHAT_NOT_FOUND', details: { chatJid: jid } });
    const one = (await inbound({ from: peer, text: 'one' })).body.waMessageId;
    const two = (await inbound({ from: peer, text: 'two' })).body.waMessageId;
    await waitFor(async () => (await chatOf('main'))?.unreadCount === 2, 10_000, '2 unread');

    const read = await markRead({ sessionName: 'main', chat: peer }).expect(200);
    expect(read.body).toMatchObject({ marked: 2, chat: { chatJid: jid, unreadCount: 0 } });
    const messages = (await history({ chat: jid })).items;
    expect(messages.map((m: { status: string }) => m.status)).toEqual(['read', 'read']);
    expect(messages.every((m: { readAt?: string }) => !!m.readAt)).toBe(true);
    // The engine reported both to WhatsApp (the emulator records what Baileys sent it).
    await waitFor(
      async () => [one, two].every((id) => readReceipts().includes(id)),
      10_000,
      'read receipts at WhatsApp',
    );

    // Nothing left to read: a repeat changes nothing and sends nothing.
    const receiptsBefore = readReceipts().length;
    expect((await markRead({ sessionName: 'main', chat: jid }).expect(200)).body).toMatchObject({
      marked: 0,
      chat: { unreadCount: 0 },
    });
    expect(readReceipts()).toHaveLength(receiptsBefore);
    await inbound({ from: peer, text: 'three' });
    await waitFor(async () => (await chatOf('main'))?.unreadCount === 1, 10_000, '1 unread');
    expect((await markRead({ sessionName: 'main', chat: peer }).expect(200)).body.marked).toBe(1);

    // A count left behind (a crash between marking the messages and the count) is repaired.
    await t.app
      .get<Connection>(getConnectionToken())
      .collection('chats')
      .updateOne({ chatJid: jid, sessionName: 'main' }, { $set: { unreadCount: 4 } });
    expect((await markRead({ sessionName: 'main', chat: peer }).expect(200)).body).toMatchObject({
      marked: 0,
      chat: { unreadCount: 0 },
    });

    for (const chat of ['abc', '120363000000000001'])
      expect(
        (await markRead({ sessionName: 'main', chat }).expect(400)).body.details.chat,
      ).toBeDefined();
    await markRead({ sessionName: 'main' }).expect(400);
    expect((await markRead({ sessionName: 'ghost', chat: peer }).expect(404)).body.code).toBe(
      'SESSION_NOT_FOUND',
    );
    await markRead({ sessionName: 'main', chat: peer }, await registerUser(t)).expect(404);

    // Marking does not wait for WhatsApp: while the connection is down the receipt is queued,
    // and it is sent once the session is back.
    await connectedSession(t, owner, 'reader');
    const reader = (route: string, body: object) =>
      t
        .http()
        .post(`/api/v1/whatsapp/sandbox/sessions/reader/${route}`)
        .set(owner.auth)
        .send(body)
        .expect(202);
    const queued = (await reader('inbound', { from: peer, text: 'while offline' })).body
      .waMessageId;
    await waitFor(async () => (await chatOf('reader'))?.unreadCount === 1, 10_000, 'reader chat');
    await reader('disconnect', { reason: 'connectionLost' });
    expect((await markRead({ sessionName: 'reader', chat: peer }).expect(200)).body).toMatchObject({
      marked: 1,
      chat: { unreadCount: 0 },
    });
    await waitForSessionStatus(t, owner, 'reader', 'connected', 15_000);
    await waitFor(
      async () =>
        t.app.get(SandboxControl).readReceipts(`${owner.organization.id}_reader`).includes(queued),
      15_000,
      'the queued read receipt, after reconnecting',
    );

    // A logged-out session can no longer tell WhatsApp anything.
    await reader('disconnect', { reason: 'loggedOut' });
    await waitForSessionStatus(t, owner, 'reader', 'logged_out');
    const loggedOut = await markRead({ sessionName: 'reader', chat: peer }).expect(409);
    expect(loggedOut.body.code).toBe('SESSION_LOGGED_OUT');
  });

  it('follows the phone: messages read there become read here and leave the unread count', async () => {
    const peer = '+201555000577';
    const jid = '201555000577@s.whatsapp.net';
    const group = '120363000000000577@g.us';
    const phoneRead = (messageIds: string[]) =>
      t
        .http()
        .post('/api/v1/whatsapp/sandbox/sessions/main/phone-read')
        .set(owner.auth)
        .send({ messageIds });
    const unreadOf = async (chatJid: string) =>
      (
        await t.http().get('/api/v1/whatsapp/chats').query({ limit: 100 }).set(owner.auth)
      ).body.items.find((c: { chatJid: string }) => c.chatJid === chatJid)?.unreadCount;
    const stored = async (chatJid: string) =>
      (await history({ chat: chatJid, limit: 100 })).items as Array<{
        id: string;
        waMessageId: string;
        status: string;
        readAt?: string;
      }>;

    const said = [];
    for (const text of ['one', 'two', 'three'])
      said.push((await inbound({ from: peer, text })).body.waMessageId);
    await inbound({ from: peer, type: 'reaction', reaction: { emoji: '👍', targetId: said[0] } });
    const inGroup = (await inbound({ from: '+201555000578', chatJid: group, text: 'hi' })).body
      .waMessageId;
    await waitFor(async () => (await unreadOf(jid)) === 3, 10_000, '3 unread');
    await waitFor(async () => (await unreadOf(group)) === 1, 10_000, 'the group unread');
    const idOf = async (chatJid: string, waMessageId: string) =>
      (await stored(chatJid)).find((m) => m.waMessageId === waMessageId)!.id;
    const [one, two, three] = await Promise.all(said.map((w) => idOf(jid, w)));

    await phoneRead([one, two]).expect(202);
    await waitFor(async () => (await unreadOf(jid)) === 1, 10_000, '1 unread after the phone');
    const byId = new Map((await stored(jid)).map((m) => [m.id, m]));
    expect([one, two, three].map((id) => byId.get(id)?.status)).toEqual([
      'read',
      'read',
      'delivered',
    ]);
    expect(byId.get(one)?.readAt).toBeDefined();

    // A repeated receipt changes nothing; the rest, in a group too, is read next.
    await phoneRead([one, two]).expect(202);
    await phoneRead([three, await idOf(group, inGroup)]).expect(202);
    await waitFor(async () => (await unreadOf(group)) === 0, 10_000, 'the group read');
    await waitFor(async () => (await unreadOf(jid)) === 0, 10_000, 'the chat read');
    await new Promise((r) => setTimeout(r, 300));
    expect(await unreadOf(jid)).toBe(0);
    // The phone told the senders: the gateway sends no read receipts of its own for these.
    const ours = t.app.get(SandboxControl).readReceipts(`${owner.organization.id}_main`);
    expect(said.some((w) => ours.includes(w))).toBe(false);

    // Only received messages of this session can be read on its phone.
    const sent = (await send({ sessionName: 'main', to: peer, text: 'ours' }).expect(202)).body;
    expect((await phoneRead([sent.id]).expect(400)).body.code).toBe('NOT_A_RECEIVED_MESSAGE');
    await phoneRead([]).expect(400);
    await phoneRead(['ffffffffffffffffffffffff']).expect(404);
  });

  it('a reply clears the unread count: reading the older messages later takes nothing newer off it', async () => {
    const peer = '+201555000591';
    const jid = '201555000591@s.whatsapp.net';
    const unreadOf = async () =>
      (
        await t.http().get('/api/v1/whatsapp/chats').query({ limit: 100 }).set(owner.auth)
      ).body.items.find((c: { chatJid: string }) => c.chatJid === jid)?.unreadCount;
    const idOf = async (waMessageId: string) =>
      (await history({ chat: jid, limit: 100 })).items.find(
        (m: { waMessageId: string }) => m.waMessageId === waMessageId,
      ).id as string;

    const before = (await inbound({ from: peer, text: 'before the reply' })).body.waMessageId;
    await waitFor(async () => (await unreadOf()) === 1, 10_000, '1 unread');
    await send({ sessionName: 'main', to: peer, text: 'our reply' }).expect(202);
    await waitFor(async () => (await unreadOf()) === 0, 10_000, 'cleared by the reply');
    await inbound({ from: peer, text: 'after the reply' });
    await waitFor(async () => (await unreadOf()) === 1, 10_000, 'the new one unread');

    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/main/phone-read')
      .set(owner.auth)
      .send({ messageIds: [await idOf(before)] })
      .expect(202);
    await waitFor(
      async () =>
        (await history({ chat: jid, limit: 100 })).items.find(
          (m: { waMessageId: string }) => m.waMessageId === before,
        ).status === 'read',
      10_000,
      'the older message read on the phone',
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(await unreadOf()).toBe(1); // the message after the reply is still unread

    const read = await t
      .http()
      .post('/api/v1/whatsapp/chats/read')
      .set(owner.auth)
      .send({ sessionName: 'main', chat: peer })
      .expect(200);
    expect(read.body).toMatchObject({ marked: 1, chat: { unreadCount: 0 } });
  });

  it('counts unread by time when received messages and our sends to the chat are handled at once', async () => {
    const peer = '+201555000593';
    const jid = '201555000593@s.whatsapp.net';
    const chatOf = async () =>
      (
        await t.http().get('/api/v1/whatsapp/chats').query({ limit: 100 }).set(owner.auth)
      ).body.items.find((c: { chatJid: string }) => c.chatJid === jid);
    type Listed = { id: string; direction: string; status: string; timestamp: string };
    // WhatsApp dates in whole seconds; within a second, store order (ids) decides.
    const second = (m: Listed) => Math.floor(Date.parse(m.timestamp) / 1000);
    const after = (a: Listed, b: Listed) =>
      second(a) === second(b) ? a.id > b.id : second(a) > second(b);
    /** What the rule says: received messages after our latest one that went out that nobody read. */
    const expectedUnread = async () => {
      const items: Listed[] = (await history({ chat: jid, limit: 100 })).items;
      const ours = items.filter(
        (m) => m.direction === 'out' && m.status !== 'pending' && m.status !== 'failed',
      );
      const latest = ours.reduce<Listed | undefined>(
        (a, b) => (!a || after(b, a) ? b : a),
        undefined,
      );
      return items.filter(
        (m) => m.direction === 'in' && m.status !== 'read' && (!latest || after(m, latest)),
      ).length;
    };
    const db = t.app.get<string, Connection>(getConnectionToken());
    let total = 0;
    /**
     * Waits until every message of the round was counted into the chat and each of ours went out
     * (its message.sent event is announced after its chat was cleared), then checks the count.
     */
    const settledRound = async (added: number) => {
      total += added;
      await waitFor(
        async () => (await chatOf())?.messageCount === total,
        10_000,
        `${total} messages`,
      );
      await waitFor(
        async () => {
          const ours: Listed[] = (await history({ chat: jid, limit: 100, direction: 'out' })).items;
          const sent = await db.collection('events').countDocuments({
            sourceKey: { $in: ours.map((m) => `message.status:${m.id}:sent`) },
          });
          return sent === ours.length;
        },
        10_000,
        'our messages sent',
      );
      const chat = await chatOf();
      expect(chat.unreadCount).toBe(await expectedUnread());
      return chat;
    };

    // Two received messages, then at once our reply: its batch can be counted before theirs.
    for (let round = 0; round < 3; round++) {
      await inbound({ from: peer, text: `question ${round}` });
      await inbound({ from: peer, text: `more ${round}` });
      // Stored (the emulator delivers after answering), their chat not necessarily counted yet.
      await waitFor(
        async () => (await history({ chat: jid, limit: 100 })).items.length === total + 2,
        10_000,
        'both received',
      );
      await send({ sessionName: 'main', to: peer, text: `answer ${round}` }).expect(202);
      expect((await settledRound(3)).unreadCount).toBe(0); // our answer came last
    }
    // Five of each at the same time, then one more received: marking read clears the count.
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        Array.from({ length: 5 }, (_, i) => [
          inbound({ from: peer, text: `in ${round}.${i}` }),
          send({ sessionName: 'main', to: peer, text: `out ${round}.${i}` }).expect(202),
        ]).flat(),
      );
      await inbound({ from: peer, text: `last ${round}` });
      await settledRound(11);
      const read = await t
        .http()
        .post('/api/v1/whatsapp/chats/read')
        .set(owner.auth)
        .send({ sessionName: 'main', chat: peer })
        .expect(200);
      expect(read.body.chat.unreadCount).toBe(0);
      expect(await chatOf()).toMatchObject({ unreadCount: 0 });
      expect(await expectedUnread()).toBe(0);
    }
  });

  it('stores history-sync messages as earlier ones: not unread, not announced', async () => {
    const peer = '+201555000588';
    const jid = '201555000588@s.whatsapp.net';
    const db = t.app.get<string, Connection>(getConnectionToken());
    const announced = () =>
      db.collection('events').countDocuments({
        organizationId: owner.organization.id,
        type: { $in: ['message.received', 'message.sent'] },
        'data.chatJid': jid,
      });
    const chatOf = async () =>
      (
        await t.http().get('/api/v1/whatsapp/chats').query({ limit: 100 }).set(owner.auth)
      ).body.items.find((c: { chatJid: string }) => c.chatJid === jid);
    const lastWeek = Date.now() - 7 * 86_400_000;
    await inbound({
      from: peer,
      text: 'from last week',
      history: true,
      timestamp: new Date(lastWeek).toISOString(),
    });
    await inbound({
      from: peer,
      fromMe: true,
      text: 'my answer back then',
      history: true,
      timestamp: new Date(lastWeek + 60_000).toISOString(),
    });
    const synced = await waitFor(
      async () => ((await chatOf())?.messageCount === 2 ? chatOf() : undefined),
      10_000,
      'the synced chat',
    );
    expect(synced).toMatchObject({
      unreadCount: 0,
      lastMessage: { preview: 'my answer back then', direction: 'out' },
    });
    const earlier = (await history({ chat: jid })).items;
    expect(earlier.map((m: { history?: boolean }) => m.history)).toEqual([true, true]);
    expect(await announced()).toBe(0);

    // A live message is unread and announced; marking the chat read marks only it.
    await inbound({ from: peer, text: 'hello again' });
    await waitFor(async () => (await chatOf())?.unreadCount === 1, 10_000, 'the live one unread');
    await waitFor(async () => (await announced()) === 1, 10_000, 'the live one announced');
    const read = await t
      .http()
      .post('/api/v1/whatsapp/chats/read')
      .set(owner.auth)
      .send({ sessionName: 'main', chat: peer })
      .expect(200);
    expect(read.body).toMatchObject({ marked: 1, chat: { unreadCount: 0, messageCount: 3 } });
  });

  it('filters and paginates history, by page and by cursor', async () => {
    for (let i = 0; i < 5; i++) await inbound({ from: '+201555000555', text: `numbered ${i}` });
    await waitFor(
      async () => (await history({ chat: '+201555000555' })).total === 5,
      10_000,
      '5 messages',
    );
    const first = await history({ chat: '+201555000555', limit: 2, page: 1 });
    expect(first).toMatchObject({ total: 5, page: 1, limit: 2 });
    expect(first.items.map((m: { text: string }) => m.text)).toEqual(['numbered 4', 'numbered 3']);
    const third = await history({ chat: '+201555000555', limit: 2, page: 3 });
    expect(third.items.map((m: { text: string }) => m.text)).toEqual(['numbered 0']);
    const older = await history({ chat: '+201555000555', limit: 10, before: first.items[1].id });
    expect(older.items.map((m: { text: string }) => m.text)).toEqual([
      'numbered 2',
      'numbered 1',
      'numbered 0',
    ]);
    const search = await history({ search: 'NUMBERED 3' });
    expect(search.items.map((m: { text: string }) => m.text)).toEqual(['numbered 3']);
    expect((await history({ chat: '+201555000111', direction: 'in', type: 'poll' })).total).toBe(1);
    for (const limit of [0, 101, 'x'])
      await t.http().get('/api/v1/whatsapp/messages').query({ limit }).set(owner.auth).expect(400);
    for (const since of ['yesterday', '2026-02-30', '2026-01-01T10:00'])
      await t.http().get('/api/v1/whatsapp/messages').query({ since }).set(owner.auth).expect(400);
    await t
      .http()
      .get('/api/v1/whatsapp/messages')
      .query({ status: 'lost' })
      .set(owner.auth)
      .expect(400);
    // A session the organization does not have is a 404, not an empty page (as on /stats).
    for (const path of ['messages', 'chats'])
      expect(
        (
          await t
            .http()
            .get(`/api/v1/whatsapp/${path}`)
            .query({ sessionName: 'ghost' })
            .set(owner.auth)
            .expect(404)
        ).body.code,
      ).toBe('SESSION_NOT_FOUND');
    // A group id without its @g.us (or any non-chat) is a 400, not an empty page.
    for (const chat of ['120363000000000001', 'abc'])
      expect(
        (
          await t
            .http()
            .get('/api/v1/whatsapp/messages')
            .query({ chat })
            .set(owner.auth)
            .expect(400)
        ).body.details.chat,
      ).toBeDefined();
    // Parameters that contradict each other are refused, not answered with an empty page.
    const reversed = await t
      .http()
      .get('/api/v1/whatsapp/messages')
      .query({ since: '2026-02-02T00:00:00Z', until: '2026-02-01T00:00:00Z' })
      .set(owner.auth)
      .expect(400);
    expect(reversed.body.code).toBe('MESSAGES_RANGE_INVALID');
    const pageAndCursor = await t
      .http()
      .get('/api/v1/whatsapp/messages')
      .query({ before: first.items[1].id, page: 2 })
      .set(owner.auth)
      .expect(400);
    expect(pageAndCursor.body.code).toBe('MESSAGES_PAGE_WITH_CURSOR');
  });

  it('pages a long history by cursor, newest first, messages of one second by id, with the total left', async () => {
    // Enough messages that the embedded store reads the history index's order (past 1,000).
    const other = await registerUser(t);
    const start = Date.UTC(2026, 0, 1);
    const stored = Array.from({ length: 1200 }, (_, i) => ({
      _id: new Types.ObjectId().toHexString(),
      organizationId: other.organization.id,
      sessionId: `${other.organization.id}_main`,
      sessionName: 'main',
      chatJid: PEER_JID,
      direction: 'in',
      type: 'text',
      status: 'delivered',
      text: `m${i}`,
      timestamp: new Date(start + ((i * 37) % 300) * 1000), // four messages a second
    }));
    const db = t.app.get<string, Connection>(getConnectionToken());
    await db.collection('messages').insertMany(stored as never[]);
    const newestFirst = [...stored]
      .sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime() || (a._id < b._id ? 1 : -1))
      .map((m) => m._id);
    const pageOf = async (query: Record<string, string | number>) =>
      (
        await t
          .http()
          .get('/api/v1/whatsapp/messages')
          .query({ limit: 100, ...query })
          .set(other.auth)
          .expect(200)
      ).body;
    let page = await pageOf({});
    const seen: string[] = page.items.map((m: { id: string }) => m.id);
    expect(page.total).toBe(1200);
    while (seen.length < 1200) {
      page = await pageOf({ before: seen[seen.length - 1] });
      expect(page.total).toBe(1200 - seen.length);
      seen.push(...page.items.map((m: { id: string }) => m.id));
    }
    expect(seen).toEqual(newestFirst);
    expect((await pageOf({ before: seen[seen.length - 1] })).items).toEqual([]);
  });

  it.each<[object, string]>([
    [{ sessionName: 'main', to: '12ab', text: 'x' }, 'to'],
    [{ sessionName: 'main', to: '+0000000000', text: 'x' }, 'to'],
    [{ sessionName: 'main', to: '-@s.whatsapp.net', text: 'x' }, 'to'],
    [{ sessionName: 'main', to: PEER, text: 'x', mentions: ['1-@g.us'] }, 'mentions'],
    [{ sessionName: 'main', to: PEER, text: '' }, 'text'],
    [{ sessionName: 'main', to: PEER }, 'text'],
    [{ sessionName: 'main', to: PEER, type: 'hologram', text: 'x' }, 'type'],
    [{ sessionName: 'main', to: PEER, type: 'image' }, 'media'],
    [
      {
        sessionName: 'main',
        to: PEER,
        type: 'image',
        media: { base64: '!!!', mimetype: 'image/png' },
      },
      'media.base64',
    ],
    [{ sessionName: 'main', to: PEER, text: 'x', priority: 'high' }, 'priority'],
    ...['../../etc/passwd', 'a\r\nb.pdf', ''].map((fileName): [object, string] => [
      {
        sessionName: 'main',
        to: PEER,
        type: 'document',
        media: { base64: mediaSample.pdf(64).toString('base64'), mimetype: 'application/pdf' },
        fileName,
      },
      'fileName',
    ]),
  ])('rejects %j with 400 naming %s', async (body, field) => {
    const res = await send(body).expect(400);
    expect(res.body.details[field]).toBeDefined();
  });

  it.each<[string, object, Record<string, string[]>]>([
    [
      'text with media but no type',
      {
        text: 'see attached',
        media: { base64: mediaSample.pdf(64).toString('base64'), mimetype: 'application/pdf' },
      },
      { media: ['media needs type image, video, audio or document (type is text when omitted)'] },
    ],
    [
      'both media.url and media.base64',
      {
        type: 'document',
        media: {
          url: 'https://example.com/a.pdf',
          base64: mediaSample.pdf(64).toString('base64'),
          mimetype: 'application/pdf',
        },
      },
      { 'media.url': ['give media.url or media.base64, not both'] },
    ],
    [
      'an image with text instead of caption',
      {
        type: 'image',
        text: 'look',
        media: { base64: mediaSample.png().toString('base64'), mimetype: 'image/png' },
      },
      { text: ['text is only for text messages; give an image its text as caption'] },
    ],
    [
      'a text message with caption and fileName',
      { text: 'hello', caption: 'c', fileName: 'a.pdf' },
      {
        caption: [
          'caption is only for image, video and document messages; a text message has text',
        ],
        fileName: ['fileName is only for media messages (documents show it)'],
      },
    ],
    [
      'an audio message with a caption, which WhatsApp cannot show',
      {
        type: 'audio',
        caption: 'listen',
        media: { base64: mediaSample.ogg(64).toString('base64'), mimetype: 'audio/ogg' },
      },
      {
        caption: [
          'caption is only for image, video and document messages; audio carries no caption',
        ],
      },
    ],
    [
      'text that is only whitespace',
      { text: ' \n ' },
      { text: ['text must not be only whitespace'] },
    ],
    [
      'base64 without mimetype',
      { type: 'document', media: { base64: mediaSample.pdf(64).toString('base64') } },
      { 'media.mimetype': ['mimetype is required with base64'] },
    ],
  ])(
    'refuses %s with 400 VALIDATION_FAILED saying what to give, storing nothing',
    async (_what, body, details) => {
      const before = (await history({ sessionName: 'main' })).total;
      const res = await send({ sessionName: 'main', to: PEER, ...body }).expect(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', details });
      expect(Object.keys(res.body.details)).toEqual(Object.keys(details));
      expect((await history({ sessionName: 'main' })).total).toBe(before);
    },
  );

  it('rejects a mimetype that does not fit the type, and oversized media with 413', async () => {
    const mismatch = await send({
      sessionName: 'main',
      to: PEER,
      type: 'image',
      media: { base64: 'aGVsbG8=', mimetype: 'application/pdf' },
    }).expect(400);
    expect(mismatch.body.code).toBe('MIMETYPE_MISMATCH');
    // The bytes must be what the type says: a PDF posted as an image would reach the phone broken.
    const disguised = await send({
      sessionName: 'main',
      to: PEER,
      type: 'image',
      media: { base64: mediaSample.pdf(300).toString('base64'), mimetype: 'image/png' },
    }).expect(400);
    expect(disguised.body).toMatchObject({
      code: 'MEDIA_CONTENT_MISMATCH',
      message: 'the media bytes are application/pdf, not an image',
    });
    const big = Buffer.alloc(16 * 1024 * 1024 + 1).toString('base64');
    const res = await send({
      sessionName: 'main',
      to: PEER,
      type: 'image',
      media: { base64: big, mimetype: 'image/png' },
    }).expect(413);
    expect(res.body).toMatchObject({
      code: 'MEDIA_TOO_LARGE',
      statusCode: 413,
      message: 'image media is 16777217 bytes; the limit is 16777216 bytes',
      details: { size: 16777217, limit: 16777216 },
    });
  });

  it('accepts an image of exactly the 16 MiB limit sent as base64 (padding is not bytes)', async () => {
    const image = mediaSample.png(16 * 1024 * 1024);
    const res = await send({
      sessionName: 'main',
      to: PEER,
      type: 'image',
      media: { base64: image.toString('base64'), mimetype: 'image/png' },
    }).expect(202);
    expect(res.body.media).toMatchObject({ mimetype: 'image/png', size: 16 * 1024 * 1024 });
    const media = await downloadMedia(t, owner.auth, res.body.id);
    expect(Buffer.compare(media.bytes, image)).toBe(0);
  });

  it.each([
    ['video', 'video/mp4'],
    ['audio', 'audio/ogg'],
    ['document', 'application/pdf'],
  ])('refuses empty %s media (base64 "") with 400 MEDIA_EMPTY', async (type, mimetype) => {
    const res = await send({
      sessionName: 'main',
      to: PEER,
      type,
      media: { base64: '', mimetype },
    }).expect(400);
    expect(res.body).toMatchObject({
      code: 'MEDIA_EMPTY',
      message: 'media.base64 is empty: the media has no bytes',
    });
  });

  it('answers 404 for an unknown session and 409 for a logged-out one', async () => {
    const unknown = await send({ sessionName: 'ghost', to: PEER, text: 'x' }).expect(404);
    // Named as the client named it (the internal org-prefixed id is only a detail).
    expect(unknown.body).toMatchObject({
      code: 'SESSION_NOT_FOUND',
      message: 'WhatsApp session "ghost" was not found',
      details: { sessionName: 'ghost' },
    });
    await connectedSession(t, owner, 'leaving', '+201001230000');
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/leaving/disconnect')
      .set(owner.auth)
      .send({ reason: 'loggedOut' })
      .expect(202);
    await waitForSessionStatus(t, owner, 'leaving', 'logged_out');
    const res = await send({ sessionName: 'leaving', to: PEER, text: 'x' }).expect(409);
    expect(res.body.code).toBe('SESSION_LOGGED_OUT');
  });

  it("keeps a deleted session's history readable, with any filter (an empty page, not a 404)", async () => {
    await connectedSession(t, owner, 'gone', '+201001230001');
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/gone/inbound')
      .set(owner.auth)
      .send({ from: PEER, text: 'before the delete' })
      .expect(202);
    const ofGone = (query: object = {}) =>
      t
        .http()
        .get('/api/v1/whatsapp/messages')
        .query({ sessionName: 'gone', ...query })
        .set(owner.auth);
    await waitFor(async () => (await ofGone()).body.total === 1, 10_000, 'the message stored');
    await t.http().delete('/api/v1/whatsapp/sessions/gone').set(owner.auth).expect(204);

    expect((await ofGone().expect(200)).body.items.map((m: { text: string }) => m.text)).toEqual([
      'before the delete',
    ]);
    expect((await ofGone({ status: 'failed' }).expect(200)).body.total).toBe(0);
    const chats = await t
      .http()
      .get('/api/v1/whatsapp/chats')
      .query({ sessionName: 'gone' })
      .set(owner.auth)
      .expect(200);
    expect(chats.body.total).toBe(1);
  });

  it('never shows one organization’s messages to another (404)', async () => {
    const mine = await send({ sessionName: 'main', to: PEER, text: 'private' }).expect(202);
    const other = await registerUser(t);
    await t.http().get(`/api/v1/whatsapp/messages/${mine.body.id}`).set(other.auth).expect(404);
    await t
      .http()
      .get(`/api/v1/whatsapp/messages/${mine.body.id}/media`)
      .set(other.auth)
      .expect(404);
    await t.http().get('/api/v1/whatsapp/messages/not-an-id').set(other.auth).expect(404);
    expect(
      (await t.http().get('/api/v1/whatsapp/messages').set(other.auth).expect(200)).body.total,
    ).toBe(0);
    await t
      .http()
      .post('/api/v1/whatsapp/messages/send')
      .set(other.auth)
      .send({ sessionName: 'main', to: PEER, text: 'x' })
      .expect(404);
  });
});

describe('messaging outbox across a restart', () => {
  it('keeps messages accepted while disconnected and sends each once after restart and scan', async () => {
    let t = await createTestApp();
    try {
      const owner = await registerUser(t);
      await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(owner.auth)
        .send({ sessionName: 'later' })
        .expect(201);
      const a = await sendAs(t, owner, { sessionName: 'later', to: PEER, text: 'queued 1' }).expect(
        202,
      );
      const b = await sendAs(t, owner, { sessionName: 'later', to: PEER, text: 'queued 2' }).expect(
        202,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(
        (await t.http().get(`/api/v1/whatsapp/messages/${a.body.id}`).set(owner.auth)).body.status,
      ).toBe('pending');

      t = await t.restart();
      await scanWhenQrShows(t, owner, 'later', '+201001239999');
      for (const id of [a.body.id, b.body.id]) {
        await waitFor(
          async () =>
            (await t.http().get(`/api/v1/whatsapp/messages/${id}`).set(owner.auth)).body.status ===
            'sent',
          10_000,
          'sent',
        );
      }
      const page = (
        await t
          .http()
          .get('/api/v1/whatsapp/messages')
          .query({ direction: 'out' })
          .set(owner.auth)
          .expect(200)
      ).body;
      expect(page.total).toBe(2);
      expect(new Set(page.items.map((m: { waMessageId: string }) => m.waMessageId)).size).toBe(2);
      expect(page.items.every((m: { attempts: number }) => m.attempts === 1)).toBe(true);
      const [first, second] = [...page.items].reverse();
      expect(first.text).toBe('queued 1');
      expect(new Date(first.sentAt).getTime()).toBeLessThanOrEqual(
        new Date(second.sentAt).getTime(),
      );
    } finally {
      await t.close();
    }
  });
});

describe('inbound messages arriving as the gateway restarts', () => {
  // Right after linking, a new contact's first messages take a while to decrypt: a restart then
  // cuts off some the device never acknowledged, and WhatsApp delivers those again at the next
  // login (on the emulator this failed while its offline queue did not outlive a restart).
  it('keeps every one: those cut off come again after the restart', async () => {
    let t = await createTestApp();
    try {
      const owner = await registerUser(t);
      await connectedSession(t, owner, 'main');
      // Four new contacts, four messages each.
      const ids = Array.from({ length: 16 }, (_, i) => `RESTARTIN${String(i).padStart(2, '0')}`);
      const sandbox = t.app.get(SandboxControl);
      for (const [i, waMessageId] of ids.entries())
        sandbox.inbound(`${owner.organization.id}_main`, {
          from: `20111222400${i % 4}`,
          text: waMessageId,
          waMessageId,
        });
      t = await t.restart();
      await waitForSessionStatus(t, owner, 'main', 'connected');
      const storedIds = async () =>
        (
          await t
            .http()
            .get('/api/v1/whatsapp/messages')
            .query({ direction: 'in', limit: 100 })
            .set(owner.auth)
        ).body.items
          .map((m: { waMessageId: string }) => m.waMessageId)
          .sort();
      // Waits for all of them; on a timeout the comparison below names those missing.
      await waitFor(async () => (await storedIds()).length === ids.length, 15_000).catch(
        () => undefined,
      );
      expect(await storedIds()).toEqual(ids);
    } finally {
      await t.close();
    }
  });
});

describe('a receipt that comes before its message, across a restart', () => {
  // Baileys can hand a receipt over before the message typed on the phone it names; kept only in
  // memory, it was lost when the gateway restarted (or the message was stored by another instance)
  // before the message came, and the message stayed `sent` though WhatsApp said it was read.
  it('applies it once the message comes after the restart', async () => {
    let t = await createTestApp();
    try {
      const owner = await registerUser(t);
      await connectedSession(t, owner);
      const sessionId = `${owner.organization.id}_main`;
      const chatJid = '201009990062@s.whatsapp.net';
      const waMessageId = 'TYPED-BEFORE-RESTART';
      t.app.get(SandboxControl).receipt(sessionId, waMessageId, 'read', chatJid);
      await t.app.get(InboundIngestService).receiptsSettled(sessionId);

      t = await t.restart();
      await waitForSessionStatus(t, owner, 'main', 'connected', 30_000);
      t.app.get(SandboxControl).inbound(sessionId, {
        from: '+201009990062',
        fromMe: true,
        text: 'typed on the phone before the restart',
        waMessageId,
      });
      await waitFor(
        async () => {
          const res = await t
            .http()
            .get('/api/v1/whatsapp/messages')
            .query({ sessionName: 'main', direction: 'out' })
            .set(owner.auth);
          return res.body.items?.find(
            (m: { waMessageId: string; status: string }) =>
              m.waMessageId === waMessageId && m.status === 'read',
          );
        },
        10_000,
        'the message typed on the phone to be read',
      );
    } finally {
      await t.close();
    }
  });
});

describe('obsolete indexes at boot', () => {
  /** Indexes earlier versions declared and no longer do, by collection (ObsoleteIndexes). */
  const OBSOLETE: Array<[string, Record<string, 1 | -1>]> = [
    ['chats', { organizationId: 1, sessionName: 1, lastMessageAt: -1 }],
    ['events', { organizationId: 1, seq: 1 }],
    ['stats_failure_reasons', { organizationId: 1, day: 1 }],
    ['stats_response_samples', { organizationId: 1, day: 1 }],
    ['stats_response_samples', { organizationId: 1, day: 1, responseMs: 1 }],
    ['webhook_deliveries', { status: 1, nextAttemptAt: 1 }],
    ['whatsapp_session_requests', { state: 1 }],
  ];

  it('drops the indexes a deployment from before kept, and only those', async () => {
    let t = await createTestApp();
    try {
      const db = () => t.app.get<Connection>(getConnectionToken()).db!;
      const names = async (collection: string) =>
        (await db().collection(collection).listIndexes().toArray()).map((i) => i.name as string);
      const before = new Map<string, string[]>();
      for (const [collection, keys] of OBSOLETE) {
        if (!before.has(collection)) before.set(collection, await names(collection));
        await db().collection(collection).createIndex(keys);
      }

      t = await t.restart();
      // Each collection is back to the indexes its schema declares.
      for (const [collection, declared] of before)
        expect((await names(collection)).sort(), collection).toEqual(declared.sort());
    } finally {
      await t.close();
    }
  });
});

describe('receipts after a restart', () => {
  it('simulates a receipt of a message sent before the restart', async () => {
    let t = await createTestApp();
    try {
      const owner = await registerUser(t);
      await connectedSession(t, owner, 'main');
      const res = await sendAs(t, owner, { sessionName: 'main', to: PEER, text: 'before' }).expect(
        202,
      );
      const message = async () =>
        (await t.http().get(`/api/v1/whatsapp/messages/${res.body.id}`).set(owner.auth)).body;
      await waitFor(async () => (await message()).status === 'sent', 10_000, 'sent');

      t = await t.restart();
      await waitForSessionStatus(t, owner, 'main', 'connected');
      await t
        .http()
        .post('/api/v1/whatsapp/sandbox/sessions/main/receipts')
        .set(owner.auth)
        .send({ messageId: res.body.id, status: 'read' })
        .expect(202);
      await waitFor(async () => (await message()).status === 'read', 10_000, 'read');
    } finally {
      await t.close();
    }
  });
});

describe('messaging outbox after a crash mid-send', () => {
  it('takes back at once the sends this instance had in flight, never another instance’s', async () => {
    let t = await createTestApp();
    try {
      const owner = await registerUser(t);
      await connectedSession(t, owner, 'main');
      const instanceId = t.app.get(SessionRegistry).instanceId;
      // This process's outbox stops (as a kill -9 leaves it): what is accepted now stays pending.
      await t.app.get(OutboxDispatcher).beforeApplicationShutdown();
      const accept = async (to: string, text: string) =>
        (await sendAs(t, owner, { sessionName: 'main', to, text }).expect(202)).body.id as string;
      const inFlight = await accept(PEER, 'in flight at the crash');
      const behind = await accept(PEER, 'behind it in its chat');
      const elsewhere = await accept('+201112229999', 'in flight on another instance');
      // What a crash mid-send leaves: the first send claimed by this instance for 60 s (its
      // chat waits behind it), and another chat's send claimed by a live instance.
      const db = t.app.get<string, Connection>(getConnectionToken());
      const claimed = (claimedBy: string) => ({
        $set: { nextAttemptAt: new Date(Date.now() + 60_000), attempts: 1, claimedBy },
      });
      await db.collection('messages').updateOne({ _id: inFlight as never }, claimed(instanceId));
      await db.collection('messages').updateOne({ _id: elsewhere as never }, claimed('gw-other'));

      t = await t.restart();
      expect(t.app.get(SessionRegistry).instanceId).toBe(instanceId);
      await waitForSessionStatus(t, owner, 'main', 'connected');
      const message = async (id: string) =>
        (await t.http().get(`/api/v1/whatsapp/messages/${id}`).set(owner.auth).expect(200)).body;
      // Long before the 60 s claim would have run out.
      await waitFor(
        async () => (await message(behind)).status === 'sent',
        8_000,
        'the chat sent after the restart',
      );
      const first = await message(inFlight);
      // Sent again (at-least-once: the attempt cut off may have reached WhatsApp), in chat order.
      expect(first).toMatchObject({ status: 'sent', attempts: 2 });
      expect(first.claimedBy).toBeUndefined();
      expect(new Date(first.sentAt).getTime()).toBeLessThanOrEqual(
        new Date((await message(behind)).sentAt).getTime(),
      );
      // Another instance's claim is its own until it runs out.
      expect(await message(elsewhere)).toMatchObject({ status: 'pending', attempts: 1 });
      const claims = await t.app
        .get<string, Connection>(getConnectionToken())
        .collection('messages')
        .find({ claimedBy: { $exists: true } })
        .toArray();
      expect(claims.map((m) => [m._id, m.claimedBy])).toEqual([[elsewhere, 'gw-other']]);
    } finally {
      await t.close();
    }
  });
});

describe('messaging effects cut off by a crash', () => {
  it('replays them after a restart: chat, contact, stats and one event per message', async () => {
    let t = await createTestApp();
    try {
      const owner = await registerUser(t);
      await connectedSession(t, owner, 'main');
      const db = () => t.app.get<string, Connection>(getConnectionToken());
      const session = (await db()
        .collection('whatsapp_sessions')
        .findOne({ organizationId: owner.organization.id, sessionName: 'main' }))!;
      const peer = '201777000111@s.whatsapp.net';
      const stored = (text: string) => {
        const now = new Date();
        return {
          _id: new Types.ObjectId().toHexString(),
          organizationId: owner.organization.id,
          sessionId: session.sessionId as string,
          sessionName: 'main',
          direction: 'in',
          chatJid: peer,
          senderJid: peer,
          senderPhone: '201777000111',
          pushName: 'Crashy',
          fromMe: false,
          waMessageId: `CRASH${randomBytes(6).toString('hex').toUpperCase()}`,
          type: 'text',
          text,
          status: 'delivered',
          timestamp: now,
          createdAt: now,
          updatedAt: now,
        };
      };
      // What a crash leaves: notes written, messages stored, (some of) their effects missing.
      const untouched = stored('cut off before any effect');
      const announced = stored('cut off after its event was written');
      const counted = stored('cut off after its chat counted it');
      const neverStored = new Types.ObjectId().toHexString();
      // A send accepted just before the crash, and sent after the restart before its note's replay.
      const apiSent = {
        ...stored('sent through the API'),
        chatJid: '201777000222@s.whatsapp.net',
        senderJid: undefined,
        senderPhone: undefined,
        pushName: undefined,
        direction: 'out',
        fromMe: true,
        status: 'sent',
        attempts: 1,
        sentAt: new Date(),
      };
      await db()
        .collection<{ _id: string }>('messages')
        .insertMany([untouched, announced, counted, apiSent]);
      await db().collection('chats').insertOne({
        organizationId: owner.organization.id,
        sessionId: session.sessionId,
        sessionName: 'main',
        chatJid: peer,
        lastMessageAt: counted.timestamp,
        messageCount: 1,
        unreadCount: 1,
      });
      await db().collection('contacts').insertOne({
        organizationId: owner.organization.id,
        sessionId: session.sessionId,
        sessionName: 'main',
        jid: peer,
        phone: '201777000111',
        isGroup: false,
        customName: null,
        searchCustomName: [],
        searchPushName: [],
        tags: [],
        notes: null,
        customerId: null,
        customerLinkSource: null,
        firstSeenAt: counted.timestamp,
        lastMessageAt: counted.timestamp,
        messageCount: 1,
      });
      await db()
        .collection('events')
        .insertOne({
          _id: new Types.ObjectId(),
          organizationId: owner.organization.id,
          type: 'message.received',
          sessionName: 'main',
          occurredAt: announced.createdAt,
          data: { id: announced._id, text: announced.text },
          fanoutPending: false,
          createdAt: new Date(),
          sourceKey: `message.created:${announced._id}`,
        });
      const longAgo = new Date(Date.now() - 10 * 60_000);
      const untouchedNote = {
        _id: new Types.ObjectId(),
        sessionId: session.sessionId,
        messageIds: [untouched._id],
        createdAt: longAgo,
      };
      await db()
        .collection('message_creations')
        .insertMany([
          untouchedNote,
          {
            sessionId: session.sessionId,
            messageIds: [announced._id, neverStored],
            createdAt: longAgo,
          },
          { sessionId: session.sessionId, messageIds: [counted._id], createdAt: longAgo },
          { sessionId: session.sessionId, messageIds: [apiSent._id], createdAt: longAgo },
        ]);

      t = await t.restart();
      await waitFor(
        async () => (await db().collection('message_creations').countDocuments()) === 0,
        10_000,
        'the notes replayed and closed',
      );
      const chats = (
        await t.http().get('/api/v1/whatsapp/chats').set(owner.auth).expect(200)
      ).body.items.filter((c: { chatJid: string }) => c.chatJid === peer);
      expect(chats).toHaveLength(1);
      // Recounted after the replay: the message counted before the crash is not counted twice.
      expect(chats[0]).toMatchObject({ messageCount: 3, unreadCount: 3 });
      const contacts = (
        await t.http().get('/api/v1/whatsapp/contacts').set(owner.auth).expect(200)
      ).body.items.filter((c: { jid: string }) => c.jid === peer);
      expect(contacts).toHaveLength(1);
      // Recounted too, where adding the replayed three to the one counted before would give 4.
      expect(contacts[0].messageCount).toBe(3);
      const stats = (await t.http().get('/api/v1/whatsapp/stats').set(owner.auth).expect(200)).body;
      expect(stats.messages.received).toBe(3);
      for (const m of [untouched, announced, counted])
        expect(
          await db()
            .collection('events')
            .countDocuments({ sourceKey: `message.created:${m._id}` }),
        ).toBe(1);
      expect(
        await db()
          .collection('events')
          .countDocuments({ organizationId: owner.organization.id, type: 'message.received' }),
      ).toBe(3);
      // Its message.sent came from its status change; the replay of its first store adds none.
      expect(
        await db()
          .collection('events')
          .countDocuments({ type: 'message.sent', 'data.id': apiSent._id }),
      ).toBe(0);

      // A crash after the effects ran but before the note was closed: replayed again, it counts
      // the message in the stats no second time (the note was claimed) and adds no event.
      await db().collection('message_creations').insertOne(untouchedNote);
      await t.app.get(MessageEffectsRecovery).recover();
      expect(await db().collection('message_creations').countDocuments()).toBe(0);
      const again = (await t.http().get('/api/v1/whatsapp/stats').set(owner.auth).expect(200)).body;
      expect(again.messages.received).toBe(3);
      expect(
        await db()
          .collection('events')
          .countDocuments({ sourceKey: `message.created:${untouched._id}` }),
      ).toBe(1);
    } finally {
      await t.close();
    }
  });
});

/** A connected session and one message sent through it, its status effects run (their note cleared). */
async function sentAndSettled(t: TestApp, text: string) {
  const owner = await registerUser(t);
  await connectedSession(t, owner, 'main');
  const db = () => t.app.get<string, Connection>(getConnectionToken());
  const sent = (await sendAs(t, owner, { sessionName: 'main', to: PEER, text }).expect(202)).body;
  const message = () => db().collection('messages').findOne({ _id: sent.id });
  await waitFor(async () => (await message())?.status === 'sent', 10_000, 'sent');
  // Effects that ran clear their note.
  await waitFor(async () => !(await message())?.statusEffectsAt, 10_000, 'the note cleared');
  return { owner, db, sent, message };
}

describe('a status change cut off by a crash', () => {
  it('has its effects (stats, one event) replayed, once, for the status the message has', async () => {
    const t = await createTestApp();
    try {
      const { owner, db, sent, message } = await sentAndSettled(t, 'tick');
      const statusEvents = () =>
        db().collection('events').countDocuments({
          type: 'message.status',
          'data.id': sent.id,
          'data.status': 'delivered',
        });
      const delivered = async () =>
        (await t.http().get('/api/v1/whatsapp/stats').set(owner.auth).expect(200)).body.messages
          .byStatus.delivered;

      // What a crash right after a receipt's write leaves: delivered, its effects never ran.
      const longAgo = new Date(Date.now() - 10 * 60_000);
      await db()
        .collection('messages')
        .updateOne(
          { _id: sent.id },
          { $set: { status: 'delivered', deliveredAt: new Date(), statusEffectsAt: longAgo } },
        );
      expect(await statusEvents()).toBe(0);
      expect(await delivered()).toBe(0);

      const recovery = t.app.get(MessageEffectsRecovery);
      await recovery.recover();
      expect(await statusEvents()).toBe(1);
      expect(await delivered()).toBe(1);
      expect((await message())?.statusEffectsAt).toBeUndefined();

      // A replay of effects that had run (a crash before the note was cleared) adds nothing.
      await db()
        .collection('messages')
        .updateOne({ _id: sent.id }, { $set: { statusEffectsAt: longAgo } });
      await recovery.recover();
      expect(await statusEvents()).toBe(1);
      expect(await delivered()).toBe(1);
      expect((await message())?.statusEffectsAt).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});

describe('stats counters cut off by a crash', () => {
  it('are finished by the replay exactly once, wherever the crash fell', async () => {
    const t = await createTestApp();
    try {
      const { owner, db, sent } = await sentAndSettled(t, 'counted');
      const byStatus = async () =>
        (await t.http().get('/api/v1/whatsapp/stats').set(owner.auth).expect(200)).body.messages
          .byStatus;
      expect(await byStatus()).toMatchObject({ pending: 0, sent: 1 });
      const recovery = t.app.get(MessageEffectsRecovery);
      const longAgo = new Date(Date.now() - 10 * 60_000);
      const states = db().collection<{ _id: string; pending?: object }>('stats_message_states');
      const buckets = db().collection('stats_buckets');
      const crashAt = async (status: string, countersMoved: boolean) => {
        await db()
          .collection('messages')
          .updateOne({ _id: sent.id }, { $set: { status, statusEffectsAt: longAgo } });
        const state = (await states.findOne({ _id: sent.id })) as unknown as { status: string };
        // The stats subscriber noted the move with the state, then the crash came before the
        // counters moved, or after they moved (their markers in place) but before the note cleared.
        await states.updateOne({ _id: sent.id }, {
          $set: { status, [`pending.${status}`]: { at: longAgo } },
          $push: { path: status },
        } as never);
        if (countersMoved)
          await buckets.updateMany({ organizationId: owner.organization.id }, {
            $inc: { [`byStatus.${state.status}`]: -1, [`byStatus.${status}`]: 1 },
            $push: { applied: `${sent.id}:${status}` },
          } as never);
        await recovery.recover();
        expect((await states.findOne({ _id: sent.id }))?.pending).toEqual({});
      };

      await crashAt('delivered', false);
      expect(await byStatus()).toMatchObject({ pending: 0, sent: 0, delivered: 1 });
      await crashAt('read', true);
      expect(await byStatus()).toMatchObject({ pending: 0, sent: 0, delivered: 0, read: 1 });
      // The markers are released once the change is done.
      expect(await buckets.countDocuments({ applied: { $exists: true, $ne: [] } })).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe('messaging send retries', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  beforeAll(async () => {
    t = await createTestApp({ MESSAGE_RETRY_BASE_MS: '40' });
    owner = await registerUser(t);
    await connectedSession(t, owner, 'main');
  });
  afterAll(() => t?.close());
  afterEach(() => vi.restoreAllMocks());

  const status = async (id: string) =>
    (await t.http().get(`/api/v1/whatsapp/messages/${id}`).set(owner.auth).expect(200)).body;

  it('retries engine errors with backoff and keeps each chat in order while a message waits', async () => {
    const registry = t.app.get(SessionRegistry);
    const real = registry.send.bind(registry);
    let failures = 0;
    const order: string[] = [];
    vi.spyOn(registry, 'send').mockImplementation(async (sessionId, to, content) => {
      const text = content.type === 'text' ? content.text : content.type;
      // Twice at least, and on (within the 5 attempts) until the other chat went: it must not wait.
      const failing = failures < 2 || (failures < 4 && !order.includes('other chat'));
      if (text === 'first' && failing) {
        failures++;
        throw new Error('socket hiccup');
      }
      order.push(text);
      return real(sessionId, to, content);
    });
    const first = await sendAs(t, owner, { sessionName: 'main', to: PEER, text: 'first' }).expect(
      202,
    );
    const second = await sendAs(t, owner, { sessionName: 'main', to: PEER, text: 'second' }).expect(
      202,
    );
    const other = await sendAs(t, owner, {
      sessionName: 'main',
      to: '+201999888777',
      text: 'other chat',
    }).expect(202);
    for (const id of [first.body.id, second.body.id, other.body.id])
      await waitFor(async () => (await status(id)).status === 'sent', 10_000, 'sent');
    const sentAfterRetries = await status(first.body.id);
    expect(sentAfterRetries.attempts).toBe(failures + 1);
    expect(sentAfterRetries.error).toBeUndefined(); // the retried attempts' error is gone
    expect(order.indexOf('first')).toBeLessThan(order.indexOf('second'));
    expect(order.indexOf('other chat')).toBeLessThan(order.indexOf('first')); // another chat did not wait
  });

  it('a reply that failed leaves the chat unread; the reply that went out clears it', async () => {
    const from = '+201555000447';
    const chatOf = () => findChat(t, owner, '201555000447@s.whatsapp.net', { sessionName: 'main' });
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/main/inbound')
      .set(owner.auth)
      .send({ from, text: 'Anyone there?' })
      .expect(202);
    await waitFor(async () => (await chatOf())?.unreadCount === 1, 10_000, 'one unread');
    const registry = t.app.get(SessionRegistry);
    const real = registry.send.bind(registry);
    vi.spyOn(registry, 'send').mockImplementation(async (sessionId, to, content) => {
      if (content.type === 'text' && content.text === 'Yes') throw new Error('socket hiccup');
      return real(sessionId, to, content);
    });
    const lost = await sendAs(t, owner, { sessionName: 'main', to: from, text: 'Yes' }).expect(202);
    await waitFor(async () => (await status(lost.body.id)).status === 'failed', 10_000, 'failed');
    // The chat counted the reply (its last message), and the customer still waits for an answer.
    const counted = await waitFor(
      async () => {
        const chat = await chatOf();
        return chat?.messageCount === 2 ? chat : undefined;
      },
      10_000,
      'the failed reply counted',
    );
    expect(counted).toMatchObject({
      unreadCount: 1,
      lastMessage: { direction: 'out', preview: 'Yes' },
    });

    const answer = await sendAs(t, owner, { sessionName: 'main', to: from, text: 'Here' }).expect(
      202,
    );
    await waitFor(async () => (await status(answer.body.id)).status === 'sent', 10_000, 'sent');
    await waitFor(async () => (await chatOf())?.unreadCount === 0, 10_000, 'answered');
  });

  // On the emulator the echo is a real deviceSentMessage from the account's phone, decrypted by the
  // Baileys engine as a fromMe message (on top of Baileys' own upsert of the send).
  it('stores and counts our own send once when the engine echoes it back as a fromMe message', async () => {
    await connectedSession(t, owner, 'echo', '+201000000777');
    // The echo the engine itself produced (live, not history): proves the fromMe path ran.
    const echoes: WaMessageReceivedEvent[] = [];
    const onMessage = (e: WaMessageReceivedEvent) => {
      if (e.sessionName === 'echo' && e.message.fromMe && !e.message.isHistory) echoes.push(e);
    };
    t.app.get(EventEmitter2).on(WA_EVENTS.messageReceived, onMessage);
    const registry = t.app.get(SessionRegistry);
    const control = t.app.get(SandboxControl);
    const real = registry.send.bind(registry);
    vi.spyOn(registry, 'send').mockImplementation(async (sessionId, to, content) => {
      const result = await real(sessionId, to, content);
      // Like Baileys' emitOwnEvents: the echo is on its way before the send call has returned.
      control.inbound(sessionId, {
        from: '+201777666555',
        fromMe: true,
        waMessageId: result.waMessageId,
        text: 'echoed',
      });
      await new Promise((r) => setTimeout(r, 200)); // the echo is stored before the send returns
      return result;
    });
    const res = await sendAs(t, owner, {
      sessionName: 'echo',
      to: '+201777666555',
      text: 'echoed',
    }).expect(202);
    await waitFor(async () => (await status(res.body.id)).status === 'sent', 10_000, 'sent');
    const { waMessageId } = await status(res.body.id);
    await waitFor(
      async () => echoes.find((e) => e.message.waMessageId === waMessageId),
      10_000,
      'the fromMe echo from the engine',
    );
    t.app.get(EventEmitter2).off(WA_EVENTS.messageReceived, onMessage);
    expect(echoes.find((e) => e.message.waMessageId === waMessageId)?.message).toMatchObject({
      chatJid: '201777666555@s.whatsapp.net',
      text: 'echoed',
    });
    await new Promise((r) => setTimeout(r, 300));
    const page = (
      await t
        .http()
        .get('/api/v1/whatsapp/messages')
        .query({ sessionName: 'echo' })
        .set(owner.auth)
        .expect(200)
    ).body;
    expect(page.items.map((m: { id: string }) => m.id)).toEqual([res.body.id]);
    const stats = (
      await t
        .http()
        .get('/api/v1/whatsapp/stats')
        .query({ sessionName: 'echo' })
        .set(owner.auth)
        .expect(200)
    ).body;
    expect(stats.messages.sent).toBe(1);
    const contacts = (
      await t
        .http()
        .get('/api/v1/whatsapp/contacts')
        .query({ sessionName: 'echo' })
        .set(owner.auth)
        .expect(200)
    ).body;
    expect(
      contacts.items.find((c: { phone: string }) => c.phone === '201777666555').messageCount,
    ).toBe(1);
  });

  it('gives up after 5 attempts with the engine error recorded', async () => {
    vi.spyOn(t.app.get(SessionRegistry), 'send').mockRejectedValue(new Error('engine exploded'));
    const res = await sendAs(t, owner, { sessionName: 'main', to: PEER, text: 'doomed' }).expect(
      202,
    );
    const failed = await waitFor(
      async () => {
        const m = await status(res.body.id);
        return m.status === 'failed' ? m : undefined;
      },
      15_000,
      'failed',
    );
    expect(failed).toMatchObject({
      attempts: 5,
      error: 'Send failed after 5 attempts: engine exploded',
    });
    expect(failed.failedAt).toBeDefined();
  });

  it("deletes a failed send's stored media, keeping the message and its metadata; its media is then a 410", async () => {
    vi.spyOn(t.app.get(SessionRegistry), 'send').mockRejectedValue(new Error('engine exploded'));
    const storage = t.app.get<symbol, MediaStorage>(MEDIA_STORAGE);
    const put = vi.spyOn(storage, 'put');
    const photo = mediaSample.jpeg(2000);
    const res = await sendAs(t, owner, {
      sessionName: 'main',
      to: PEER,
      type: 'image',
      media: { base64: photo.toString('base64'), mimetype: 'image/jpeg' },
      fileName: 'photo.jpg',
    }).expect(202);
    const key = put.mock.calls[0][0];
    expect(await storage.read(key)).toEqual(photo); // kept for the outbox while it may go out
    const failed = await waitFor(
      async () => {
        const m = await status(res.body.id);
        return m.status === 'failed' && m.media.downloadStatus === 'discarded' ? m : undefined;
      },
      15_000,
      'failed, its media discarded',
    );
    expect(failed.media).toEqual({
      mimetype: 'image/jpeg',
      fileName: 'photo.jpg',
      size: photo.length,
      downloadStatus: 'discarded',
    });
    // The mark comes first, the bytes go right after it.
    await waitFor(
      async () => {
        const opened = await storage.open(key);
        opened?.stream.destroy();
        return opened === null;
      },
      5_000,
      'its bytes deleted',
    );
    const gone = await t
      .http()
      .get(`/api/v1/whatsapp/messages/${res.body.id}/media`)
      .set(owner.auth)
      .expect(410);
    expect(gone.body.code).toBe('MEDIA_DISCARDED');
  });

  it("deletes a failed send's media when recovery replays the status change a crash cut off before the delete", async () => {
    vi.spyOn(t.app.get(SessionRegistry), 'send').mockRejectedValue(new Error('engine exploded'));
    const storage = t.app.get<symbol, MediaStorage>(MEDIA_STORAGE);
    const put = vi.spyOn(storage, 'put');
    // The process dies after the media was marked discarded, before its bytes were deleted.
    const cut = vi.spyOn(storage, 'delete').mockRejectedValueOnce(new Error('killed'));
    const res = await sendAs(t, owner, {
      sessionName: 'main',
      to: PEER,
      type: 'document',
      media: { base64: mediaSample.pdf(500).toString('base64'), mimetype: 'application/pdf' },
    }).expect(202);
    const key = put.mock.calls[0][0];
    await waitFor(async () => cut.mock.calls.length > 0, 15_000, 'the cut-off delete');
    expect(await status(res.body.id)).toMatchObject({
      status: 'failed',
      media: { downloadStatus: 'discarded' },
    });
    // Not served from the mark on (410, never a 404 for bytes half gone); the bytes are still
    // there, and the message still names them for the recovery to delete.
    const gone = await t
      .http()
      .get(`/api/v1/whatsapp/messages/${res.body.id}/media`)
      .set(owner.auth)
      .expect(410);
    expect(gone.body.code).toBe('MEDIA_DISCARDED');
    expect(await storage.open(key)).not.toBeNull();
    const messages = t.app.get<string, Connection>(getConnectionToken()).collection('messages');
    expect((await messages.findOne({ _id: res.body.id }))?.media.storageKey).toBe(key);
    await messages.updateOne(
      { _id: res.body.id },
      { $set: { statusEffectsAt: new Date(Date.now() - 10 * 60_000) } },
    );
    await t.app.get(MessageEffectsRecovery).recover();
    expect(await storage.open(key)).toBeNull();
    const recovered = await messages.findOne({ _id: res.body.id });
    expect(recovered?.media).toMatchObject({ downloadStatus: 'discarded' });
    expect(recovered?.media.storageKey).toBeUndefined();
    expect(recovered?.statusEffectsAt).toBeUndefined();
  });

  it("deletes the media of a send whose message a crash kept from being stored, once past the grace period; other messages' media stays", async () => {
    const storage = t.app.get<symbol, MediaStorage>(MEDIA_STORAGE);
    const put = vi.spyOn(storage, 'put');
    const photo = mediaSample.jpeg(1500);
    const image = {
      type: 'image',
      media: { base64: photo.toString('base64'), mimetype: 'image/jpeg' },
    };
    const kept = await sendAs(t, owner, { sessionName: 'main', to: PEER, ...image }).expect(202);
    // The process dies between storing the media and storing its message: nothing cleans up.
    vi.spyOn(t.app.get(MessagesRepository), 'insertAll').mockRejectedValueOnce(new Error('killed'));
    vi.spyOn(storage, 'delete').mockRejectedValueOnce(new Error('killed'));
    await sendAs(t, owner, { sessionName: 'main', to: PEER, ...image }).expect(500);
    const [keptKey, orphanKey] = put.mock.calls.map(([key]) => key);
    const young = await sendAs(t, owner, { sessionName: 'main', to: PEER, ...image }).expect(202);
    vi.restoreAllMocks();
    const db = t.app.get<string, Connection>(getConnectionToken()).db!;
    /** As stored two hours ago (MEDIA_ORPHAN_GRACE_SECONDS is one hour). */
    const age = async (key: string) => {
      const at = new Date(Date.now() - 2 * 3_600_000);
      if (storage instanceof FileMediaStorage) utimesSync(join(t.dataDir, 'media', key), at, at);
      else
        await db
          .collection('media.files')
          .updateMany({ filename: key }, { $set: { uploadDate: at } });
    };
    await age(keptKey);
    await age(orphanKey);
    const orphanSize = (await storage.open(orphanKey))?.size;
    expect(orphanSize).toBe(photo.length);

    await t.app.get(MediaOrphanSweep).sweep();

    expect(await storage.open(orphanKey)).toBeNull();
    for (const { body } of [kept, young]) {
      const media = await downloadMedia(t, owner.auth, body.id);
      expect(Buffer.compare(media.bytes, photo)).toBe(0);
    }
  });
});

describe('messaging: a send whose media downloads slowly', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  let server: Server;
  let baseUrl: string;
  /** /slow.jpg answers once the test calls this (set when the request arrives). */
  let releaseSlow: (() => void) | undefined;
  const photo = mediaSample.jpeg(3000);

  // The default fetch timeout (30 s), not the 1 s of the suite below: these tests hold the
  // download while they store and wait for other messages, which on a loaded machine took longer.
  beforeAll(async () => {
    t = await createTestApp({ MEDIA_ALLOWED_HOSTS: '127.0.0.1' });
    owner = await registerUser(t);
    server = createServer((req, res) => {
      if (req.url === '/slow.jpg')
        releaseSlow = () => res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(photo);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t?.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('dates a send when it is stored: a customer message that arrived while its media downloaded is older', async () => {
    await connectedSession(t, owner, 'slow');
    const chat = '201777000111@s.whatsapp.net';
    const sending = sendAs(t, owner, {
      sessionName: 'slow',
      to: chat,
      type: 'image',
      media: { url: `${baseUrl}/slow.jpg` },
    });
    const sent = sending.then((res) => res); // starts the request
    await waitFor(async () => releaseSlow !== undefined, 5_000, 'the media request');
    const question = await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/slow/inbound')
      .set(owner.auth)
      .send({ from: '+201777000111', text: 'Q2' })
      .expect(202);
    const asked = await waitFor(
      async () =>
        (
          await t
            .http()
            .get('/api/v1/whatsapp/messages')
            .query({ chat, direction: 'in' })
            .set(owner.auth)
        ).body.items[0],
      5_000,
      'Q2 stored',
    );
    expect(asked.waMessageId).toBe(question.body.waMessageId);
    await new Promise((r) => setTimeout(r, 20)); // a clock tick apart
    releaseSlow!();
    releaseSlow = undefined;
    const image = (await sent).body;
    expect(new Date(image.timestamp).getTime()).toBeGreaterThan(
      new Date(asked.timestamp).getTime(),
    );
    const newestFirst = (
      await t.http().get('/api/v1/whatsapp/messages').query({ chat }).set(owner.auth).expect(200)
    ).body.items.map((m: { id: string }) => m.id);
    expect(newestFirst).toEqual([image.id, asked.id]);
    // We answered the question: nothing of the chat is unread.
    await waitFor(
      async () => {
        const found = await findChat(t, owner, chat, { sessionName: 'slow' });
        return found?.lastMessage?.id === image.id && found.unreadCount === 0;
      },
      5_000,
      'the chat answered, nothing unread',
    );
  });

  it('replays a send to a concurrent retry with its Idempotency-Key while the first still downloads its media', async () => {
    await connectedSession(t, owner, 'retry');
    const body = {
      sessionName: 'retry',
      to: PEER,
      type: 'image',
      media: { url: `${baseUrl}/slow.jpg` },
    };
    const key = `slow-${Date.now()}`;
    // .then starts the request now, without awaiting it.
    const sendWithKey = () =>
      t
        .http()
        .post('/api/v1/whatsapp/messages/send')
        .set(owner.auth)
        .set('Idempotency-Key', key)
        .send(body)
        .then((r) => r);
    const first = sendWithKey();
    await waitFor(async () => releaseSlow !== undefined, 5_000, 'the media request');
    const retry = sendWithKey();
    await new Promise((r) => setTimeout(r, 300)); // the retry is waiting for the first
    releaseSlow!();
    releaseSlow = undefined;
    const [created, replayed] = await Promise.all([first, retry]);
    expect([created.status, replayed.status]).toEqual([202, 202]);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body.id).toBe(created.body.id);
  });
});

describe('messaging: media by URL and the pending deadline', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  let server: Server;
  let baseUrl: string;
  const pdf = mediaSample.pdf(3000);
  const photo = mediaSample.jpeg(3000);
  const png = mediaSample.png(3000);

  beforeAll(async () => {
    t = await createTestApp({
      MESSAGE_PENDING_DEADLINE_SECONDS: '1',
      MEDIA_ALLOWED_HOSTS: '127.0.0.1',
      MEDIA_FETCH_TIMEOUT_SECONDS: '1',
    });
    owner = await registerUser(t);
    server = createServer((req, res) => {
      if (req.url?.split('?')[0] === '/invoice.pdf') {
        res.writeHead(200, { 'Content-Type': 'application/pdf' }).end(pdf);
      } else if (req.url === '/photo') {
        // As object stores often answer: a generic type the gateway replaces with what the bytes are.
        res.writeHead(200, { 'Content-Type': 'binary/octet-stream' }).end(photo);
      } else if (req.url === '/long-type.pdf') {
        // Parameters past the 255 characters a mimetype may have (media.mimetype's limit).
        const long = `application/pdf; version=1.4; x-trace=${'a'.repeat(300)}; x-more=1`;
        res.writeHead(200, { 'Content-Type': long }).end(pdf);
      } else if (req.url === '/mislabelled') {
        res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(png);
      } else if (req.url === '/empty.pdf') {
        res.writeHead(200, { 'Content-Type': 'application/pdf' }).end();
      } else if (req.url === '/stalled.pdf') {
        res.writeHead(200, { 'Content-Type': 'application/pdf' }).flushHeaders(); // then nothing
      } else if (req.url === '/half.pdf') {
        res.writeHead(200, { 'Content-Type': 'application/pdf', 'Content-Length': pdf.length });
        res.write(pdf.subarray(0, 1000)); // then nothing
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t?.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('downloads media.url, takes the Content-Type, and sends it', async () => {
    await connectedSession(t, owner, 'main');
    const res = await sendAs(t, owner, {
      sessionName: 'main',
      to: PEER,
      type: 'document',
      media: { url: `${baseUrl}/invoice.pdf` },
      fileName: 'invoice.pdf',
    }).expect(202);
    expect(res.body.media).toMatchObject({
      mimetype: 'application/pdf',
      size: 3000,
      fileName: 'invoice.pdf',
    });
    await waitFor(
      async () =>
        (await t.http().get(`/api/v1/whatsapp/messages/${res.body.id}`).set(owner.auth)).body
          .status === 'sent',
      10_000,
      'sent',
    );
    const media = await downloadMedia(t, owner.auth, res.body.id);
    expect(Buffer.compare(media.bytes, pdf)).toBe(0);
    // Without fileName a document takes the name its URL offers (it would reach the phone as "file").
    const unnamed = await sendAs(t, owner, {
      sessionName: 'main',
      to: PEER,
      type: 'document',
      media: { url: `${baseUrl}/invoice.pdf?download=1` },
    }).expect(202);
    expect(unnamed.body.media.fileName).toBe('invoice.pdf');
    const missing = await sendAs(t, owner, {
      sessionName: 'main',
      to: PEER,
      type: 'document',
      media: { url: `${baseUrl}/nope.pdf` },
    }).expect(400);
    expect(missing.body).toMatchObject({
      code: 'MEDIA_FETCH_FAILED',
      message: 'Could not fetch media.url: HTTP 404',
    });
    const empty = await sendAs(t, owner, {
      sessionName: 'main',
      to: PEER,
      type: 'document',
      media: { url: `${baseUrl}/empty.pdf` },
    }).expect(400);
    expect(empty.body).toMatchObject({
      code: 'MEDIA_EMPTY',
      message: 'media.url answered with an empty body: the media has no bytes',
    });
    const sniffed = await sendAs(t, owner, {
      sessionName: 'main',
      to: PEER,
      type: 'image',
      media: { url: `${baseUrl}/photo` },
    }).expect(202);
    expect(sniffed.body.media).toMatchObject({ mimetype: 'image/jpeg', size: 3000 });
    // A Content-Type naming another image format than the bytes are gives way to the bytes.
    const mislabelled = await sendAs(t, owner, {
      sessionName: 'main',
      to: PEER,
      type: 'image',
      media: { url: `${baseUrl}/mislabelled` },
    }).expect(202);
    expect(mislabelled.body.media).toMatchObject({ mimetype: 'image/png', size: 3000 });
    expect((await downloadMedia(t, owner.auth, mislabelled.body.id)).contentType).toBe('image/png');
  });

  it("keeps a download's Content-Type within the 255 characters of media.mimetype: whole parameters while they fit", async () => {
    await connectedSession(t, owner, 'long-type');
    const res = await sendAs(t, owner, {
      sessionName: 'long-type',
      to: PEER,
      type: 'document',
      media: { url: `${baseUrl}/long-type.pdf` },
    }).expect(202);
    expect(res.body.media.mimetype).toBe('application/pdf; version=1.4');
    expect(
      (await t.http().get(`/api/v1/whatsapp/messages/${res.body.id}`).set(owner.auth).expect(200))
        .body.media.mimetype,
    ).toBe('application/pdf; version=1.4');
  });

  it('refuses a media.url whose body stalls past the fetch timeout, storing nothing', async () => {
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'stalled' })
      .expect(201);
    for (const path of ['/stalled.pdf', '/half.pdf']) {
      const res = await sendAs(t, owner, {
        sessionName: 'stalled',
        to: PEER,
        type: 'document',
        media: { url: `${baseUrl}${path}` },
      }).expect(400);
      expect(res.body).toMatchObject({
        code: 'MEDIA_FETCH_FAILED',
        message: 'Could not fetch media.url: timed out after 1 s',
      });
    }
    const stored = await t
      .http()
      .get('/api/v1/whatsapp/messages')
      .query({ sessionName: 'stalled' })
      .set(owner.auth)
      .expect(200);
    expect(stored.body.total).toBe(0);
  });

  it('refuses media URLs that point at loopback, private or metadata addresses (SSRF guard)', async () => {
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'guarded' })
      .expect(201);
    for (const url of [
      'http://localhost:1/x.pdf',
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.8/a.pdf',
      'http://[::1]/a.pdf',
    ]) {
      const res = await sendAs(t, owner, {
        sessionName: 'guarded',
        to: PEER,
        type: 'document',
        media: { url },
      }).expect(400);
      expect(res.body.code).toBe('MEDIA_URL_NOT_ALLOWED');
      expect(res.body.message).toContain('MEDIA_ALLOWED_HOSTS');
      // The shape of WEBHOOK_URL_NOT_ALLOWED's: the field's messages, and why.
      expect(res.body.details).toEqual({
        'media.url': [expect.stringContaining('MEDIA_ALLOWED_HOSTS')],
        reason: 'forbidden_address',
      });
    }
  });

  it('fails a message whose session stays disconnected past the deadline, with the reason', async () => {
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'offline' })
      .expect(201);
    const res = await sendAs(t, owner, {
      sessionName: 'offline',
      to: PEER,
      text: 'too late',
    }).expect(202);
    const failed = await waitFor(
      async () => {
        const m = (await t.http().get(`/api/v1/whatsapp/messages/${res.body.id}`).set(owner.auth))
          .body;
        return m.status === 'failed' ? m : undefined;
      },
      10_000,
      'failed after the deadline',
    );
    expect(failed.error).toBe('Session not connected within 1 s');
  });

  it('deletes the stored media of a send that failed past the deadline (GET …/media: 410)', async () => {
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'offline-media' })
      .expect(201);
    const res = await sendAs(t, owner, {
      sessionName: 'offline-media',
      to: PEER,
      type: 'document',
      media: { url: `${baseUrl}/invoice.pdf` },
    }).expect(202);
    await downloadMedia(t, owner.auth, res.body.id); // stored while it may still go out
    const failed = await waitFor(
      async () => {
        const m = (await t.http().get(`/api/v1/whatsapp/messages/${res.body.id}`).set(owner.auth))
          .body;
        return m.status === 'failed' && m.media.downloadStatus === 'discarded' ? m : undefined;
      },
      10_000,
      'failed after the deadline, its media discarded',
    );
    expect(failed.media).toMatchObject({ mimetype: 'application/pdf', size: pdf.length });
    await downloadMedia(t, owner.auth, res.body.id, {}, 410);
  });

  it('sends nothing that waited past the deadline, also when its session connects before a sweep failed it', async () => {
    // Sweeps fail overdue messages a batch at a time: after a long outage or downtime the session
    // can connect while some are still pending.
    const sweeps = vi.spyOn(t.app.get(OutboxDispatcher), 'sweep').mockResolvedValue();
    try {
      await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(owner.auth)
        .send({ sessionName: 'stale' })
        .expect(201);
      const res = await sendAs(t, owner, {
        sessionName: 'stale',
        to: PEER,
        text: 'your code is 1234',
      }).expect(202);
      await new Promise((r) => setTimeout(r, 1_200)); // past the 1 s deadline
      await scanWhenQrShows(t, owner, 'stale', '+201001234599');
      await waitForSessionStatus(t, owner, 'stale', 'connected');
      const settled = await waitFor(
        async () => {
          const m = (await t.http().get(`/api/v1/whatsapp/messages/${res.body.id}`).set(owner.auth))
            .body;
          return m.status !== 'pending' ? m : undefined;
        },
        10_000,
        'the message settled',
      );
      expect(settled).toMatchObject({
        status: 'failed',
        error: 'Session not connected within 1 s',
      });
      expect(settled.waMessageId).toBeUndefined();
    } finally {
      sweeps.mockRestore();
    }
  });

  it('never fails a send past the deadline while WhatsApp is taking it: it ends sent, not failed', async () => {
    await connectedSession(t, owner, 'busy');
    const registry = t.app.get(SessionRegistry);
    const real = registry.send.bind(registry);
    // The engine takes longer than the deadline (a large upload, a slow link): the deadline
    // passes, and sweeps run, while WhatsApp is taking the message.
    let handedOver: Promise<unknown> | undefined;
    const slow = vi.spyOn(registry, 'send').mockImplementation((...args) => {
      const sending = new Promise((r) => setTimeout(r, 2_500)).then(() => real(...args));
      handedOver = sending;
      return sending;
    });
    try {
      const res = await sendAs(t, owner, {
        sessionName: 'busy',
        to: PEER,
        text: 'on its way',
      }).expect(202);
      await waitFor(async () => slow.mock.calls.length > 0, 5_000, 'the send handed to the engine');
      await handedOver;
      const sent = await waitFor(
        async () => {
          const m = (await t.http().get(`/api/v1/whatsapp/messages/${res.body.id}`).set(owner.auth))
            .body;
          return m.waMessageId ? m : undefined;
        },
        10_000,
        'the id WhatsApp gave it stored',
      );
      expect(sent).toMatchObject({ status: 'sent', sentAt: expect.any(String) });
      expect(sent.error).toBeUndefined();
    } finally {
      slow.mockRestore();
    }
  });
});

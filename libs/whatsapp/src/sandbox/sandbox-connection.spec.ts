import { buffer } from 'node:stream/consumers';
import { randomBytes } from 'node:crypto';
import { InMemoryAuthStoreProvider } from '../auth-state/in-memory-auth-store';
import type { WaCloseInfo } from '../engine/close-reason';
import type { InboundMessage } from '../engine/inbound-message';
import type { WaConnection } from '../engine/wa-connection';
import {
  MediaExceedsLimitError,
  SandboxInvalidInboundError,
  SandboxInvalidStateError,
  SandboxSessionNotLiveError,
  SandboxUnknownMessageError,
  SessionNotConnectedError,
} from '../errors';
import { silentLogger } from '../testing/silent-logger';
import { SandboxControl } from './sandbox-control';
import { SandboxEngineFactory } from './sandbox-engine.factory';
import { SandboxHub } from './sandbox-hub';

const timings = { firstTtlMs: 60_000, rotateMs: 20_000, maxQrRefs: 5 };
const next = <T>(c: WaConnection, event: 'qr' | 'open' | 'close' | 'message') =>
  new Promise<T>((resolve) => c.on(event, resolve as never));

function setup() {
  const hub = new SandboxHub();
  const factory = new SandboxEngineFactory(hub, timings);
  const auth = new InMemoryAuthStoreProvider().forSession('org_s');
  const control = new SandboxControl(hub);
  const create = () => factory.create({ sessionId: 'org_s', auth, logger: silentLogger() });
  return { hub, factory, auth, control, create };
}

async function linked() {
  const kit = setup();
  const first = kit.create();
  await next(first, 'qr');
  const closed = next<WaCloseInfo>(first, 'close');
  await kit.control.scan('org_s', '15551234567', { pushName: 'Me' });
  expect(await closed).toEqual({
    code: 515,
    reason: 'restartRequired',
    message: expect.any(String),
  });
  const connection = kit.create();
  const opened = await next<{ jid: string; phone: string; pushName?: string }>(connection, 'open');
  expect(opened).toEqual({
    jid: '15551234567@s.whatsapp.net',
    phone: '15551234567',
    pushName: 'Me',
  });
  return { ...kit, connection };
}

describe('Sandbox engine', () => {
  it('emits connecting then a sandbox QR; scan stores creds and closes 515; the next connection opens without QR', async () => {
    const { auth, connection } = await linked();
    expect(await auth.readCreds()).toEqual({
      sandbox: true,
      phone: '15551234567',
      jid: '15551234567@s.whatsapp.net',
      pushName: 'Me',
    });
    await connection.close();
  });

  it('QR text format, rotation count and timeout (fake timers)', async () => {
    vi.useFakeTimers();
    try {
      const { create } = setup();
      const c = create();
      const qrs: string[] = [];
      let closed: WaCloseInfo | undefined;
      const events: string[] = [];
      c.on('connecting', () => events.push('connecting'));
      c.on('qr', (qr) => qrs.push(qr));
      c.on('close', (info) => (closed = info));
      await vi.advanceTimersByTimeAsync(1);
      expect(events).toEqual(['connecting']);
      expect(qrs[0]).toMatch(/^sandbox-qr:org_s:1:[0-9a-f]{12}$/);
      await vi.advanceTimersByTimeAsync(60_000 + 20_000 * 3);
      expect(qrs).toHaveLength(5);
      expect(closed).toBeUndefined();
      await vi.advanceTimersByTimeAsync(20_000);
      expect(closed).toEqual({ code: 408, reason: 'timedOut', message: 'QR refs attempts ended' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('an idle connected session holds no timer and few objects', async () => {
    const { connection } = await linked();
    expect((connection as any).qrTimer).toBeUndefined();
    expect((connection as any).sentChats).toBeUndefined();
    await connection.close();
  });

  it('delivers every inbound type; media bytes are downloadable', async () => {
    const { control, connection } = await linked();
    const received: InboundMessage[] = [];
    connection.on('message', (m) => received.push(m));
    const bytes = randomBytes(256);
    const from = '+1 (555) 000-2222';
    const specs = [
      { text: 'hi' },
      { type: 'image', media: { data: bytes, mimetype: 'image/png' }, caption: 'c' },
      { type: 'video', media: { data: bytes, mimetype: 'video/mp4', seconds: 4 } },
      { type: 'audio', media: { data: bytes, mimetype: 'audio/mpeg' } },
      { type: 'voice', media: { data: bytes, mimetype: 'audio/ogg; codecs=opus', seconds: 2 } },
      { type: 'document', media: { data: bytes, mimetype: 'application/pdf', fileName: 'x.pdf' } },
      { type: 'sticker', media: { data: bytes, mimetype: 'image/webp' } },
      { type: 'location', location: { lat: 1.5, lng: 2.5, name: 'Here' } },
      { type: 'contact', contact: { displayName: 'Bob', vcard: 'BEGIN:VCARD' } },
      { type: 'reaction', reaction: { emoji: '❤️', targetId: 'T1' } },
      { type: 'poll', poll: { name: 'Q', options: ['a', 'b'] } },
      { type: 'revoke', targetId: 'T1' },
      { type: 'edit', targetId: 'T1', editedText: 'new' },
    ] as const;
    for (const spec of specs) control.inbound('org_s', { from, pushName: 'Ann', ...spec } as never);
    expect(received.map((m) => m.type)).toEqual([
      'text',
      'image',
      'video',
      'audio',
      'voice',
      'document',
      'sticker',
      'location',
      'contact',
      'reaction',
      'poll',
      'revoke',
      'edit',
    ]);
    for (const m of received)
      expect(m).toMatchObject({
        chatJid: '15550002222@s.whatsapp.net',
        senderPhone: '15550002222',
        pushName: 'Ann',
        fromMe: false,
        isHistory: false,
      });
    expect(received[5].media).toMatchObject({
      mimetype: 'application/pdf',
      fileName: 'x.pdf',
      size: 256,
    });
    expect(received[12]).toMatchObject({ targetId: 'T1', editedText: 'new' });
    expect(
      (await buffer(await connection.downloadMedia(received[1].media!.ref, bytes.length))).equals(
        bytes,
      ),
    ).toBe(true);
    await expect(
      buffer(await connection.downloadMedia(received[1].media!.ref, bytes.length - 1)),
    ).rejects.toThrow(MediaExceedsLimitError);
    expect(() => control.inbound('org_s', { from, type: 'image' })).toThrow(
      SandboxInvalidInboundError,
    );

    const group = control.inbound('org_s', {
      from: '15550003333',
      chatJid: '120363@g.us',
      text: 'in group',
    });
    expect(group).toMatchObject({
      chatJid: '120363@g.us',
      participant: '15550003333@s.whatsapp.net',
      senderJid: '15550003333@s.whatsapp.net',
    });
    const mine = control.inbound('org_s', {
      from: '15550002222',
      fromMe: true,
      text: 'typed on the phone',
    });
    expect(mine).toMatchObject({
      fromMe: true,
      chatJid: '15550002222@s.whatsapp.net',
      senderJid: '15551234567@s.whatsapp.net',
    });
    await connection.close();
  });

  it('files a LID sender as Baileys does: by its phone once revealed, live messages only', async () => {
    const { control, connection } = await linked();
    const lidOnly = control.inbound('org_s', { from: '888@lid', text: 'lid' });
    expect(lidOnly).toMatchObject({
      chatJid: '888@lid',
      senderJid: '888@lid',
      senderLid: '888@lid',
      address: { remoteJid: '888@lid' },
    });
    expect(lidOnly.senderPhone).toBeUndefined();

    control.revealLid('org_s', { phone: '15550004444', lid: '888' });
    // WhatsApp now writes with sender_pn (Baileys: key.remoteJidAlt): the phone JID, read receipts to the LID.
    expect(control.inbound('org_s', { from: '888@lid', text: 'lid' })).toMatchObject({
      chatJid: '15550004444@s.whatsapp.net',
      senderJid: '15550004444@s.whatsapp.net',
      senderPhone: '15550004444',
      senderLid: '888@lid',
      address: { remoteJid: '888@lid' },
    });
    // In a group with participant_pn (key.participantAlt).
    expect(
      control.inbound('org_s', { from: '888@lid', chatJid: '120363@g.us', text: 'in group' }),
    ).toMatchObject({
      chatJid: '120363@g.us',
      senderJid: '15550004444@s.whatsapp.net',
      participant: '15550004444@s.whatsapp.net',
      senderPhone: '15550004444',
      senderLid: '888@lid',
      address: { remoteJid: '120363@g.us', participant: '888@lid' },
    });
    // History and our phone's own copies name the chat by the LID alone.
    const history = control.inbound('org_s', { from: '888@lid', text: 'old', isHistory: true });
    expect(history).toMatchObject({ chatJid: '888@lid', senderJid: '888@lid' });
    expect(history.senderPhone).toBeUndefined();
    expect(
      control.inbound('org_s', { from: '888@lid', fromMe: true, text: 'typed on the phone' }),
    ).toMatchObject({ chatJid: '888@lid', senderJid: '15551234567@s.whatsapp.net' });
    await connection.close();
  });

  it('send → "sent" on the next tick; receipts as given; unknown ids need a chatJid', async () => {
    const { control, connection } = await linked();
    const statuses: string[] = [];
    connection.on('status', (s) => statuses.push(s.status));
    const { waMessageId } = await connection.sendMessage('15550002222@s.whatsapp.net', {
      type: 'text',
      text: 'x',
    });
    expect(statuses).toEqual([]);
    await new Promise((r) => setImmediate(r));
    control.receipt('org_s', waMessageId, 'played');
    control.receipt('org_s', waMessageId, 'delivered');
    expect(statuses).toEqual(['sent', 'played', 'delivered']);
    expect(() => control.receipt('org_s', '3EB0FFFF', 'read')).toThrow(SandboxUnknownMessageError);
    control.receipt('org_s', '3EB0FFFF', 'read', '1@s.whatsapp.net');
    await connection.close();
  });

  it.each([
    ['connectionLost', 408],
    ['restartRequired', 515],
    ['connectionReplaced', 440],
    ['loggedOut', 401],
  ] as const)('disconnect(%s) closes with %i', async (reason, code) => {
    const { control, connection, auth, hub } = await linked();
    const closed = next<WaCloseInfo>(connection, 'close');
    await control.disconnect('org_s', reason);
    expect(await closed).toMatchObject({ code, reason });
    expect(hub.size).toBe(0);
    expect(await auth.hasCreds()).toBe(reason !== 'loggedOut');
    expect(() => control.inbound('org_s', { from: '15550002222', text: 'x' })).toThrow(
      SandboxSessionNotLiveError,
    );
  });

  it('refuses to scan a connected session; close() and logout() emit nothing', async () => {
    const { control, connection, auth, create } = await linked();
    await expect(control.scan('org_s', '15550000000')).rejects.toBeInstanceOf(
      SandboxInvalidStateError,
    );
    const closes: unknown[] = [];
    connection.on('close', (i) => closes.push(i));
    await connection.logout();
    expect(closes).toEqual([]);
    expect(await auth.hasCreds()).toBe(false);
    const again = create();
    expect(await next<string>(again, 'qr')).toMatch(/^sandbox-qr:/);
    await again.close();
  });

  it('names the public session status (qr_ready, connecting) when it refuses, never its own phases', async () => {
    const { control, create } = setup();
    const c = create();
    const refusal = async (act: () => unknown) => {
      try {
        await act();
      } catch (error) {
        return error as Error & { details?: Record<string, unknown> };
      }
      throw new Error('expected a refusal');
    };
    const starting = await refusal(() => c.requestPairingCode('15550000000'));
    expect(starting).toBeInstanceOf(SandboxInvalidStateError);
    expect(starting.message).toBe('Pairing needs a session waiting for a scan (now: connecting)');
    await next(c, 'qr');
    const inbound = await refusal(() =>
      control.inbound('org_s', { from: '+15550000001', text: 'hi' }),
    );
    expect(inbound).toBeInstanceOf(SessionNotConnectedError);
    expect(inbound.message).toBe('WhatsApp session "s" is not connected (status: qr_ready)');
    expect(inbound.details?.status).toBe('qr_ready');
    await c.close();
    const ended = await refusal(() =>
      c.sendMessage('15550000001@s.whatsapp.net', { type: 'text', text: 'x' }),
    );
    expect(ended.message).toBe('WhatsApp session "s" is not connected');
    expect(ended.details?.status).toBeUndefined();
  });
});

import { getConnectionToken } from '@nestjs/mongoose';
import { SandboxControl } from '@app/whatsapp';
import type { Connection } from 'mongoose';
import { InboundIngestService } from '../apps/api/src/messaging/inbound-ingest.service';
import { MessagesRepository } from '../apps/api/src/messaging/messages.repository';
import { connectedSession } from './support/sandbox';
import { createTestApp, registerUser, type RegisteredUser, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const PEERS = 12;
const PER_PEER = 10;
const peerPhone = (p: number) => `2015550${String(10_000 + p)}`;

/**
 * A burst at the engine seam (reconnect, offline queue): the ingest stores it in batches. Every
 * module must end up exactly where message-by-message ingestion would have left it.
 */
describe('inbound burst (batched ingest, sandbox engine)', () => {
  let t: TestApp;
  let owner: RegisteredUser;
  let db: Connection;
  const batchSizes: number[] = [];

  const get = async (path: string, query: Record<string, string | number> = {}) =>
    (await t.http().get(path).query(query).set(owner.auth).expect(200)).body;

  beforeAll(async () => {
    t = await createTestApp();
    owner = await registerUser(t);
    await connectedSession(t, owner, 'burst', '+201000000555');
    db = t.app.get<Connection>(getConnectionToken());
    const messages = t.app.get(MessagesRepository);
    const real = messages.insertManyOnce.bind(messages);
    vi.spyOn(messages, 'insertManyOnce').mockImplementation(async (docs) => {
      batchSizes.push(docs.length);
      return real(docs);
    });
  });
  afterAll(() => t?.close());

  it('stores a burst with re-deliveries and an edit once, with chats, contacts, stats and events in step', async () => {
    const session = await db
      .collection('whatsapp_sessions')
      .findOne({ organizationId: owner.user.organizationId, sessionName: 'burst' });
    const sessionId = session!.sessionId as string;
    const sandbox = t.app.get(SandboxControl);
    const base = Date.UTC(2026, 10, 1, 9, 0, 0);
    // Interleaved like real traffic: message k of every peer, then k + 1; seconds apart.
    for (let k = 0; k < PER_PEER; k++)
      for (let p = 0; p < PEERS; p++)
        sandbox.inbound(sessionId, {
          from: peerPhone(p),
          pushName: k === PER_PEER - 1 ? `Peer ${p} (new name)` : `Peer ${p}`,
          text: `message ${k} from ${p}`,
          waMessageId: `BURST-${p}-${k}`,
          timestamp: new Date(base + (k * PEERS + p) * 1000),
        });
    // Re-deliveries of messages already in the burst, and an edit of the very first one.
    for (let p = 0; p < 5; p++)
      sandbox.inbound(sessionId, {
        from: peerPhone(p),
        text: `message 3 from ${p}`,
        waMessageId: `BURST-${p}-3`,
        timestamp: new Date(base + (3 * PEERS + p) * 1000),
      });
    sandbox.inbound(sessionId, {
      from: peerPhone(0),
      type: 'edit',
      targetId: 'BURST-0-0',
      editedText: 'message 0, edited',
      waMessageId: 'BURST-EDIT',
      timestamp: new Date(base + 10_000_000),
    });
    const stored = PEERS * PER_PEER + 1;

    const page = await waitFor(
      async () => {
        const body = await get('/api/v1/whatsapp/messages', { sessionName: 'burst', limit: 1 });
        return body.total === stored ? body : undefined;
      },
      15_000,
      'the burst to be stored',
    );
    expect(page.total).toBe(stored);
    expect(Math.max(...batchSizes)).toBeGreaterThan(1); // it did go through the batched path
    expect(
      await db.collection('messages').countDocuments({ sessionId, waMessageId: /^BURST-/ }),
    ).toBe(stored);
    // Stored is not done: the effects (chats, contacts, stats, events) follow in their own stage.
    await t.app.get(InboundIngestService).settled(sessionId);
    const edited = await db.collection('messages').findOne({ sessionId, waMessageId: 'BURST-0-0' });
    expect(edited?.editedText).toBe('message 0, edited');
    // Optional fields a message does not have are absent, not stored as null.
    const plain = await db.collection('messages').findOne({ sessionId, waMessageId: 'BURST-1-0' });
    expect(plain).toMatchObject({ type: 'text', fromMe: false });
    expect(Object.entries(plain!).filter(([, v]) => v === null)).toEqual([]);
    expect(plain).not.toHaveProperty('caption');
    expect(plain).not.toHaveProperty('attempts'); // send attempts belong to the outbox

    // Chats: one per peer, every message counted as unread once (the edit is no message of its
    // own), the newest as snapshot.
    const chats = await get('/api/v1/whatsapp/chats', { sessionName: 'burst', limit: 100 });
    expect(chats.items).toHaveLength(PEERS);
    for (const chat of chats.items) {
      const p = Number(chat.chatJid.slice(7, 12)) - 10_000;
      expect(chat).toMatchObject({ unreadCount: PER_PEER, messageCount: PER_PEER });
      expect(chat.lastMessage.preview).toBe(`message ${PER_PEER - 1} from ${p}`);
    }

    // A late message older than the chat's snapshot is counted, but the snapshot stays.
    sandbox.inbound(sessionId, {
      from: peerPhone(1),
      text: 'late and old',
      waMessageId: 'BURST-LATE',
      timestamp: new Date(base - 60_000),
    });
    const late = await waitFor(
      async () => {
        const body = await get('/api/v1/whatsapp/chats', { sessionName: 'burst', limit: 100 });
        const chat = body.items.find((c: { chatJid: string }) =>
          c.chatJid.startsWith(peerPhone(1)),
        );
        return chat?.unreadCount === PER_PEER + 1 ? chat : undefined;
      },
      10_000,
      'the late message counted',
    );
    expect(late.lastMessage.preview).toBe(`message ${PER_PEER - 1} from 1`);

    // Contacts: one per peer, message counts without the edit, the newest pushName.
    const contacts = await waitFor(
      async () => {
        const body = await get('/api/v1/whatsapp/contacts', { sessionName: 'burst', limit: 100 });
        const counted = body.items.reduce(
          (n: number, c: { messageCount: number }) => n + c.messageCount,
          0,
        );
        return counted === PEERS * PER_PEER + 1 ? body : undefined;
      },
      10_000,
      'contact message counts',
    );
    expect(contacts.items).toHaveLength(PEERS);
    for (const c of contacts.items) {
      expect(c.messageCount).toBe(c.phone === peerPhone(1) ? PER_PEER + 1 : PER_PEER);
      expect(c.pushName).toMatch(/\(new name\)$/);
    }

    // Stats and the event log: every stored message once.
    const stats = await get('/api/v1/whatsapp/stats', {
      sessionName: 'burst',
      since: '2026-10-31T00:00:00.000Z',
      until: '2026-12-31T00:00:00.000Z',
    });
    expect(stats.messages.received).toBe(stored + 1);
    await waitFor(
      async () =>
        (await db
          .collection('events')
          .countDocuments({ sessionName: 'burst', type: 'message.received' })) ===
        stored + 1,
      10_000,
      'one message.received event per stored message',
    );
  });
});

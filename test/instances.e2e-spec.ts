import { getConnectionToken } from '@nestjs/mongoose';
import {
  SESSION_STATE_STORE,
  SandboxControl,
  SessionRegistry,
  type SessionStateStore,
  type WaConnection,
} from '@app/whatsapp';
import type { Connection } from 'mongoose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MONGO_TARGET, type MongoTarget } from '../apps/api/src/database/database.module';
import { WebhookDirectory } from '../apps/api/src/webhooks/webhook-directory';
import { connectedSession, waitForSessionStatus } from './support/sandbox';
import { createTestApp, registerUser, type RegisteredUser, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

/**
 * Two gateway instances on one database, behind a load balancer that may send any request to
 * either: the session runs on the instance holding its lease (A), and what B accepts for it is
 * carried out by A through the database.
 */
describe('two instances sharing one database', () => {
  let a: TestApp;
  let b: TestApp;
  let owner: RegisteredUser;
  const PEER = '+201555000777';
  const PEER_JID = '201555000777@s.whatsapp.net';
  const sessionId = () => `${owner.organization.id}_held-by-a`;

  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({ MONGODB_URI: a.app.get<symbol, MongoTarget>(MONGO_TARGET).uri });
    owner = await registerUser(a);
    await connectedSession(a, owner, 'held-by-a');
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a send accepted by B is sent by A', async () => {
    const accepted = await b
      .http()
      .post('/api/v1/whatsapp/messages/send')
      .set(owner.auth)
      .send({ sessionName: 'held-by-a', to: PEER, text: 'via b' })
      .expect(202);
    await waitFor(
      async () =>
        (await b.http().get(`/api/v1/whatsapp/messages/${accepted.body.id}`).set(owner.auth)).body
          .status === 'sent',
      10_000,
      'sent by A',
    );
  });

  it('a chat marked read on B has its read receipts sent by A', async () => {
    const waMessageId = (
      await a
        .http()
        .post('/api/v1/whatsapp/sandbox/sessions/held-by-a/inbound')
        .set(owner.auth)
        .send({ from: PEER, text: 'read me' })
        .expect(202)
    ).body.waMessageId;
    await waitFor(
      async () =>
        (await b.http().get('/api/v1/whatsapp/chats').set(owner.auth)).body.items.some(
          (c: { chatJid: string; unreadCount: number }) =>
            c.chatJid === PEER_JID && c.unreadCount > 0,
        ),
      10_000,
      'the chat, unread',
    );
    const read = await b
      .http()
      .post('/api/v1/whatsapp/chats/read')
      .set(owner.auth)
      .send({ sessionName: 'held-by-a', chat: PEER })
      .expect(200);
    expect(read.body).toMatchObject({ chat: { unreadCount: 0 } });
    expect(read.body.marked).toBeGreaterThan(0);
    await waitFor(
      async () => a.app.get(SandboxControl).readReceipts(sessionId()).includes(waMessageId),
      10_000,
      "A's sweep to send the receipt",
    );
  });

  it('a contacts sync asked of B is run by A', async () => {
    const addressBook = async () =>
      (
        await b
          .http()
          .get('/api/v1/whatsapp/contacts')
          .query({ search: '201555000888' })
          .set(owner.auth)
          .expect(200)
      ).body.items as Array<{ addressBookName: string | null }>;
    await a
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/held-by-a/contacts')
      .set(owner.auth)
      .send({ phone: '+201555000888', name: 'Synced Via A' })
      .expect(202);
    await waitFor(async () => (await addressBook()).length === 1, 10_000, 'the contact');
    await a.app.get<Connection>(getConnectionToken()).collection('contacts').deleteMany({});

    await b
      .http()
      .post('/api/v1/whatsapp/contacts/sync')
      .set(owner.auth)
      .send({ sessionName: 'held-by-a' })
      .expect(202);
    // A looks for requests to the sessions it holds every 250 ms.
    await waitFor(
      async () => (await addressBook())[0]?.addressBookName === 'Synced Via A',
      5_000,
      'the contact re-read by A',
    );
  });

  it('a session linking on A: its QR and a pairing code asked of B come from A, and the code links it', async () => {
    await a
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'linking-on-a' })
      .expect(201);
    const qrOn = (t: TestApp) =>
      t.http().get('/api/v1/whatsapp/sessions/linking-on-a/qr').set(owner.auth);
    await waitFor(async () => (await qrOn(a)).status === 200, 10_000, 'a QR on A');
    const [viaA, viaB] = [await qrOn(a).expect(200), await qrOn(b).expect(200)];
    expect(viaB.body).toEqual(viaA.body);

    const { code } = (
      await b
        .http()
        .post('/api/v1/whatsapp/sessions/linking-on-a/pairing-code')
        .set(owner.auth)
        .send({ phone: '+201555000999' })
        .expect(200)
    ).body;
    await a
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/linking-on-a/pairing-code')
      .set(owner.auth)
      .send({ code })
      .expect(200);
    await waitForSessionStatus(b, owner, 'linking-on-a', 'connected');
    expect(b.app.get(SessionRegistry).liveCount()).toBe(0);

    // A's refusal reaches B's caller as A would have given it.
    const refused = await qrOn(b).expect(409);
    expect(refused.body).toMatchObject({
      code: 'SESSION_ALREADY_CONNECTED',
      message:
        'WhatsApp session "linking-on-a" is already connected; no QR or pairing code is needed',
    });
  });

  it('a create whose start lost the session to B (a QR asked of B meanwhile) answers 201: the session runs on B', async () => {
    const registryA = a.app.get(SessionRegistry);
    const startHere = registryA.start.bind(registryA);
    vi.spyOn(registryA, 'start').mockImplementationOnce(async (id) => {
      // A dashboard polls the new session's QR; the load balancer sends that to B, which starts it.
      await b.http().get('/api/v1/whatsapp/sessions/raced/qr').set(owner.auth);
      return startHere(id);
    });
    const created = await a
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'raced' })
      .expect(201);
    expect(created.body).toMatchObject({ sessionName: 'raced' });
    const id = `${owner.organization.id}_raced`;
    expect(b.app.get(SessionRegistry).liveStatus(id)).toBeDefined();
    expect(registryA.liveStatus(id)).toBeUndefined();
    const qr = await a.http().get('/api/v1/whatsapp/sessions/raced/qr').set(owner.auth).expect(200);
    expect(qr.body.qr).toMatch(/^data:image\/png;base64,/);
    await b.http().delete('/api/v1/whatsapp/sessions/raced').set(owner.auth).expect(204);
  });

  it('a restart and a delete asked of B are carried out by A, which unlinks on WhatsApp', async () => {
    const registryA = a.app.get(SessionRegistry);
    const id = `${owner.organization.id}_linking-on-a`;
    const restarted = registryA.waitForStatus(id, (s) => s === 'connecting', 10_000);
    await b
      .http()
      .post('/api/v1/whatsapp/sessions/linking-on-a/restart')
      .set(owner.auth)
      .expect(200);
    expect(await restarted).toBe('connecting');
    await waitForSessionStatus(b, owner, 'linking-on-a', 'connected');

    // The engine's connection on A, whichever engine runs (sandbox or the emulator's Baileys).
    const connectionOnA = (
      registryA as unknown as { handles: Map<string, { connection: WaConnection }> }
    ).handles.get(id)!.connection;
    const unlink = vi.spyOn(connectionOnA, 'logout');
    await b.http().delete('/api/v1/whatsapp/sessions/linking-on-a').set(owner.auth).expect(204);
    expect(unlink).toHaveBeenCalledTimes(1); // by the connection that has the link
    expect(registryA.liveStatus(id)).toBeUndefined();
    await b.http().get('/api/v1/whatsapp/sessions/linking-on-a/status').set(owner.auth).expect(404);
    const auth = a.app.get<Connection>(getConnectionToken()).collection('wa_auth_state');
    // Every key is gone; the fence row stays (a late write of an earlier take stays refused).
    expect(await auth.countDocuments({ sessionId: id, type: { $ne: 'lease-fence' } })).toBe(0);
  });

  it('a delete asked of B for a session A holds disconnected: nothing queued goes out through the connection A opens to unlink it', async () => {
    const org = await registerUser(a);
    await connectedSession(a, org, 'dropped-on-a', '+201001230098');
    const id = `${org.organization.id}_dropped-on-a`;
    const registryA = a.app.get(SessionRegistry);
    // A keeps the session (and its lease) disconnected, as while it waits out a reconnect backoff.
    const noReconnect = vi
      .spyOn(registryA as unknown as { scheduleReconnect: () => void }, 'scheduleReconnect')
      .mockImplementation(() => undefined);
    try {
      await a
        .http()
        .post('/api/v1/whatsapp/sandbox/sessions/dropped-on-a/disconnect')
        .set(org.auth)
        .send({ reason: 'connectionLost' })
        .expect(202);
      await waitForSessionStatus(b, org, 'dropped-on-a', 'disconnected');
      expect(registryA.liveStatus(id)).toBe('disconnected');
      const queued: string[] = [];
      for (let i = 0; i < 3; i++) {
        const accepted = await b
          .http()
          .post('/api/v1/whatsapp/messages/send')
          .set(org.auth)
          .send({ sessionName: 'dropped-on-a', to: PEER, text: `queued ${i}` })
          .expect(202);
        queued.push(accepted.body.id);
      }

      await b.http().delete('/api/v1/whatsapp/sessions/dropped-on-a').set(org.auth).expect(204);
      expect(registryA.liveStatus(id)).toBeUndefined();
      const statuses = await waitFor(async () => {
        const messages = await Promise.all(
          queued.map(
            async (m) =>
              (await b.http().get(`/api/v1/whatsapp/messages/${m}`).set(org.auth).expect(200)).body,
          ),
        );
        return messages.every((m) => m.status !== 'pending') ? messages : undefined;
      });
      expect(statuses.map((m) => [m.status, m.error])).toEqual(
        queued.map(() => ['failed', "Session 'dropped-on-a' was logged out"]),
      );
    } finally {
      noReconnect.mockRestore();
    }
  });

  it('the whatsapp module switched off on B and on again on A while A holds the sessions: they keep running', async () => {
    const org = await registerUser(a);
    await connectedSession(a, org, 'switched', '+201001230099');
    const id = `${org.organization.id}_switched`;
    const registryA = a.app.get(SessionRegistry);
    expect(registryA.isConnected(id)).toBe(true);
    const requests = a.app
      .get<Connection>(getConnectionToken())
      .collection('whatsapp_session_requests');
    // A takes the requests left for it only when let: the stop B relays waits, as a busy or slow
    // holder's would, until the switch back on has been written and applied.
    const storeA = a.app.get<symbol, SessionStateStore>(SESSION_STATE_STORE);
    const take = storeA.takeHolderRequests.bind(storeA);
    let letATake!: () => void;
    const aMayTake = new Promise<void>((resolve) => (letATake = resolve));
    const held = vi.spyOn(storeA, 'takeHolderRequests').mockImplementation(async (...args) => {
      await aMayTake;
      return take(...args);
    });
    const modules = (t: TestApp, list: string[]) =>
      Promise.resolve(
        t.http().put('/api/v1/organizations/me/modules').set(org.auth).send({ modules: list }),
      );
    try {
      const off = modules(b, ['crm']); // B writes "off", reads it and relays the stop to A ...
      await waitFor(
        async () => (await requests.countDocuments({ sessionId: id, 'request.kind': 'stop' })) > 0,
        10_000,
        "B's stop, left for A",
      );
      // ... A writes "on" and restores: the session still runs on A, nothing to do ...
      expect((await modules(a, ['whatsapp', 'crm'])).status).toBe(200);
      letATake(); // ... and only then does A take B's stop.
      expect((await off).status).toBe(200);
    } finally {
      letATake();
      held.mockRestore();
    }
    expect(
      (await b.http().get('/api/v1/organizations/me').set(org.auth).expect(200)).body.modules,
    ).toContain('whatsapp');
    expect(registryA.liveStatus(id)).toBe('connected');
    const status = await b
      .http()
      .get('/api/v1/whatsapp/sessions/switched/status')
      .set(org.auth)
      .expect(200);
    expect(status.body).toMatchObject({ status: 'connected' });
    expect(status.body.lastError ?? null).toBeNull();
    // A send still goes out.
    const sent = await b
      .http()
      .post('/api/v1/whatsapp/messages/send')
      .set(org.auth)
      .send({ sessionName: 'switched', to: PEER, text: 'after the switches' })
      .expect(202);
    await waitFor(
      async () =>
        (await b.http().get(`/api/v1/whatsapp/messages/${sent.body.id}`).set(org.auth)).body
          .status === 'sent',
      10_000,
      'sent by A',
    );
  });
});

describe('webhooks written on one instance, events fanned out on another', () => {
  const ENV = { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' };
  let a: TestApp;
  let b: TestApp;
  let owner: RegisteredUser;
  let receiver: Server;
  let receiverUrl: string;
  const hits: Array<{ path: string; text: string }> = [];

  beforeAll(async () => {
    a = await createTestApp(ENV);
    b = await createTestApp({
      ...ENV,
      MONGODB_URI: a.app.get<symbol, MongoTarget>(MONGO_TARGET).uri,
    });
    owner = await registerUser(a);
    await connectedSession(a, owner, 'main');
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const { text } = JSON.parse(Buffer.concat(chunks).toString('utf8')).data;
        hits.push({ path: req.url ?? '', text });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
    await b?.close();
    await a?.close();
  });

  /**
   * A (holding the session, so delivering its events) has just read the organization's webhooks
   * into its delivery worker's cache; the fan-out's own reuse is the next test's.
   */
  const aReadsWebhooks = () => {
    const directory = a.app.get(WebhookDirectory);
    directory.invalidate(owner.organization.id);
    return directory.list(owner.organization.id);
  };
  const inboundOnA = (text: string) =>
    a
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/main/inbound')
      .set(owner.auth)
      .send({ from: '+201555000888', text })
      .expect(202);
  const delivered = (text: string, path = '/hook') =>
    waitFor(
      async () => hits.some((hit) => hit.text === text && hit.path === path),
      10_000,
      `delivery of "${text}" to ${path}`,
    );

  it('a webhook created on B gets the events A fans out right after, whatever A read before', async () => {
    expect(await aReadsWebhooks()).toEqual([]);
    const hook = (
      await b
        .http()
        .post('/api/v1/webhooks')
        .set(owner.auth)
        .send({ url: receiverUrl, events: ['message.received'] })
        .expect(201)
    ).body;
    await inboundOnA('after a create on B');
    await delivered('after a create on B');

    await b
      .http()
      .patch(`/api/v1/webhooks/${hook.id}`)
      .set(owner.auth)
      .send({ enabled: false })
      .expect(200);
    expect((await aReadsWebhooks()).map((h) => h.enabled)).toEqual([false]);
    await b
      .http()
      .patch(`/api/v1/webhooks/${hook.id}`)
      .set(owner.auth)
      .send({ enabled: true })
      .expect(200);
    await inboundOnA('after an enable on B');
    await delivered('after an enable on B');
  });

  it("a webhook created on B gets A's next event, although A's fan-out read the webhooks for the one before", async () => {
    await inboundOnA('before a second webhook');
    await delivered('before a second webhook'); // A fanned it out with the list it read
    await b
      .http()
      .post('/api/v1/webhooks')
      .set(owner.auth)
      .send({ url: `${receiverUrl}/second`, events: ['message.received'] })
      .expect(201);
    await inboundOnA('after a second webhook on B');
    await delivered('after a second webhook on B', '/hook/second');
    await delivered('after a second webhook on B');
  });
});

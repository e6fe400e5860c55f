import { MongoNetworkError } from 'mongodb';
import { buffer } from 'node:stream/consumers';
import { randomBytes } from 'node:crypto';
import { BatchedAuthStore } from '../auth-state/batched-auth-store';
import {
  InMemoryAuthRowBackend,
  InMemoryAuthStoreProvider,
} from '../auth-state/in-memory-auth-store';
import {
  InstanceShuttingDownError,
  QrNotAvailableError,
  SessionAlreadyConnectedError,
  SessionHolderUnavailableError,
  SessionLeasedElsewhereError,
  SessionNotConnectedError,
  SessionNotFoundError,
} from '../errors';
import { AuthWritesFencedError } from '../auth-state/wa-auth-store';
import { WA_EVENTS } from '../events';
import { SandboxConnection } from '../sandbox/sandbox-connection';
import { InMemorySessionStateStore } from '../session-state/in-memory-session-state.store';
import { NOT_ALLOWED_TO_RUN } from './session-restorer';
import { makeRegistryKit, onOneDatabase, tick } from '../testing/registry-test-kit';
import { type ScriptedConnection, scriptedEngine } from '../testing/scripted-engine';

describe('SessionRegistry with the sandbox engine', () => {
  it('walks connecting → qr_ready → (scan, 515) → connecting → connected and persists before emitting', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.createSession();
    const persistedAtEmit: string[] = [];
    kit.emitter.on(WA_EVENTS.sessionStatus, (e) =>
      persistedAtEmit.push(kit.store.docs.get(e.sessionId)!.status),
    );

    await kit.registry.start(sessionId);
    await kit.waitStatus(sessionId, 'qr_ready');
    const qrDoc = (await kit.store.findBySessionId(sessionId))!;
    expect(qrDoc.qr).toMatch(/^data:image\/png;base64,/);
    expect(qrDoc.qrExpiresAt!.getTime() - Date.now()).toBeGreaterThan(55_000);
    await tick(); // the QR event follows once the status event's subscribers are done
    const qrEvent = kit.events.find((e) => e.name === WA_EVENTS.sessionQr)!.payload;
    expect(qrEvent).toMatchObject({
      sessionId,
      organizationId: 'org1',
      sessionName: 'main',
      qr: qrDoc.qr,
    });

    await kit.control.scan(sessionId, '+1 555 123 4567');
    await kit.waitStatus(sessionId, 'connected');
    const doc = (await kit.store.findBySessionId(sessionId))!;
    expect(doc).toMatchObject({
      status: 'connected',
      phone: '15551234567',
      jid: '15551234567@s.whatsapp.net',
    });
    expect(doc.qr).toBeUndefined();
    expect(doc.lastError).toBeUndefined();
    expect(doc.connectedAt).toBeInstanceOf(Date);
    expect(kit.statusTrail(sessionId)).toEqual([
      'connecting',
      'qr_ready',
      'connecting',
      'connected',
    ]);
    expect(persistedAtEmit).toEqual(kit.statusTrail(sessionId));
    const first = kit.events.find((e) => e.name === WA_EVENTS.sessionStatus)!.payload;
    // The status a session is created with was never announced: the first change has no previous.
    expect(first).toMatchObject({
      previousStatus: null,
      status: 'connecting',
      at: expect.any(Date),
    });
    expect(kit.events.filter((e) => e.name === WA_EVENTS.sessionStatus)[1].payload).toMatchObject({
      previousStatus: 'connecting',
      status: 'qr_ready',
    });
    expect(kit.store.docs.get(sessionId)!.initialStatus).toBeUndefined();
    expect(kit.registry.isConnected(sessionId)).toBe(true);
    await kit.registry.beforeApplicationShutdown();
  });

  it('hands over what the engine still holds back before it closes a connection itself', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.createSession();
    await kit.registry.start(sessionId);
    await kit.waitStatus(sessionId, 'qr_ready');
    await kit.control.scan(sessionId, '+1 555 123 4567');
    await kit.waitStatus(sessionId, 'connected');
    // An engine that buffers (Baileys): a message it received comes out only once flushed.
    const connection = kit.hub.get(sessionId)!;
    const flush = vi.spyOn(connection, 'flushEvents').mockImplementation(() => {
      kit.control.inbound(sessionId, { from: '15550002222', text: 'held back' });
    });

    await kit.registry.stop(sessionId);
    expect(flush).toHaveBeenCalledTimes(1);
    const received = kit.events
      .filter((e) => e.name === WA_EVENTS.messageReceived)
      .map((e) => e.payload.message.text);
    expect(received).toEqual(['held back']);
    await kit.registry.beforeApplicationShutdown();
  });

  it('getQr starts an idle session and refuses once connected; unknown sessions are 404', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.createSession();
    const view = await kit.registry.getQr(sessionId);
    expect(view.status).toBe('qr_ready');
    expect(view.qr).toMatch(/^data:image\/png;base64,/);
    expect(view.expiresAt).toBeInstanceOf(Date);
    await kit.control.scan(sessionId, '15550001111');
    await kit.waitStatus(sessionId, 'connected');
    await expect(kit.registry.getQr(sessionId)).rejects.toBeInstanceOf(
      SessionAlreadyConnectedError,
    );
    await expect(kit.registry.getQr('org1_nope')).rejects.toBeInstanceOf(SessionNotFoundError);
    await kit.registry.beforeApplicationShutdown();
  });

  it('QR and pairing code of a session whose start fails at once (unreadable auth state) answer at once, with the stored status', async () => {
    const kit = makeRegistryKit({ options: { qrWaitMs: 3_000 } });
    const sessionId = await kit.linkedSession();
    await kit.registry.stop(sessionId);
    kit.auth.backend.putRaw(sessionId, 'creds', 'creds', '{not json');
    for (const ask of [
      () => kit.registry.getQr(sessionId),
      () => kit.registry.requestPairingCode(sessionId, '+15551234567'),
    ]) {
      const started = Date.now();
      const refused = await ask().catch((err: unknown) => err);
      expect(Date.now() - started).toBeLessThan(1_000); // not the whole qrWaitMs
      expect(refused).toBeInstanceOf(QrNotAvailableError);
      expect(refused).toMatchObject({ details: { status: 'failed' } });
    }
    expect(kit.store.docs.get(sessionId)).toMatchObject({
      status: 'failed',
      lastError: expect.stringMatching(/Auth state is unreadable/),
    });
    expect(kit.registry.liveCount()).toBe(0);
    await kit.registry.beforeApplicationShutdown();
  });

  it('gives every one of concurrent QR and pairing-code requests on an idle session its answer', async () => {
    const kit = makeRegistryKit();
    const idle = await kit.createSession();
    // A double click, two dashboard tabs: the later calls find the handle the first one is
    // starting, still showing the stored idle status.
    const alongside = async <T>(id: string, call: () => Promise<T>) => {
      const first = call();
      while (kit.registry.liveStatus(id) === undefined) await Promise.resolve();
      expect(kit.registry.liveStatus(id)).toBe('disconnected');
      return Promise.all([first, ...Array.from({ length: 5 }, call)]);
    };
    const views = await alongside(idle, () => kit.registry.getQr(idle));
    expect(views.map((v) => v.status)).toEqual(Array(6).fill('qr_ready'));
    // Only the call that started it says so (the others found it running).
    expect(views.map((v) => !!v.started)).toEqual([true, ...Array(5).fill(false)]);
    expect((await kit.registry.getQr(idle)).started).toBeUndefined();
    const other = await kit.createSession('other');
    const codes = await alongside(other, () =>
      kit.registry.requestPairingCode(other, '+15557654321'),
    );
    // One code for them all: asking WhatsApp again would void the earlier ones.
    expect(new Set(codes).size).toBe(1);
    await kit.control.enterPairingCode(other, codes[0]);
    await kit.waitStatus(other, 'connected');
    expect(codes.every((c) => /^[A-Z0-9]{8}$/.test(c))).toBe(true);
    await kit.registry.beforeApplicationShutdown();
  });

  it('pairs with a pairing code', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.createSession();
    const code = await kit.registry.requestPairingCode(sessionId, '+15557654321');
    expect(code).toMatch(/^[A-Z0-9]{8}$/);
    await kit.control.enterPairingCode(sessionId, code);
    await kit.waitStatus(sessionId, 'connected');
    expect((await kit.store.findBySessionId(sessionId))!.phone).toBe('15557654321');
    await kit.registry.beforeApplicationShutdown();
  });

  it('sends, reports sent/delivered/read, receives every inbound type and downloads media', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.linkedSession();
    const sent = await kit.registry.send(sessionId, '15550002222@s.whatsapp.net', {
      type: 'text',
      text: 'hi',
    });
    expect(sent.waMessageId).toMatch(/^3EB0[0-9A-F]{16}$/);
    await tick();
    await tick();
    kit.control.receipt(sessionId, sent.waMessageId, 'read');
    kit.control.receipt(sessionId, sent.waMessageId, 'delivered'); // out of order is allowed
    await tick();
    const statuses = kit.events
      .filter((e) => e.name === WA_EVENTS.messageStatus)
      .map((e) => e.payload);
    expect(statuses.map((s) => s.status)).toEqual(['sent', 'read', 'delivered']);
    expect(statuses[0]).toMatchObject({
      sessionId,
      organizationId: 'org1',
      waMessageId: sent.waMessageId,
      chatJid: '15550002222@s.whatsapp.net',
    });

    const bytes = randomBytes(1000);
    const image = kit.control.inbound(sessionId, {
      from: '15550002222',
      pushName: 'Ann',
      type: 'image',
      caption: 'pic',
      media: { data: bytes, mimetype: 'image/jpeg' },
    });
    kit.control.inbound(sessionId, {
      from: '15550002222',
      text: 'hello',
      quotedId: sent.waMessageId,
    });
    await tick();
    const received = kit.events
      .filter((e) => e.name === WA_EVENTS.messageReceived)
      .map((e) => e.payload.message);
    expect(received.map((m) => m.type)).toEqual(['image', 'text']);
    expect(received[0]).toMatchObject({
      senderPhone: '15550002222',
      pushName: 'Ann',
      caption: 'pic',
      fromMe: false,
      isHistory: false,
    });
    expect(received[1].quotedId).toBe(sent.waMessageId);
    expect(
      (
        await buffer(await kit.registry.downloadMedia(sessionId, image.media!.ref, 1_000_000))
      ).equals(bytes),
    ).toBe(true);

    kit.control.pushContact(sessionId, { phone: '15550002222', pushName: 'Ann' });
    kit.control.revealLid(sessionId, { phone: '15550002222', lid: '1234567' });
    await tick();
    expect(kit.events.find((e) => e.name === WA_EVENTS.contactsUpserted)!.payload.contacts).toEqual(
      [{ jid: '15550002222@s.whatsapp.net', phone: '15550002222', notify: 'Ann' }],
    );
    expect(kit.events.find((e) => e.name === WA_EVENTS.lidMapping)!.payload).toMatchObject({
      lid: '1234567@lid',
      pn: '15550002222@s.whatsapp.net',
    });
    await kit.registry.beforeApplicationShutdown();
  });

  it('send/resync throw SessionNotConnectedError unless connected', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.createSession();
    expect(() =>
      kit.registry.send(sessionId, 'x@s.whatsapp.net', { type: 'text', text: 'x' }),
    ).toThrow(SessionNotConnectedError);
    await kit.registry.start(sessionId);
    await kit.waitStatus(sessionId, 'qr_ready');
    expect(() =>
      kit.registry.send(sessionId, 'x@s.whatsapp.net', { type: 'text', text: 'x' }),
    ).toThrow(SessionNotConnectedError);
    await kit.registry.beforeApplicationShutdown();
  });

  it('loggedOut from the phone → logged_out, auth cleared, no reconnect', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.linkedSession();
    await kit.control.disconnect(sessionId, 'loggedOut');
    await kit.waitStatus(sessionId, 'logged_out');
    const doc = (await kit.store.findBySessionId(sessionId))!;
    expect(doc.lastError).toMatch(/Logged out/);
    expect(kit.auth.backend.rows.has(sessionId)).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(kit.registry.liveCount()).toBe(0);
    // Released once the status was written.
    expect((await kit.store.findBySessionId(sessionId))!.lease).toBeUndefined();
    expect(kit.control.isLive(sessionId)).toBe(false);
    // scanning again works: a new QR is offered
    expect((await kit.registry.getQr(sessionId)).status).toBe('qr_ready');
    await kit.registry.beforeApplicationShutdown();
  });

  it('registry.logout unlinks a connected session and clears its auth state', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.linkedSession();
    await kit.registry.logout(sessionId);
    expect((await kit.store.findBySessionId(sessionId))!.status).toBe('logged_out');
    expect(kit.auth.backend.rows.has(sessionId)).toBe(false);
    expect(kit.registry.liveCount()).toBe(0);
    await kit.registry.destroy(sessionId);
    expect(await kit.store.findBySessionId(sessionId)).toBeNull();
  });

  it('announces a deletion once, after its logged_out, by the destroy that removed the document; not one whose delete failed or found it gone', async () => {
    const kit = makeRegistryKit();
    const deletions = () => kit.events.filter((e) => e.name === WA_EVENTS.sessionDeleted);
    const sessionId = await kit.linkedSession('main', '15551234567');
    const { createdAt } = (await kit.store.findBySessionId(sessionId))!;

    const failing = vi.spyOn(kit.store, 'delete').mockRejectedValueOnce(new Error('disk full'));
    await expect(kit.registry.destroy(sessionId)).rejects.toThrow('disk full');
    expect(deletions()).toEqual([]);
    failing.mockRestore();

    await kit.registry.destroy(sessionId);
    expect(deletions().map((e) => e.payload)).toEqual([
      {
        sessionId,
        organizationId: 'org1',
        sessionName: 'main',
        phone: '15551234567',
        createdAt,
        at: expect.any(Date),
      },
    ]);
    expect(kit.events.at(-2)).toMatchObject({
      name: WA_EVENTS.sessionStatus,
      payload: { status: 'logged_out' },
    });

    // Another instance's delete removed it between this one's logout and its own delete.
    const again = await kit.createSession('again');
    vi.spyOn(kit.store, 'delete').mockImplementationOnce(async (id) => {
      kit.store.docs.delete(id);
      return false;
    });
    await kit.registry.destroy(again);
    expect(deletions()).toHaveLength(1);
    await kit.registry.beforeApplicationShutdown();
  });

  it('registry.logout of a linked session that is not connected connects it to unlink on WhatsApp', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.linkedSession();
    await kit.registry.stop(sessionId); // stopped, or reconnecting, or not restored yet
    expect(kit.registry.liveCount()).toBe(0);
    const unlink = vi.spyOn(SandboxConnection.prototype, 'logout');
    await kit.registry.logout(sessionId);
    expect(unlink).toHaveBeenCalledTimes(1); // the phone no longer lists the device
    expect((await kit.store.findBySessionId(sessionId))!.status).toBe('logged_out');
    expect(kit.auth.backend.rows.has(sessionId)).toBe(false);
    expect(kit.registry.liveCount()).toBe(0);
    unlink.mockRestore();
  });

  it('a session connected only to be unlinked reads not connected: nothing queued goes out through it', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.linkedSession();
    await kit.registry.stop(sessionId);
    // What the outbox and read-receipt dispatchers see when the logout's connection opens.
    const atConnected: Array<{ isConnected: boolean; send: unknown }> = [];
    kit.emitter.on(WA_EVENTS.sessionStatus, (e) => {
      if (e.sessionId !== sessionId || e.status !== 'connected') return;
      let send: unknown = 'sent';
      try {
        void kit.registry.send(sessionId, 'x@s.whatsapp.net', { type: 'text', text: 'x' });
      } catch (err) {
        send = err;
      }
      atConnected.push({ isConnected: kit.registry.isConnected(sessionId), send });
    });
    await kit.registry.destroy(sessionId);
    expect(atConnected).toEqual([
      { isConnected: false, send: expect.any(SessionNotConnectedError) },
    ]);
    expect((atConnected[0].send as Error).message).not.toContain('status: connected');
    // A session that is connected again later is open for traffic as before.
    const next = await kit.linkedSession('next', '15550000002');
    expect(kit.registry.isConnected(next)).toBe(true);
    await kit.registry.beforeApplicationShutdown();
  });

  it('a session being stopped reads not connected from the moment its stop begins', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.linkedSession();
    const close = SandboxConnection.prototype.close;
    const whileClosing: boolean[] = [];
    const spy = vi.spyOn(SandboxConnection.prototype, 'close').mockImplementation(function (
      this: SandboxConnection,
    ) {
      whileClosing.push(kit.registry.isConnected(sessionId));
      return close.call(this);
    });
    await kit.registry.stop(sessionId, 'Stopped: test');
    spy.mockRestore();
    expect(whileClosing).toEqual([false]);
    expect(kit.registry.isConnected(sessionId)).toBe(false);
    await kit.registry.beforeApplicationShutdown();
  });

  describe('logout while the connection is dropping', () => {
    afterEach(() => {
      vi.useRealTimers();
      vi.restoreAllMocks();
    });

    /**
     * The phone's side of logouts: a logout unlinks the device only through an open connection.
     * `drops(n)`: the n-th logout meets a connection that drops under it (the write fails, as
     * Baileys' "write EPIPE"), so WhatsApp never gets it.
     */
    const watchUnlinks = (drops: (call: number) => boolean = () => false) => {
      const logout = SandboxConnection.prototype.logout;
      const phone = { calls: 0, unlinked: 0 };
      vi.spyOn(SandboxConnection.prototype, 'logout').mockImplementation(async function (
        this: SandboxConnection,
      ) {
        phone.calls += 1;
        if (drops(phone.calls)) {
          await this.close();
          throw new Error('write EPIPE');
        }
        await logout.call(this);
        phone.unlinked += 1;
      });
      return phone;
    };

    /** Holds the store's writes of `status` until released. */
    const holdStatusWrites = (store: InMemorySessionStateStore, status: string) => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const update = store.update.bind(store);
      vi.spyOn(store, 'update').mockImplementation(async (id, patch, leaseToken) => {
        if (patch.status === status) await held;
        return update(id, patch, leaseToken);
      });
      return release;
    };

    it('a delete while the close of a lost connection is being handled connects again and unlinks', async () => {
      const kit = makeRegistryKit();
      const sessionId = await kit.linkedSession();
      const phone = watchUnlinks();
      const release = holdStatusWrites(kit.store, 'disconnected');
      await kit.control.disconnect(sessionId, 'connectionLost');
      await tick();
      // The race: the connection is gone, its close is being handled, the status still reads connected.
      expect(kit.control.isLive(sessionId)).toBe(false);
      expect(kit.registry.liveStatus(sessionId)).toBe('connected');
      const destroyed = kit.registry.destroy(sessionId);
      await tick();
      release();
      await destroyed;
      expect(phone.unlinked).toBe(1); // the phone no longer lists the device
      expect(kit.store.docs.has(sessionId)).toBe(false);
      expect(kit.auth.backend.rows.has(sessionId)).toBe(false);
      await tick();
      expect(kit.registry.liveCount()).toBe(0);
      expect(kit.hub.size).toBe(0);
      await kit.registry.beforeApplicationShutdown();
    });

    it('a delete right after a restart-required close (reconnect not run yet) connects and unlinks', async () => {
      const kit = makeRegistryKit();
      const sessionId = await kit.linkedSession();
      const phone = watchUnlinks();
      await kit.control.disconnect(sessionId, 'restartRequired');
      for (let i = 0; i < 5; i++) await Promise.resolve(); // the close is handled, no timer ran
      expect(kit.control.isLive(sessionId)).toBe(false);
      expect(kit.registry.liveStatus(sessionId)).toBe('connected'); // reconnects "now", status kept
      await kit.registry.destroy(sessionId);
      expect(phone.unlinked).toBe(1);
      expect(kit.store.docs.has(sessionId)).toBe(false);
      await new Promise((r) => setTimeout(r, 20)); // the reconnect that waited for the lock
      expect(kit.registry.liveCount()).toBe(0);
      expect(kit.hub.size).toBe(0);
      await kit.registry.beforeApplicationShutdown();
    });

    // The scan just linked the device: WhatsApp closed with 515 and the reconnect (whose open
    // would say `connected`) waits behind the delete. The status still reads qr_ready, yet the
    // phone lists the device now.
    it('a delete right after the scan linked the device (its connection not open yet) connects and unlinks', async () => {
      const kit = makeRegistryKit();
      const sessionId = await kit.createSession();
      await kit.registry.start(sessionId);
      await kit.waitStatus(sessionId, 'qr_ready');
      const phone = watchUnlinks();
      await kit.control.scan(sessionId, '15551234567');
      for (let i = 0; i < 5; i++) await Promise.resolve(); // the close is handled, no timer ran
      expect(kit.registry.liveStatus(sessionId)).toBe('qr_ready');
      await kit.registry.destroy(sessionId);
      expect(phone.unlinked).toBe(1);
      expect(kit.store.docs.has(sessionId)).toBe(false);
      expect(kit.auth.backend.rows.has(sessionId)).toBe(false);
      await new Promise((r) => setTimeout(r, 20)); // the reconnect that waited for the lock
      expect(kit.registry.liveCount()).toBe(0);
      expect(kit.hub.size).toBe(0);
      await kit.registry.beforeApplicationShutdown();
    });

    // On WhatsApp the phone lists the device from the pair-success on; the connection that got it
    // closes (515) a moment later. A delete in between finds it live and still qr_ready.
    it('a delete after the scan linked the device, before its connection closed for the restart, waits for it and unlinks', async () => {
      const connections: ScriptedConnection[] = [];
      const kit = makeRegistryKit({ engine: () => scriptedEngine(connections) });
      const sessionId = await kit.createSession();
      await kit.registry.start(sessionId);
      const pairing = connections[0];
      pairing.emit('qr', 'ref-1,noise,identity,adv');
      await kit.waitStatus(sessionId, 'qr_ready');
      // The scan: creds stored with the link, the connection not closed yet.
      pairing.linked = true;
      await kit.auth
        .forSession(sessionId)
        .writeCreds({ me: { id: '15551234567:3@s.whatsapp.net' } });

      const destroyed = kit.registry.destroy(sessionId);
      await new Promise((r) => setTimeout(r, 50));
      pairing.emit('close', {
        code: 515,
        reason: 'restartRequired',
        message: 'Stream Errored (restart required)',
      });
      // The delete connects with the new link, and unlinks through that connection once open.
      await vi.waitFor(() => expect(connections).toHaveLength(2), { timeout: 2_000 });
      connections[1].emit('open', { jid: '15551234567@s.whatsapp.net', phone: '15551234567' });
      await destroyed;
      expect(connections[1].logouts).toBe(1);
      expect(pairing.logouts).toBe(0);
      expect(kit.store.docs.has(sessionId)).toBe(false);
      expect(kit.auth.backend.rows.has(sessionId)).toBe(false);
      expect(kit.registry.liveCount()).toBe(0);
    });

    it('a logout the dropping connection lost connects again and retries', async () => {
      const kit = makeRegistryKit();
      const sessionId = await kit.linkedSession();
      const phone = watchUnlinks((call) => call === 1);
      await kit.registry.logout(sessionId);
      expect(phone).toEqual({ calls: 2, unlinked: 1 });
      expect(kit.statusTrail(sessionId).slice(-3)).toEqual([
        'connecting',
        'connected',
        'logged_out',
      ]);
      const doc = (await kit.store.findBySessionId(sessionId))!;
      expect(doc.status).toBe('logged_out');
      expect(doc.lastError ?? null).toBeNull();
      expect(kit.auth.backend.rows.has(sessionId)).toBe(false);
      await tick();
      expect(kit.registry.liveCount()).toBe(0);
      expect(kit.hub.size).toBe(0);
    });

    it('gives up after the 10 s budget and says the device was unlinked here only', async () => {
      vi.useFakeTimers();
      // qrcode's PNG encoder uses zlib's thread pool, which fake timers cannot advance.
      const renderQr = async (qr: string) =>
        `data:image/png;base64,${Buffer.from(qr).toString('base64')}`;
      const kit = makeRegistryKit({ options: { renderQr } });
      const sessionId = await kit.createSession();
      await kit.registry.start(sessionId);
      await vi.advanceTimersByTimeAsync(10);
      await kit.control.scan(sessionId, '15551234567');
      await vi.advanceTimersByTimeAsync(10);
      expect(kit.registry.isConnected(sessionId)).toBe(true);
      const phone = watchUnlinks(() => true);
      let done = false;
      const loggingOut = kit.registry.logout(sessionId).then(() => (done = true));
      await vi.advanceTimersByTimeAsync(9_000);
      expect(done).toBe(false); // still retrying
      await vi.advanceTimersByTimeAsync(1_500);
      await loggingOut;
      expect(phone.calls).toBeGreaterThan(2);
      expect(phone.unlinked).toBe(0);
      const doc = (await kit.store.findBySessionId(sessionId))!;
      expect(doc.status).toBe('logged_out');
      expect(doc.lastError).toBe(
        "Not unlinked on WhatsApp (logout failed: write EPIPE): remove the device in the phone's linked devices",
      );
      expect(kit.auth.backend.rows.has(sessionId)).toBe(false);
      expect(kit.registry.liveCount()).toBe(0);
      expect(kit.hub.size).toBe(0);
    });
  });

  it('connectionReplaced → disconnected with lastError and no reconnect', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.linkedSession();
    await kit.control.disconnect(sessionId, 'connectionReplaced');
    await kit.waitStatus(sessionId, 'disconnected');
    await new Promise((r) => setTimeout(r, 50));
    const doc = (await kit.store.findBySessionId(sessionId))!;
    expect(doc.status).toBe('disconnected');
    expect(doc.lastError).toMatch(/replaced/i);
    expect(kit.registry.liveCount()).toBe(0);
    expect(kit.auth.backend.rows.has(sessionId)).toBe(true); // link kept
  });

  // Every reconnect would be refused the same way, and hammering WhatsApp after a ban makes it worse.
  it.each([
    ['forbidden', /^Banned or blocked by WhatsApp \(403\)/, true],
    ['multideviceMismatch', /^Multi-device link refused by WhatsApp \(411\).*new QR code/, false],
  ] as const)(
    '%s → failed at once with lastError, no reconnect; link kept: %s',
    async (reason, lastError, linkKept) => {
      const kit = makeRegistryKit();
      const sessionId = await kit.linkedSession();
      const create = vi.spyOn((kit.registry as any).engine, 'create');
      await kit.control.disconnect(sessionId, reason);
      await kit.waitStatus(sessionId, 'failed');
      await vi.waitFor(() => expect(kit.registry.liveCount()).toBe(0));
      await new Promise((r) => setTimeout(r, 50));
      expect(create).not.toHaveBeenCalled();
      const doc = (await kit.store.findBySessionId(sessionId))!;
      expect(doc).toMatchObject({ status: 'failed', lastError: expect.stringMatching(lastError) });
      expect(doc.lease).toBeUndefined();
      expect(await kit.auth.forSession(sessionId).hasCreds()).toBe(linkKept);
      expect(kit.statusTrail(sessionId).slice(-2)).toEqual(['connected', 'failed']);
    },
  );

  it('a replaced connection stays stopped across restarts and instances, as a logged-out one, until a restart or QR asks', async () => {
    const { store, instance } = onOneDatabase();
    const first = instance('A');
    const replaced = await first.linkedSession('replaced', '15551230010');
    const running = await first.linkedSession('running', '15551230011');
    const loggedOut = await first.linkedSession('gone', '15551230012');
    await first.registry.logout(loggedOut);
    await first.control.disconnect(replaced, 'connectionReplaced');
    await first.waitStatus(replaced, 'disconnected');
    await vi.waitFor(() => expect(store.docs.get(replaced)!.lease).toBeUndefined());
    expect(store.docs.get(replaced)).toMatchObject({ stoppedUntilAsked: true });
    await first.registry.beforeApplicationShutdown();
    const left = structuredClone(store.docs.get(replaced)!);

    // The next boot, under the same instance id or another one, and orphan adoption: the replaced
    // one, like the logged-out one, is neither started nor counted, and nothing is written to it.
    const second = instance('A', { restoreOnBoot: true });
    const created = vi.spyOn((second.registry as any).engine, 'create');
    const prepared = await (second.registry as any).restorer.prepare();
    expect(prepared.map((d: { sessionId: string }) => d.sessionId)).toEqual([running]);
    await second.registry.onApplicationBootstrap();
    await second.waitStatus(running, 'connected');
    await vi.waitFor(() => expect(second.registry.isRestoring).toBe(false));
    const other = instance('B');
    // (`running` is considered, and skipped: a live peer holds it.)
    expect(await other.registry.restoreAll()).toEqual({
      restored: [],
      failed: [],
      skipped: [running],
    });
    expect(await other.registry.adoptOrphans()).toEqual([]);
    // Asked by the module gate (switched on again), or listed while it still ran (as a boot or an
    // adoption may have listed it just before it was replaced): decided on its current document.
    const listedRunning = { ...left, status: 'connected' as const, stoppedUntilAsked: undefined };
    for (const listed of [left, listedRunning])
      expect(await other.registry.restore([listed])).toEqual({
        restored: [],
        failed: [],
        skipped: [replaced],
      });
    expect(created).toHaveBeenCalledTimes(1); // `running` only
    expect(store.docs.get(replaced)).toEqual(left);
    for (const kit of [second, other]) expect(kit.statusTrail(replaced)).toEqual([]);
    expect(store.docs.get(loggedOut)!.status).toBe('logged_out');

    // The user asks: it comes back without a scan, and is restored like any other from then on.
    await second.registry.restart(replaced);
    await second.waitStatus(replaced, 'connected');
    expect(store.docs.get(replaced)!.stoppedUntilAsked).toBeUndefined();
    await second.registry.beforeApplicationShutdown();
    const third = instance('C');
    expect((await third.registry.restoreAll()).restored.sort()).toEqual([replaced, running].sort());
    await third.waitStatus(replaced, 'connected');

    // Replaced again: a QR request brings it back as well (already linked: it just connects).
    await third.control.disconnect(replaced, 'connectionReplaced');
    await third.waitStatus(replaced, 'disconnected');
    await vi.waitFor(() => expect(store.docs.get(replaced)!.stoppedUntilAsked).toBe(true));
    await expect(third.registry.getQr(replaced)).rejects.toThrow(SessionAlreadyConnectedError);
    expect(third.registry.liveStatus(replaced)).toBe('connected');
    expect(store.docs.get(replaced)!.stoppedUntilAsked).toBeUndefined();
    await third.registry.beforeApplicationShutdown();
  });

  // A boot that reconnected a banned number would knock on WhatsApp's door at every deploy.
  it('a banned number (403) stays failed across restarts and instances until a restart asks; one that gave up reconnecting is tried again at boot', async () => {
    const { store, instance } = onOneDatabase({ backoff: { maxRetries: 0 } });
    const first = instance('A');
    const banned = await first.linkedSession('banned', '15551230030');
    const gaveUp = await first.linkedSession('gave-up', '15551230031');
    await first.control.disconnect(banned, 'forbidden');
    await first.control.disconnect(gaveUp, 'connectionLost'); // maxRetries 0: gives up at once
    for (const sessionId of [banned, gaveUp])
      await vi.waitFor(() => {
        expect(store.docs.get(sessionId)!.status).toBe('failed');
        expect(store.docs.get(sessionId)!.lease).toBeUndefined();
      });
    await first.registry.beforeApplicationShutdown();
    const left = structuredClone(store.docs.get(banned)!);

    const second = instance('A');
    const created = vi.spyOn((second.registry as any).engine, 'create');
    expect(await second.registry.restoreAll()).toEqual({
      restored: [gaveUp],
      failed: [],
      skipped: [],
    });
    await second.waitStatus(gaveUp, 'connected');
    expect(await instance('B').registry.restore([left])).toEqual({
      restored: [],
      failed: [],
      skipped: [banned],
    });
    expect(created).toHaveBeenCalledTimes(1); // `gave-up` only
    expect(store.docs.get(banned)).toEqual(left);
    expect(second.statusTrail(banned)).toEqual([]);

    // Asked: it reconnects with the kept link, and is restored like any other from then on.
    await second.registry.restart(banned);
    await second.waitStatus(banned, 'connected');
    await second.registry.beforeApplicationShutdown();
    expect((await instance('C').registry.restoreAll()).restored.sort()).toEqual(
      [banned, gaveUp].sort(),
    );
  });

  it('a stop marker left on a session that runs again (started by a version without the marker: a rollback) does not keep it down', async () => {
    const allowed = { now: true };
    const { store, instance } = onOneDatabase({ mayRun: async () => allowed.now });
    const first = instance('A');
    const killed = await first.linkedSession('killed', '15551230020');
    const stopped = await first.linkedSession('stopped', '15551230021');
    // Replaced, then started again by a version that neither knows nor clears the marker; that
    // version was killed (`connected` left behind) or shut down (`connecting`, lease released).
    for (const sessionId of [killed, stopped]) {
      await first.control.disconnect(sessionId, 'connectionReplaced');
      await first.waitStatus(sessionId, 'disconnected');
      await vi.waitFor(() => expect(store.docs.get(sessionId)!.lease).toBeUndefined());
    }
    await first.registry.beforeApplicationShutdown();
    Object.assign(store.docs.get(killed)!, {
      status: 'connected',
      lastError: undefined,
      lease: { owner: 'old', expiresAt: new Date(Date.now() - 1_000) },
    });
    Object.assign(store.docs.get(stopped)!, { status: 'connecting', lastError: 'old shutdown' });
    for (const sessionId of [killed, stopped])
      expect(store.docs.get(sessionId)!.stoppedUntilAsked).toBe(true);

    // The marker says "stopped": a session whose status says it runs (or was left to be picked up)
    // is restored at boot and adopted, not left reading `connected`/`connecting` with nothing
    // running it.
    const next = instance('B');
    expect((await next.registry.restoreAll()).restored.sort()).toEqual([killed, stopped].sort());
    for (const sessionId of [killed, stopped]) {
      await next.waitStatus(sessionId, 'connected');
      expect(store.docs.get(sessionId)!.stoppedUntilAsked).toBeUndefined();
    }
    await next.registry.beforeApplicationShutdown();

    // Adoption, likewise (a `connecting` session whose lease ran out).
    store.docs.get(stopped)!.stoppedUntilAsked = true;
    const adopter = instance('C');
    expect(await adopter.registry.adoptOrphans()).toContain(stopped);
    await adopter.waitStatus(stopped, 'connected');
    await adopter.registry.beforeApplicationShutdown();

    // Found barred (its organization may not run now): settled `disconnected` without the stale
    // marker, so it comes back once the organization may run again (the module switched on).
    store.docs.get(stopped)!.stoppedUntilAsked = true;
    allowed.now = false;
    const barred = instance('D');
    expect((await barred.registry.restoreAll()).skipped).toContain(stopped);
    expect(store.docs.get(stopped)).toMatchObject({
      status: 'disconnected',
      lastError: NOT_ALLOWED_TO_RUN,
    });
    allowed.now = true;
    expect((await barred.registry.restore([store.docs.get(stopped)!])).restored).toEqual([stopped]);
    await barred.waitStatus(stopped, 'connected');
    await barred.registry.beforeApplicationShutdown();
  });

  /**
   * Where a request goes (here, or relayed to the holder) follows the lease as the database judges
   * it. The database's clock is set off here, so the instances' clocks are off it by as much.
   */
  describe('routing to the holder, on instances whose clock is 60 s off the database’s', () => {
    const SKEW_MS = 60_000;

    it('running ahead: a stop and a restart asked of B are carried out by A, which holds the session', async () => {
      const { store, instance } = onOneDatabase({ holderPollMs: 20 });
      store.now = () => new Date(Date.now() - SKEW_MS);
      const a = instance('A');
      const b = instance('B');
      const sessionId = await a.linkedSession();
      // By B's clock, A's lease ran out 30 s ago; by the database's it is live.
      expect(store.docs.get(sessionId)!.lease!.expiresAt.getTime()).toBeLessThan(Date.now());

      await b.registry.restart(sessionId);
      await a.waitStatus(sessionId, 'connected');
      expect(a.statusTrail(sessionId).slice(-2)).toEqual(['connecting', 'connected']);
      await b.registry.stop(sessionId, 'asked of B');
      expect(store.docs.get(sessionId)).toMatchObject({
        status: 'disconnected',
        lastError: 'asked of B',
      });
      expect(a.registry.liveStatus(sessionId)).toBeUndefined();
      expect(b.registry.liveStatus(sessionId)).toBeUndefined();
    });

    it('running behind: a QR asked of B for a session whose holder died is started on B, not relayed', async () => {
      const { store, instance } = onOneDatabase({ holderAnswerTimeoutMs: 1_000 });
      store.now = () => new Date(Date.now() + SKEW_MS);
      const b = instance('B');
      const sessionId = await b.createSession();
      // A died holding it: its lease ran out by the database's clock, not yet by B's.
      store.docs.get(sessionId)!.lease = {
        owner: 'A',
        expiresAt: new Date(store.now().getTime() - 1_000),
      };
      const view = await b.registry.getQr(sessionId);
      expect(view.status).toBe('qr_ready');
      expect(b.registry.liveStatus(sessionId)).toBe('qr_ready');
      expect(store.docs.get(sessionId)!.lease!.owner).toBe('B');
      await b.registry.beforeApplicationShutdown();
    });
  });

  /** B found the session free, and A started it before B could take the lease. */
  describe('a start that loses the lease race asks the instance that won', () => {
    const raceLostTo = async () => {
      const { store, instance } = onOneDatabase({ holderPollMs: 20 });
      const a = instance('A');
      const b = instance('B');
      const sessionId = await a.createSession();
      const acquire = store.acquireLease.bind(store);
      vi.spyOn(store, 'acquireLease').mockImplementationOnce(async (id, owner, ttlMs) => {
        await a.registry.start(id); // A wins
        return acquire(id, owner, ttlMs);
      });
      return { store, a, b, sessionId };
    };
    afterEach(() => vi.restoreAllMocks());

    it('a QR asked of B comes from A', async () => {
      const { a, b, sessionId } = await raceLostTo();
      const view = await b.registry.getQr(sessionId);
      expect(view).toMatchObject({ status: 'qr_ready', qr: expect.stringMatching(/^data:/) });
      expect(a.registry.liveStatus(sessionId)).toBe('qr_ready');
      expect(b.registry.liveStatus(sessionId)).toBeUndefined();
      await a.registry.beforeApplicationShutdown();
    });

    it('a restart asked of B is carried out by A', async () => {
      const { store, a, b, sessionId } = await raceLostTo();
      await b.registry.restart(sessionId);
      expect(b.registry.liveStatus(sessionId)).toBeUndefined();
      expect(store.docs.get(sessionId)!.lease!.owner).toBe('A');
      await a.waitStatus(sessionId, 'qr_ready');
      await a.registry.beforeApplicationShutdown();
    });
  });

  describe('a close that settles the session writes its status before it lets the lease go', () => {
    /** Records, in order, the status writes and lease releases of the store. */
    function recordWritesAndReleases(store: InMemorySessionStateStore) {
      const order: string[] = [];
      const update = store.update.bind(store);
      vi.spyOn(store, 'update').mockImplementation(async (id, patch, leaseToken) => {
        if (patch.status) order.push(`status ${patch.status}`);
        return update(id, patch, leaseToken);
      });
      const releaseLease = store.releaseLease.bind(store);
      vi.spyOn(store, 'releaseLease').mockImplementation(async (...args) => {
        order.push('lease released');
        return releaseLease(...args);
      });
      return order;
    }
    afterEach(() => vi.restoreAllMocks());

    it.each([
      ['connectionReplaced', 'disconnected', {}],
      ['loggedOut', 'logged_out', {}],
      ['connectionLost', 'failed', { backoff: { maxRetries: 0 } }], // gives up at once
    ] as const)('%s → %s', async (reason, status, options) => {
      const kit = makeRegistryKit({ options });
      const sessionId = await kit.linkedSession();
      const order = recordWritesAndReleases(kit.store);
      const leaseAtStatus: unknown[] = [];
      kit.emitter.on(WA_EVENTS.sessionStatus, (e) =>
        leaseAtStatus.push(kit.store.docs.get(e.sessionId)!.lease?.owner),
      );
      await kit.control.disconnect(sessionId, reason);
      await kit.waitStatus(sessionId, status);
      await vi.waitFor(() => expect(kit.registry.liveCount()).toBe(0));
      expect(order).toEqual([`status ${status}`, 'lease released']);
      expect(leaseAtStatus).toEqual([kit.registry.instanceId]);
      expect(kit.store.docs.get(sessionId)!.lease).toBeUndefined();
      await kit.registry.beforeApplicationShutdown();
    });

    it('the auth writes still on their way land before the lease goes (another instance would read the rows from before them)', async () => {
      const kit = makeRegistryKit();
      const sessionId = await kit.linkedSession();
      const order = recordWritesAndReleases(kit.store);
      const { backend } = kit.auth;
      const writeMany = backend.writeMany.bind(backend);
      let land!: () => void;
      const landed = new Promise<void>((resolve) => (land = resolve));
      vi.spyOn(backend, 'writeMany').mockImplementationOnce(async (...args) => {
        await landed; // a slow database
        order.push('auth written');
        return writeMany(...args);
      });
      void kit.auth.forSession(sessionId).keys.set({ session: { peer: { v: 2 } } });
      const release = kit.auth.release.bind(kit.auth);
      vi.spyOn(kit.auth, 'release').mockImplementation((id) => {
        land(); // the write lands once the registry lets go of the store
        return release(id);
      });

      await kit.control.disconnect(sessionId, 'connectionReplaced');
      await kit.waitStatus(sessionId, 'disconnected');
      await vi.waitFor(() => expect(kit.store.docs.get(sessionId)!.lease).toBeUndefined());
      expect(order).toEqual(['status disconnected', 'auth written', 'lease released']);
      await kit.registry.beforeApplicationShutdown();
    });

    it('a start asked while the close writes its status waits for it, and is not overwritten by it', async () => {
      const kit = makeRegistryKit();
      const sessionId = await kit.linkedSession();
      const create = vi.spyOn((kit.registry as any).engine, 'create');
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const update = kit.store.update.bind(kit.store);
      const held = vi.spyOn(kit.store, 'update').mockImplementation(async (id, patch, token) => {
        if (patch.status === 'disconnected') await gate; // the close's status write is slow
        return update(id, patch, token);
      });
      await kit.control.disconnect(sessionId, 'connectionReplaced');
      await vi.waitFor(() =>
        expect(held).toHaveBeenCalledWith(
          sessionId,
          expect.objectContaining({ status: 'disconnected' }),
          kit.store.docs.get(sessionId)!.lease!.token,
        ),
      );
      const starting = kit.registry.start(sessionId); // e.g. the user restarts it right away
      await tick();
      expect(create).not.toHaveBeenCalled(); // nothing reopens the connection meanwhile
      release();
      await starting;
      await kit.waitStatus(sessionId, 'connected');
      expect(kit.statusTrail(sessionId).slice(-3)).toEqual([
        'disconnected',
        'connecting',
        'connected',
      ]);
      expect(kit.store.docs.get(sessionId)).toMatchObject({
        status: 'connected',
        lease: { owner: kit.registry.instanceId },
      });
      expect(kit.registry.isConnected(sessionId)).toBe(true);
      await kit.registry.beforeApplicationShutdown();
    });
  });

  it('restartRequired on a linked session reconnects immediately', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.linkedSession();
    const before = kit.statusTrail(sessionId).length;
    await kit.control.disconnect(sessionId, 'restartRequired');
    await kit.waitStatus(sessionId, 'connecting');
    await kit.waitStatus(sessionId, 'connected');
    expect(kit.statusTrail(sessionId).slice(before)).toEqual(['connecting', 'connected']);
    await kit.registry.beforeApplicationShutdown();
  });

  describe('with fake timers', () => {
    // qrcode's PNG encoder uses zlib's thread pool, which fake timers cannot advance.
    const renderQr = async (qr: string) =>
      `data:image/png;base64,${Buffer.from(qr).toString('base64')}`;
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => {
      vi.useRealTimers();
      vi.restoreAllMocks();
    });

    it('connectionLost → disconnected → reconnects after the backoff → connected', async () => {
      vi.spyOn(Math, 'random').mockReturnValue(0.5); // no jitter
      const kit = makeRegistryKit({ options: { renderQr } });
      const sessionId = await kit.createSession();
      await kit.registry.start(sessionId);
      await vi.advanceTimersByTimeAsync(10);
      await kit.control.scan(sessionId, '15551234567');
      await vi.advanceTimersByTimeAsync(10);
      expect(kit.registry.isConnected(sessionId)).toBe(true);

      await kit.control.disconnect(sessionId, 'connectionLost');
      await vi.advanceTimersByTimeAsync(0);
      const doc = (await kit.store.findBySessionId(sessionId))!;
      expect(doc.status).toBe('disconnected');
      expect(doc.lastError).toBe('Connection was lost (408)');
      await vi.advanceTimersByTimeAsync(998);
      expect(kit.registry.liveStatus(sessionId)).toBe('disconnected');
      await vi.advanceTimersByTimeAsync(10);
      expect(kit.registry.liveStatus(sessionId)).toBe('connected');
      expect(kit.statusTrail(sessionId).slice(-3)).toEqual([
        'disconnected',
        'connecting',
        'connected',
      ]);
      await kit.registry.beforeApplicationShutdown();
    });

    it('a connection lost while the database is unreachable reconnects once it answers, and the stored status catches up', async () => {
      vi.spyOn(Math, 'random').mockReturnValue(0.5); // no jitter
      const kit = makeRegistryKit({ options: { renderQr } });
      const sessionId = await kit.createSession();
      await kit.registry.start(sessionId);
      await vi.advanceTimersByTimeAsync(10);
      await kit.control.scan(sessionId, '15551234567');
      await vi.advanceTimersByTimeAsync(10);
      expect(kit.registry.isConnected(sessionId)).toBe(true);

      let outage = true;
      const update = kit.store.update.bind(kit.store);
      vi.spyOn(kit.store, 'update').mockImplementation((...args) =>
        outage ? Promise.reject(new MongoNetworkError('connection 9 closed')) : update(...args),
      );
      await kit.control.disconnect(sessionId, 'connectionLost');
      await vi.advanceTimersByTimeAsync(20_000); // the reconnects of the outage fail too
      outage = false;
      await vi.advanceTimersByTimeAsync(30_000);
      expect(kit.control.phase(sessionId)).toBe('open'); // a live connection again
      expect(kit.registry.liveStatus(sessionId)).toBe('connected');
      expect((await kit.store.findBySessionId(sessionId))!.status).toBe('connected');
      expect(kit.statusTrail(sessionId).slice(-2)).toEqual(['connecting', 'connected']);
      await kit.registry.beforeApplicationShutdown();
    });

    it('rotates the QR (first 60 s, then 20 s) and stops as disconnected when never scanned', async () => {
      const kit = makeRegistryKit({
        options: { renderQr, qr: { firstTtlMs: 60_000, rotateMs: 20_000, maxQrRefs: 3 } },
      });
      const sessionId = await kit.createSession();
      await kit.registry.start(sessionId);
      const qrs = () =>
        kit.events.filter((e) => e.name === WA_EVENTS.sessionQr).map((e) => e.payload);
      await vi.advanceTimersByTimeAsync(10);
      expect(qrs()).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(59_980);
      expect(qrs()).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(20);
      expect(qrs()).toHaveLength(2);
      expect(qrs()[1].qr).not.toBe(qrs()[0].qr);
      expect(qrs()[1].expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(20_000);
      await vi.advanceTimersByTimeAsync(20_000);
      expect(qrs()).toHaveLength(3);
      await vi.advanceTimersByTimeAsync(20_000);
      const doc = (await kit.store.findBySessionId(sessionId))!;
      expect(doc).toMatchObject({
        status: 'disconnected',
        lastError: expect.stringMatching(/not scanned in time/),
      });
      expect(doc.qr).toBeUndefined();
      expect(kit.registry.liveCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(120_000);
      expect(qrs()).toHaveLength(3); // no reconnect

      await kit.registry.restart(sessionId);
      await vi.advanceTimersByTimeAsync(10);
      expect(kit.registry.liveStatus(sessionId)).toBe('qr_ready');
      await kit.registry.beforeApplicationShutdown();
    });

    it('a contacts resync asked on another instance runs on the one holding the session, once', async () => {
      const { store, instance } = onOneDatabase({ renderQr, leaseTtlMs: 30_000 });
      const a = instance('A');
      const b = instance('B');
      const sessionId = await a.createSession();
      await a.registry.start(sessionId);
      await vi.advanceTimersByTimeAsync(10);
      await a.control.scan(sessionId, '15551234567');
      await vi.advanceTimersByTimeAsync(10);
      const resync = vi.spyOn(a.hub.get(sessionId)!, 'resyncContacts');

      await b.registry.resyncContacts(sessionId); // B does not run it: it asks A
      expect(resync).not.toHaveBeenCalled();
      expect([...store.requests.values()]).toMatchObject([{ request: { kind: 'resyncContacts' } }]);
      await vi.advanceTimersByTimeAsync(250); // A's next poll takes the request
      expect(resync).toHaveBeenCalledTimes(1);
      expect([...store.requests.values()]).toMatchObject([{ takenBy: 'A', answer: { ok: true } }]);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(resync).toHaveBeenCalledTimes(1);

      // Where nobody holds a connected session, the caller hears so instead of a silent request.
      await a.registry.beforeApplicationShutdown();
      await expect(b.registry.resyncContacts(sessionId)).rejects.toBeInstanceOf(
        SessionNotConnectedError,
      );
    });

    it('a contacts resync asked on B while A held the session is carried out by B once B adopted the session (A died before its poll took it) and has it connected', async () => {
      const { store, instance } = onOneDatabase({ renderQr, leaseTtlMs: 30_000 });
      const a = instance('A');
      const b = instance('B');
      const sessionId = await a.createSession();
      await a.registry.start(sessionId);
      await vi.advanceTimersByTimeAsync(10);
      await a.control.scan(sessionId, '15551234567');
      await vi.advanceTimersByTimeAsync(10);

      await b.registry.resyncContacts(sessionId); // told to A, the holder
      // A dies before its next poll: no renewal, no poll, its lease runs out.
      (a.registry as any).leases.stopTimer();
      await (a.registry as any).relay.stop();
      store.docs.get(sessionId)!.lease!.expiresAt = new Date(Date.now() - 1);
      expect(await b.registry.adoptOrphans()).toEqual([sessionId]);
      const resync = vi.spyOn(b.hub.get(sessionId)!, 'resyncContacts');
      await vi.advanceTimersByTimeAsync(10);
      expect(b.registry.isConnected(sessionId)).toBe(true);
      await vi.advanceTimersByTimeAsync(250); // B's next poll
      expect(resync).toHaveBeenCalledTimes(1);
      expect([...store.requests.values()]).toMatchObject([{ takenBy: 'B', answer: { ok: true } }]);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(resync).toHaveBeenCalledTimes(1);
      await b.registry.beforeApplicationShutdown();
    });

    it('what needs the live connection, asked of another instance, is carried out by the holder', async () => {
      const { store, instance } = onOneDatabase({ renderQr });
      const a = instance('A');
      const b = instance('B');
      const sessionId = await a.createSession();
      await a.registry.start(sessionId);
      await vi.advanceTimersByTimeAsync(10);
      /** B's call, with time for A's poll (every 250 ms) and B's wait for the answer. */
      const viaB = async <T>(call: Promise<T>) => {
        const settled = call.then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        await vi.advanceTimersByTimeAsync(500);
        return settled;
      };

      const qr = await viaB(b.registry.getQr(sessionId));
      expect(qr).toEqual({
        value: {
          status: 'qr_ready',
          qr: store.docs.get(sessionId)!.qr,
          expiresAt: expect.any(Date),
        },
      });
      const code = await viaB(b.registry.requestPairingCode(sessionId, '+15557654321'));
      await a.control.enterPairingCode(sessionId, (code as { value: string }).value);
      await vi.advanceTimersByTimeAsync(10);
      expect(a.registry.isConnected(sessionId)).toBe(true);
      expect(b.registry.liveCount()).toBe(0);

      // A's domain errors reach B's caller as A would have thrown them.
      expect(await viaB(b.registry.getQr(sessionId))).toEqual({
        error: expect.objectContaining({
          code: 'SESSION_ALREADY_CONNECTED',
          httpStatus: 409,
          message: 'WhatsApp session "main" is already connected; no QR or pairing code is needed',
        }),
      });

      const trail = a.statusTrail(sessionId).length;
      expect(await viaB(b.registry.restart(sessionId))).toEqual({ value: undefined });
      await vi.advanceTimersByTimeAsync(10);
      expect(a.statusTrail(sessionId).slice(trail)).toEqual(['connecting', 'connected']);

      // A stop asked of B closes A's connection, with B's reason; a restart brings it back.
      expect(await viaB(b.registry.stop(sessionId, 'Stopped: test'))).toEqual({ value: undefined });
      expect(a.registry.liveCount()).toBe(0);
      expect(store.docs.get(sessionId)).toMatchObject({
        status: 'disconnected',
        lastError: 'Stopped: test',
      });
      await a.registry.restart(sessionId);
      await vi.advanceTimersByTimeAsync(10);
      expect(a.registry.isConnected(sessionId)).toBe(true);

      const unlink = vi.spyOn(a.hub.get(sessionId)!, 'logout');
      expect(await viaB(b.registry.logout(sessionId))).toEqual({ value: undefined });
      expect(unlink).toHaveBeenCalledTimes(1); // on WhatsApp, by the connection that has the link
      expect(a.registry.liveCount()).toBe(0);
      expect(store.docs.get(sessionId)).toMatchObject({ status: 'logged_out' });
      expect(store.docs.get(sessionId)!.lease).toBeUndefined();
      expect([...store.requests.values()].every((r) => r.takenBy === 'A')).toBe(true);
    });

    it('a holder that does not answer: the request is withdrawn and the caller hears to retry', async () => {
      const { store, instance } = onOneDatabase({ renderQr });
      const a = instance('A', { holderPollMs: 3_600_000 }); // alive for its leases, but not looking for requests
      const b = instance('B');
      const sessionId = await a.createSession();
      await a.registry.start(sessionId);
      await vi.advanceTimersByTimeAsync(10);
      const restart = vi.spyOn(a.registry, 'restart');

      const asked = b.registry.restart(sessionId);
      const refused = expect(asked).rejects.toMatchObject({
        code: 'SESSION_HOLDER_UNAVAILABLE',
        httpStatus: 503,
        message:
          'The instance running WhatsApp session "main" did not answer within 30 s; retry shortly',
      });
      await vi.advanceTimersByTimeAsync(30_000);
      await refused;
      expect([...store.requests.values()]).toMatchObject([{ withdrawn: true }]);
      await vi.advanceTimersByTimeAsync(3_600_000); // A looks at last: nothing left to carry out
      expect(restart).not.toHaveBeenCalled();
      await a.registry.beforeApplicationShutdown();
    });

    it('a session that stops being held elsewhere while the asker waits: deleted is a 404, released runs here', async () => {
      const { store, instance } = onOneDatabase({ renderQr });
      const a = instance('A', { holderPollMs: 3_600_000 }); // holds, but does not look for requests
      const b = instance('B');
      const deleted = await a.createSession('deleted');
      const released = await a.createSession('released');
      for (const id of [deleted, released]) await a.registry.start(id);
      await vi.advanceTimersByTimeAsync(10);

      const qrOfDeleted = b.registry.getQr(deleted);
      const notFound = expect(qrOfDeleted).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
      store.docs.delete(deleted); // deleted by A meanwhile
      await vi.advanceTimersByTimeAsync(200);
      await notFound;

      const qrOfReleased = b.registry.getQr(released);
      await vi.advanceTimersByTimeAsync(200);
      await a.registry.beforeApplicationShutdown(); // A lets go of its sessions
      await vi.advanceTimersByTimeAsync(200);
      await expect(qrOfReleased).resolves.toMatchObject({ status: 'qr_ready' });
      expect(b.registry.liveStatus(released)).toBe('qr_ready'); // B took it and shows its QR
      expect([...store.requests.values()].every((r) => r.withdrawn)).toBe(true);
      await b.registry.beforeApplicationShutdown();
    });

    it('a holder that took the request but answers late is waited for, not reported as failed', async () => {
      const { instance } = onOneDatabase({ renderQr });
      const a = instance('A');
      const b = instance('B');
      const sessionId = await a.createSession();
      await a.registry.start(sessionId);
      await vi.advanceTimersByTimeAsync(10);
      const slow = vi
        .spyOn(a.registry, 'restart')
        .mockImplementation(() => new Promise((resolve) => setTimeout(resolve, 40_000)));

      const asked = b.registry.restart(sessionId);
      let settled = false;
      void asked.then(() => (settled = true));
      await vi.advanceTimersByTimeAsync(35_000); // past the 30 s wait: taken, so B waits on
      expect(slow).toHaveBeenCalledTimes(1);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(6_000);
      await expect(asked).resolves.toBeUndefined();
      slow.mockRestore();
      await a.registry.beforeApplicationShutdown();
    });

    it('lease: refused while another instance holds it, taken over after expiry; the old owner steps back', async () => {
      const { store, instance } = onOneDatabase({ renderQr, leaseTtlMs: 30_000 });
      const a = instance('A');
      const b = instance('B');
      const sessionId = await a.createSession();
      await a.registry.start(sessionId);
      await vi.advanceTimersByTimeAsync(10);
      await a.control.scan(sessionId, '15551234567');
      await vi.advanceTimersByTimeAsync(10);
      expect(a.registry.isConnected(sessionId)).toBe(true);

      await expect(b.registry.start(sessionId)).rejects.toBeInstanceOf(SessionLeasedElsewhereError);
      await vi.advanceTimersByTimeAsync(60_000); // A keeps renewing every 10 s
      await expect(b.registry.start(sessionId)).rejects.toBeInstanceOf(SessionLeasedElsewhereError);
      expect(store.docs.get(sessionId)!.lease!.owner).toBe('A');

      // A stalls (e.g. its event loop froze): its lease runs out...
      store.docs.get(sessionId)!.lease!.expiresAt = new Date(Date.now() - 1);
      await b.registry.start(sessionId); // ...and B takes over
      await vi.advanceTimersByTimeAsync(10);
      expect(b.registry.isConnected(sessionId)).toBe(true);
      expect(store.docs.get(sessionId)!.lease!.owner).toBe('B');

      await vi.advanceTimersByTimeAsync(10_000); // A's next renewal finds B
      expect(a.registry.liveCount()).toBe(0);
      expect(b.registry.isConnected(sessionId)).toBe(true);
      expect(store.docs.get(sessionId)!.status).toBe('connected');
      await b.registry.beforeApplicationShutdown();
      expect(store.docs.get(sessionId)!.lease).toBeUndefined();
    });
  });

  describe('stopWhileBarred: the session follows whether its organization may run now', () => {
    const barred = 'Stopped: barred';
    /** A holds a connected session (it takes requests only when `takeRequests` is called); B asks. */
    async function heldByA(
      mayRunOnA: (org: string) => Promise<boolean>,
      allowed: { now: boolean },
    ) {
      const { store, instance } = onOneDatabase({ mayRun: async () => allowed.now });
      const a = instance('A', { holderPollMs: 3_600_000, mayRun: mayRunOnA });
      const b = instance('B');
      const sessionId = await a.linkedSession();
      const takeRequests = () => (a.registry as any).relay.poll() as Promise<void>;
      return { store, a, b, sessionId, takeRequests };
    }
    const asked = (store: InMemorySessionStateStore) =>
      vi.waitFor(() =>
        expect([...store.requests.values()]).toMatchObject([{ request: { kind: 'stop' } }]),
      );

    it('relayed to the holder after the organization may run again: the session keeps running', async () => {
      const allowed = { now: false };
      const { store, a, b, sessionId, takeRequests } = await heldByA(
        async () => allowed.now,
        allowed,
      );
      const stopping = b.registry.stopWhileBarred(sessionId, barred);
      await asked(store);
      allowed.now = true; // switched back on (and applied elsewhere) before A takes the stop
      await takeRequests();
      await stopping;
      expect(store.docs.get(sessionId)).toMatchObject({ status: 'connected' });
      expect(a.registry.isConnected(sessionId)).toBe(true);
      expect(a.statusTrail(sessionId)).not.toContain('disconnected');
      expect([...store.requests.values()]).toMatchObject([
        { takenBy: 'A', request: { kind: 'stop', reason: barred, whileBarred: true } },
      ]);
      await a.registry.beforeApplicationShutdown();
    });

    it('allowed again while the holder stops it: the holder restores it once stopped', async () => {
      const allowed = { now: false };
      // A reads "barred" right before its stop; the switch back (applied elsewhere, where the
      // restore skipped the session A still held) lands right after that reading.
      const mayRunOnA = async () => {
        const now = allowed.now;
        allowed.now = true;
        return now;
      };
      const { store, a, b, sessionId, takeRequests } = await heldByA(mayRunOnA, allowed);
      const stopping = b.registry.stopWhileBarred(sessionId, barred);
      await asked(store);
      await takeRequests();
      await stopping;
      await a.waitStatus(sessionId, 'connected');
      expect(a.statusTrail(sessionId).slice(-3)).toEqual([
        'disconnected',
        'connecting',
        'connected',
      ]);
      expect(store.docs.get(sessionId)!.lease!.owner).toBe('A');
      await a.registry.beforeApplicationShutdown();
    });

    it('barred still: stopped where it runs, and the disconnected status is written before the lease goes', async () => {
      const allowed = { now: false };
      const { store, a, b, sessionId, takeRequests } = await heldByA(
        async () => allowed.now,
        allowed,
      );
      const leaseAtStatus: unknown[] = [];
      a.emitter.on(WA_EVENTS.sessionStatus, (e) =>
        leaseAtStatus.push(store.docs.get(e.sessionId)!.lease?.owner),
      );
      const stopping = b.registry.stopWhileBarred(sessionId, barred);
      await asked(store);
      await takeRequests();
      await stopping;
      expect(store.docs.get(sessionId)).toMatchObject({
        status: 'disconnected',
        lastError: barred,
      });
      expect(store.docs.get(sessionId)!.lease).toBeUndefined();
      expect(leaseAtStatus.at(-1)).toBe('A');
      expect(a.registry.liveCount()).toBe(0);
      await a.registry.beforeApplicationShutdown();
    });

    it('a restore barred while the session starts stops it again', async () => {
      let reads = 0;
      const kit = makeRegistryKit({ options: { mayRun: async () => reads++ === 0 } });
      const sessionId = await kit.linkedSession();
      await kit.registry.stop(sessionId, 'Stopped: test');
      // Only the check before the start reads "may run"; a switch lands while it starts.
      const summary = await kit.registry.restore([(await kit.store.findBySessionId(sessionId))!]);
      expect(summary).toMatchObject({ skipped: [sessionId], restored: [] });
      expect(kit.registry.liveCount()).toBe(0);
      expect(kit.store.docs.get(sessionId)).toMatchObject({
        status: 'disconnected',
        lastError: 'Stopped: this organization may not run WhatsApp sessions now',
      });
      expect(kit.store.docs.get(sessionId)!.lease).toBeUndefined();
      await kit.registry.beforeApplicationShutdown();
    });
  });

  it('adopts the sessions of a crashed instance once their lease expires, and leaves stopped ones alone', async () => {
    const { store, instance } = onOneDatabase();
    const a = instance('A');
    const b = instance('B');
    const running = await a.createSession('running');
    await a.registry.start(running);
    await a.waitStatus(running, 'qr_ready');
    await a.control.scan(running, '15551230001');
    await a.waitStatus(running, 'connected');
    const unlinked = await a.createSession('unlinked');
    const linking = await a.createSession('linking');
    await a.registry.start(linking);
    await a.waitStatus(linking, 'qr_ready');

    expect(await b.registry.adoptOrphans()).toEqual([]); // A's lease is alive
    (a.registry as any).leases.stopTimer(); // A dies without releasing anything
    for (const id of [running, linking])
      store.docs.get(id)!.lease!.expiresAt = new Date(Date.now() - 1);

    expect(await b.registry.adoptOrphans()).toEqual([running]);
    await b.waitStatus(running, 'connected');
    expect(store.docs.get(running)!.lease!.owner).toBe('B');
    expect(b.registry.liveStatus(unlinked)).toBeUndefined();
    // The QR died with A: the session no longer shows it, and waits to be asked to link again.
    expect(store.docs.get(linking)).toMatchObject({ status: 'disconnected' });
    expect(store.docs.get(linking)!.qr).toBeUndefined();
    expect(b.registry.liveStatus(linking)).toBeUndefined();
    await b.registry.beforeApplicationShutdown();
  });

  // Its connection lost during the stall, or replaced by the new holder's (as WhatsApp does): the
  // stop that settles would leave the session stopped until asked, also for later adoptions.
  it.each(['connectionLost', 'connectionReplaced'] as const)(
    "an instance whose session was adopted while it was frozen neither overwrites the new holder's status nor reconnects when its own connection closes (%s)",
    async (reason) => {
      const { store, instance } = onOneDatabase();
      const a = instance('A');
      const b = instance('B');
      const sessionId = await a.linkedSession('frozen', '15551230005');
      // A's event loop stalls past the lease: its renewals do not run, B adopts the session.
      (a.registry as any).leases.stopTimer();
      store.docs.get(sessionId)!.lease!.expiresAt = new Date(Date.now() - 1);
      expect(await b.registry.adoptOrphans()).toEqual([sessionId]);
      await b.waitStatus(sessionId, 'connected');
      const bEvents = b.events.length;
      const aTrail = a.statusTrail(sessionId).length;

      // A wakes up to its connection closed by WhatsApp during the stall, before its next renewal.
      await a.control.disconnect(sessionId, reason);
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // past A's first reconnect backoff
      expect(store.docs.get(sessionId)).toMatchObject({
        status: 'connected',
        lease: { owner: 'B' },
      });
      expect(store.docs.get(sessionId)!.lastError).toBeUndefined();
      expect(store.docs.get(sessionId)!.stoppedUntilAsked).toBeUndefined();
      expect(a.statusTrail(sessionId).slice(aTrail)).toEqual([]); // nothing announced by A
      expect(a.registry.liveStatus(sessionId)).toBeUndefined(); // A stepped back
      expect(a.hub.get(sessionId)).toBeUndefined(); // and opened no second connection
      expect(b.events.length).toBe(bEvents);
      expect(b.registry.isConnected(sessionId)).toBe(true);
      await b.registry.beforeApplicationShutdown();
      await a.registry.beforeApplicationShutdown();
    },
  );

  it("an instance whose session was adopted during a database outage that outlasted its lease writes no signal key over the new holder's, and steps back", async () => {
    const { store, backend, instance } = onOneDatabase();
    const a = instance('A');
    const b = instance('B');
    const sessionId = await a.linkedSession('outage', '15551230006');
    await a.auth.forSession(sessionId).flush();
    // The database goes away for A (its renewals fail) and a key write made meanwhile waits.
    (a.registry as any).leases.stopTimer();
    const writeMany = backend.writeMany.bind(backend);
    let databaseBack!: () => void;
    const back = new Promise<void>((resolve) => (databaseBack = resolve));
    vi.spyOn(backend, 'writeMany').mockImplementationOnce(async (...args) => {
      await back;
      return writeMany(...args);
    });
    const late = a.auth.forSession(sessionId).keys.set({ session: { 'peer.0': 'A' } });

    // Past A's lease by the database's clock: B adopts the session and moves its keys on.
    const later = Date.now() + 60_000;
    store.now = () => new Date(later);
    expect(await b.registry.adoptOrphans()).toEqual([sessionId]);
    await b.waitStatus(sessionId, 'connected');
    await b.auth.forSession(sessionId).keys.set({ session: { 'peer.0': 'B' } });
    const bTrail = b.statusTrail(sessionId).length;

    // The database answers A again: its late write lands nothing, and A stops its connection.
    databaseBack();
    await expect(late).rejects.toThrow(AuthWritesFencedError);
    expect(await new BatchedAuthStore(sessionId, backend).keys.get('session', ['peer.0'])).toEqual({
      'peer.0': 'B',
    });
    await vi.waitFor(() => expect(a.registry.liveStatus(sessionId)).toBeUndefined());
    expect(a.hub.get(sessionId)).toBeUndefined();
    // What B owns is left alone: its lease, its status.
    expect(store.docs.get(sessionId)).toMatchObject({ status: 'connected', lease: { owner: 'B' } });
    expect(b.statusTrail(sessionId).length).toBe(bTrail);
    expect(b.registry.isConnected(sessionId)).toBe(true);
    await b.registry.beforeApplicationShutdown();
    await a.registry.beforeApplicationShutdown();
  });

  it('a process whose session another live process under the same INSTANCE_ID took back steps back, and says once that the id is shared', async () => {
    const { store, backend, instance } = onOneDatabase();
    const first = instance('A');
    const second = instance('A'); // a second pod given the same id
    const one = await first.linkedSession('one', '15551230021');
    const two = await first.linkedSession('two', '15551230022');
    const error = vi.spyOn((first.registry as any).log, 'error');
    const stepBack = async (sessionId: string) => {
      // Its own id owns the lease: the second process takes it at once, under a new token.
      await second.registry.start(sessionId);
      await second.waitStatus(sessionId, 'connected');
      await (first.registry as any).leases.renewAll();
      await vi.waitFor(() => expect(first.registry.liveStatus(sessionId)).toBeUndefined());
    };

    await stepBack(one);
    expect(error).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0][0])).toMatch(/INSTANCE_ID/);
    expect(String(error.mock.calls[0][0])).toContain('"A"');
    // Stepped back like a lost lease: the second process's status, lease and keys stay.
    const { lease } = store.docs.get(one)!;
    expect(lease).toMatchObject({ owner: 'A' });
    expect(store.docs.get(one)).toMatchObject({ status: 'connected' });
    expect(await new BatchedAuthStore(one, backend).hasCreds()).toBe(true);
    expect(second.registry.isConnected(one)).toBe(true);

    await stepBack(two);
    expect(error).toHaveBeenCalledTimes(1); // once
    expect(store.docs.get(one)!.lease!.token).toBe(lease!.token);
    await second.registry.beforeApplicationShutdown();
    await first.registry.beforeApplicationShutdown();
  });

  describe('an instance whose session another instance took over, before its next renewal finds out', () => {
    /** A linked on A; A stalls (no renewal) past its lease, and B adopts the session connected. */
    async function takenOverFromA(options: { holderAnswerTimeoutMs?: number } = {}) {
      const db = onOneDatabase();
      const a = db.instance('A', options);
      const b = db.instance('B');
      const sessionId = await a.linkedSession('stale', '15551230011');
      (a.registry as any).leases.stopTimer();
      db.store.docs.get(sessionId)!.lease!.expiresAt = new Date(Date.now() - 1);
      expect(await b.registry.adoptOrphans()).toEqual([sessionId]);
      await b.waitStatus(sessionId, 'connected');
      const unlinkOn = (kit: typeof a) => vi.spyOn(kit.hub.get(sessionId)!, 'logout');
      return { ...db, a, b, sessionId, unlinkA: unlinkOn(a), unlinkB: unlinkOn(b) };
    }

    it('a delete asked of it is carried out by the holder, through the connection that has the link', async () => {
      const { store, a, b, sessionId, unlinkA, unlinkB } = await takenOverFromA();
      await a.registry.destroy(sessionId);
      expect(unlinkA).not.toHaveBeenCalled();
      expect(unlinkB).toHaveBeenCalledTimes(1);
      expect(store.docs.has(sessionId)).toBe(false);
      expect(b.registry.liveStatus(sessionId)).toBeUndefined();
      expect(a.registry.liveStatus(sessionId)).toBeUndefined(); // stepped back
      expect(b.statusTrail(sessionId).at(-1)).toBe('logged_out');
      // Announced by the instance that deleted it, once.
      const deleted = (kit: typeof a) =>
        kit.events.filter((e) => e.name === WA_EVENTS.sessionDeleted).length;
      expect([deleted(a), deleted(b)]).toEqual([0, 1]);
      await b.registry.beforeApplicationShutdown();
      await a.registry.beforeApplicationShutdown();
    });

    it('a stop asked of it is carried out by the holder', async () => {
      const { store, a, b, sessionId } = await takenOverFromA();
      await a.registry.stop(sessionId, 'Stopped: barred');
      expect(b.registry.liveStatus(sessionId)).toBeUndefined();
      expect(a.registry.liveStatus(sessionId)).toBeUndefined();
      expect(store.docs.get(sessionId)).toMatchObject({
        status: 'disconnected',
        lastError: 'Stopped: barred',
      });
      expect(store.docs.get(sessionId)!.lease).toBeUndefined();
      await b.registry.beforeApplicationShutdown();
      await a.registry.beforeApplicationShutdown();
    });

    it("a logout the holder does not take in time unlinks nothing, and deletes none of the holder's keys, status or document", async () => {
      const { store, backend, a, b, sessionId, unlinkA, unlinkB } = await takenOverFromA({
        holderAnswerTimeoutMs: 300,
      });
      await b.auth.forSession(sessionId).keys.set({ session: { 'peer.0': 'B' } });
      vi.spyOn(store, 'takeHolderRequests').mockResolvedValue([]); // B is busy
      await expect(a.registry.logout(sessionId)).rejects.toBeInstanceOf(
        SessionHolderUnavailableError,
      );
      await expect(a.registry.destroy(sessionId)).rejects.toBeInstanceOf(
        SessionHolderUnavailableError,
      );
      expect(unlinkA).not.toHaveBeenCalled();
      expect(unlinkB).not.toHaveBeenCalled();
      const rows = new BatchedAuthStore(sessionId, backend);
      expect(await rows.hasCreds()).toBe(true);
      expect(await rows.keys.get('session', ['peer.0'])).toEqual({ 'peer.0': 'B' });
      expect(store.docs.get(sessionId)).toMatchObject({
        status: 'connected',
        lease: { owner: 'B' },
      });
      expect(b.registry.isConnected(sessionId)).toBe(true);
      expect(a.registry.liveStatus(sessionId)).toBeUndefined();
      vi.restoreAllMocks();
      await b.registry.beforeApplicationShutdown();
      await a.registry.beforeApplicationShutdown();
    });

    it('its connection dropping writes no status over the one the holder left: logged out from the phone, and let go', async () => {
      const { store, a, b, sessionId } = await takenOverFromA();
      await b.control.disconnect(sessionId, 'loggedOut');
      await b.waitStatus(sessionId, 'logged_out');
      await vi.waitFor(() => expect(store.docs.get(sessionId)!.lease).toBeUndefined());
      const settled = { ...store.docs.get(sessionId)! };

      await a.control.disconnect(sessionId, 'connectionLost');
      await vi.waitFor(() => expect(a.registry.liveStatus(sessionId)).toBeUndefined());
      expect(store.docs.get(sessionId)).toEqual(settled);
      expect(a.statusTrail(sessionId)).not.toContain('disconnected');
      expect(a.hub.get(sessionId)).toBeUndefined(); // no reconnect either
      await b.registry.beforeApplicationShutdown();
      await a.registry.beforeApplicationShutdown();
    });
  });

  it('a logout clears the auth state and writes logged_out while it holds the lease, and only then lets it go', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.linkedSession();
    const atRelease: unknown[] = [];
    const releaseLease = kit.store.releaseLease.bind(kit.store);
    vi.spyOn(kit.store, 'releaseLease').mockImplementation(async (...args) => {
      atRelease.push({
        status: kit.store.docs.get(sessionId)?.status,
        authRows: kit.auth.backend.rows.get(sessionId)?.size ?? 0,
      });
      return releaseLease(...args);
    });
    await kit.registry.logout(sessionId);
    expect(atRelease).toEqual([{ status: 'logged_out', authRows: 0 }]);
    expect(kit.store.docs.get(sessionId)!.lease).toBeUndefined();
    vi.restoreAllMocks();
    await kit.registry.beforeApplicationShutdown();
  });

  it('adopts a session whose instance crashed while it waited out a reconnect backoff', async () => {
    const { store, instance } = onOneDatabase();
    // A's backoff outlasts the test: A never reconnects it, as if it died during the wait.
    const a = instance('A', { backoff: { baseMs: 60_000 } });
    const b = instance('B');
    const reconnecting = await a.linkedSession('reconnecting', '15551230004');
    await a.control.disconnect(reconnecting, 'connectionLost');
    await a.waitStatus(reconnecting, 'disconnected');
    (a.registry as any).leases.stopTimer(); // A dies without releasing anything
    store.docs.get(reconnecting)!.lease!.expiresAt = new Date(Date.now() - 1);

    expect(await b.registry.adoptOrphans()).toEqual([reconnecting]);
    await b.waitStatus(reconnecting, 'connected');
    expect(store.docs.get(reconnecting)!.lease!.owner).toBe('B');
    expect(b.statusTrail(reconnecting)).not.toContain('qr_ready');
    await b.registry.beforeApplicationShutdown();
    await a.registry.beforeApplicationShutdown();
  });

  it('a graceful shutdown records its sessions as they are now, announces it, and another instance adopts them without a scan', async () => {
    const { store, backend, instance } = onOneDatabase();
    const a = instance('A');
    const b = instance('B');
    const running = await a.linkedSession('running', '15551230001');
    const reconnecting = await a.linkedSession('reconnecting', '15551230002');
    await a.control.disconnect(reconnecting, 'connectionLost'); // waits out its backoff (~1 s)
    await a.waitStatus(reconnecting, 'disconnected');
    const linking = await a.createSession('linking');
    await a.registry.start(linking);
    await a.waitStatus(linking, 'qr_ready');
    const stopped = await a.linkedSession('stopped', '15551230003');
    await a.registry.stop(stopped, 'Stopped by the user');
    const leaseAtStatus = new Map<string, unknown>();
    a.emitter.on(WA_EVENTS.sessionStatus, (e) =>
      leaseAtStatus.set(e.sessionId, store.docs.get(e.sessionId)!.lease?.owner),
    );
    const before = a.events.length;

    await a.registry.beforeApplicationShutdown();
    for (const id of [running, reconnecting]) {
      expect(store.docs.get(id)).toMatchObject({
        status: 'connecting',
        lastError:
          'The instance holding this session stopped; it reconnects when an instance picks it up',
      });
      expect(backend.rows.has(id)).toBe(true); // closed without logout: the link is kept
    }
    expect(store.docs.get(linking)).toMatchObject({
      status: 'disconnected',
      lastError: expect.stringMatching(/stopped before it was linked; request a new QR code/),
    });
    expect(store.docs.get(linking)!.qr).toBeUndefined();
    expect(store.docs.get(stopped)).toMatchObject({
      status: 'disconnected',
      lastError: 'Stopped by the user',
    });
    const announced = a.events.slice(before).filter((e) => e.name === WA_EVENTS.sessionStatus);
    expect(announced.map((e) => e.payload)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          sessionId: running,
          previousStatus: 'connected',
          status: 'connecting',
          lastError: expect.stringMatching(/instance holding this session stopped/),
        }),
        expect.objectContaining({
          sessionId: reconnecting,
          previousStatus: 'disconnected',
          status: 'connecting',
        }),
        expect.objectContaining({
          sessionId: linking,
          previousStatus: 'qr_ready',
          status: 'disconnected',
        }),
      ]),
    );
    expect(announced).toHaveLength(3);
    // Written while A still held the lease, which went after.
    expect(Object.fromEntries(leaseAtStatus)).toEqual({
      [running]: 'A',
      [reconnecting]: 'A',
      [linking]: 'A',
    });
    for (const id of [running, reconnecting, linking, stopped])
      expect(store.docs.get(id)!.lease).toBeUndefined();

    // No lease to wait out: the next adoption round of B takes the linked ones, without a scan.
    expect((await b.registry.adoptOrphans()).sort()).toEqual([running, reconnecting].sort());
    await b.waitStatus(running, 'connected');
    await b.waitStatus(reconnecting, 'connected');
    expect(store.docs.get(running)).toMatchObject({ status: 'connected', lease: { owner: 'B' } });
    expect(store.docs.get(running)!.lastError).toBeUndefined();
    expect(b.statusTrail(running)).not.toContain('qr_ready');
    expect(b.registry.liveStatus(linking)).toBeUndefined();
    expect(b.registry.liveStatus(stopped)).toBeUndefined();
    expect(store.docs.get(linking)!.status).toBe('disconnected');
    await b.registry.beforeApplicationShutdown();
  });

  it('a process back under the id it crashed with restores its sessions at once, not after its own leases ran out', async () => {
    const { store, instance } = onOneDatabase();
    const before = instance('A');
    const sessionId = await before.linkedSession();
    const linking = await before.createSession('linking');
    await before.registry.start(linking);
    await before.waitStatus(linking, 'qr_ready');
    (before.registry as any).leases.stopTimer(); // killed: nothing released, the leases run on

    const elsewhere = instance('B');
    expect(await elsewhere.registry.restoreAll()).toMatchObject({ skipped: [sessionId, linking] });
    const after = instance('A');
    expect(await after.registry.restoreAll()).toMatchObject({ restored: [sessionId] });
    await after.waitStatus(sessionId, 'connected');
    // The one that was linking runs nowhere now: its lease is let go, so nobody waits on A for it.
    expect(store.docs.get(linking)).toMatchObject({ status: 'disconnected' });
    expect(store.docs.get(linking)!.lease).toBeUndefined();
    await after.registry.beforeApplicationShutdown();
  });

  it('a restart or QR asked while a delete runs finds no session, instead of starting it again', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.linkedSession();
    const [destroyed, restarted, qr] = await Promise.allSettled([
      kit.registry.destroy(sessionId),
      kit.registry.restart(sessionId),
      kit.registry.getQr(sessionId),
    ]);
    expect(destroyed.status).toBe('fulfilled');
    expect(restarted).toMatchObject({ status: 'rejected', reason: { code: 'SESSION_NOT_FOUND' } });
    // The QR is no lock holder: it may answer before the delete (still connected) or after it.
    expect(qr.status === 'rejected' && qr.reason.code).toMatch(
      /^(SESSION_ALREADY_CONNECTED|SESSION_NOT_FOUND)$/,
    );
    await tick();
    expect(kit.registry.liveCount()).toBe(0);
    expect(kit.hub.size).toBe(0);
    expect(kit.store.docs.has(sessionId)).toBe(false);
    await kit.registry.beforeApplicationShutdown();
  });

  it('starts nothing once the shutdown closed the sessions, also a start that was taking its lease then', async () => {
    const kit = makeRegistryKit();
    const create = vi.spyOn((kit.registry as any).engine, 'create');
    const early = await kit.createSession('early');
    const late = await kit.createSession('late');
    // A start in flight when the shutdown begins: its lease is being taken.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const acquire = kit.store.acquireLease.bind(kit.store);
    const acquiring = vi
      .spyOn(kit.store, 'acquireLease')
      .mockImplementationOnce(async (...args) => (await gate, acquire(...args)));
    const inFlight = kit.registry.start(early);
    await vi.waitFor(() => expect(acquiring).toHaveBeenCalledTimes(1));
    await kit.registry.beforeApplicationShutdown();
    release();
    await expect(inFlight).rejects.toBeInstanceOf(InstanceShuttingDownError);
    // Requests answered after the shutdown hooks ran (a busy keep-alive client) start nothing either.
    await expect(kit.registry.start(late)).rejects.toMatchObject({
      code: 'INSTANCE_SHUTTING_DOWN',
      httpStatus: 503,
    });
    await expect(kit.registry.getQr(late)).rejects.toBeInstanceOf(InstanceShuttingDownError);
    await expect(kit.registry.restart(late)).rejects.toBeInstanceOf(InstanceShuttingDownError);
    expect(create).not.toHaveBeenCalled();
    expect(kit.registry.liveCount()).toBe(0);
    // No lease left for another instance to wait out.
    expect(kit.store.docs.get(early)!.lease).toBeUndefined();
    expect(kit.store.docs.get(late)!.lease).toBeUndefined();
  });

  it('serialises concurrent start/stop: one connection at a time, last call wins', async () => {
    const kit = makeRegistryKit();
    const sessionId = await kit.createSession();
    const factory = (kit.registry as any).engine;
    const create = vi.spyOn(factory, 'create');
    await Promise.all([
      kit.registry.start(sessionId),
      kit.registry.start(sessionId),
      kit.registry.start(sessionId),
    ]);
    expect(create).toHaveBeenCalledTimes(1);

    await Promise.all([
      kit.registry.stop(sessionId),
      kit.registry.start(sessionId),
      kit.registry.stop(sessionId),
      kit.registry.restart(sessionId),
      kit.registry.stop(sessionId),
    ]);
    await tick();
    expect(kit.registry.liveCount()).toBe(0);
    expect(kit.hub.size).toBe(0);
    expect((await kit.store.findBySessionId(sessionId))!.status).toBe('disconnected');
    expect(create).toHaveBeenCalledTimes(3);
  });

  it('restoreAll: linked sessions come back without a scan, a broken auth state fails alone, unlinked are skipped', async () => {
    const { store, backend, instance } = onOneDatabase();
    const first = instance();
    const s1 = await first.linkedSession('one', '15550000001');
    const s2 = await first.linkedSession('two', '15550000002');
    const broken = await first.linkedSession('broken', '15550000003');
    const unlinked = await first.createSession('unlinked');
    await first.registry.start(unlinked);
    await first.waitStatus(unlinked, 'qr_ready');
    const loggedOut = await first.linkedSession('gone', '15550000004');
    await first.registry.logout(loggedOut);
    await first.registry.beforeApplicationShutdown(); // process exits: close without logout
    // What the shutdown recorded: linked ones come back when an instance picks them up; the QR
    // died with the process.
    for (const id of [s1, s2, broken])
      expect(store.docs.get(id)).toMatchObject({
        status: 'connecting',
        lastError: expect.stringMatching(/stopped/),
      });
    expect(store.docs.get(unlinked)).toMatchObject({ status: 'disconnected' });
    expect(store.docs.get(unlinked)!.qr).toBeUndefined();

    backend.putRaw(broken, 'creds', 'creds', '{"sandbox":tru'); // corrupted on disk
    const second = instance();
    const created = vi.spyOn((second.registry as any).engine, 'create');
    const summary = await second.registry.restoreAll();
    expect(summary.restored.sort()).toEqual([s1, s2].sort());
    expect(summary.failed).toEqual([broken]);
    expect(summary.skipped).toEqual([unlinked]);
    await second.waitStatus(s1, 'connected');
    await second.waitStatus(s2, 'connected');
    expect(created).toHaveBeenCalledTimes(2);
    expect(second.statusTrail(s1)).not.toContain('qr_ready');
    const brokenDoc = (await store.findBySessionId(broken))!;
    expect(brokenDoc).toMatchObject({
      status: 'failed',
      lastError: expect.stringMatching(/Auth state is unreadable/),
    });
    expect((await store.findBySessionId(unlinked))!.status).toBe('disconnected');
    expect((await store.findBySessionId(loggedOut))!.status).toBe('logged_out');
    await second.registry.beforeApplicationShutdown();
  });

  describe('boot restore in the background', () => {
    /** Three linked sessions a stopped process left (its shutdown recorded them `connecting`), and an auth store that holds their restore until released. */
    async function stoppedWithLinkedSessions() {
      const store = new InMemorySessionStateStore();
      const backend = new InMemoryAuthRowBackend();
      const first = makeRegistryKit({ store, auth: new InMemoryAuthStoreProvider(backend) });
      const ids = [
        await first.linkedSession('one', '15550000001'),
        await first.linkedSession('two', '15550000002'),
        await first.linkedSession('three', '15550000003'),
      ];
      await first.registry.beforeApplicationShutdown();
      const auth = new InMemoryAuthStoreProvider(backend);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const forSession = auth.forSession.bind(auth);
      vi.spyOn(auth, 'forSession').mockImplementation((sessionId) => {
        const sessionStore = forSession(sessionId);
        const hasCreds = sessionStore.hasCreds.bind(sessionStore);
        sessionStore.hasCreds = async () => (await gate, hasCreds());
        return sessionStore;
      });
      const second = makeRegistryKit({
        store,
        auth,
        options: { restoreOnBoot: true, restoreConcurrency: 1 },
      });
      return { store, ids, second, release };
    }

    it('returns once stale statuses read connecting; the sessions follow', async () => {
      const { store, ids, second, release } = await stoppedWithLinkedSessions();
      // Its shutdown recorded them `connecting`; a process that was killed leaves them `connected`.
      for (const id of ids) store.docs.get(id)!.status = 'connected';

      await second.registry.onApplicationBootstrap();
      expect(second.registry.isRestoring).toBe(true);
      expect(second.registry.liveCount()).toBe(0);
      for (const id of ids) expect((await store.findBySessionId(id))!.status).toBe('connecting');

      release();
      for (const id of ids) await second.waitStatus(id, 'connected');
      await vi.waitFor(() => expect(second.registry.isRestoring).toBe(false));
      // One connected → connecting per session, not a second one when its start sets connecting.
      for (const id of ids)
        expect(second.statusTrail(id).filter((s) => s === 'connecting')).toHaveLength(1);
      await second.registry.beforeApplicationShutdown();
    });

    it('decides on the current state: a session logged out or started by a user meanwhile is left as the user left it', async () => {
      const { store, ids, second, release } = await stoppedWithLinkedSessions();
      const unlinked = await second.createSession('fresh');
      const created = vi.spyOn((second.registry as any).engine, 'create');
      await second.registry.onApplicationBootstrap(); // the restore waits at its first session
      // A logout connects the linked session first, to unlink it on WhatsApp (its creds wait too).
      const loggingOut = second.registry.logout(ids[1]);
      await second.registry.start(unlinked); // a user asks for a QR
      await second.waitStatus(unlinked, 'qr_ready');
      release();
      await loggingOut;
      await second.waitStatus(ids[0], 'connected');
      await second.waitStatus(ids[2], 'connected');
      await vi.waitFor(() => expect(second.registry.isRestoring).toBe(false));
      expect((await store.findBySessionId(ids[1]))!.status).toBe('logged_out');
      expect((await store.findBySessionId(unlinked))!.status).toBe('qr_ready');
      expect(second.registry.liveSessions().map((s) => s.sessionId)).toContain(unlinked);
      // The two restored, the one connected for its logout, and the user's.
      expect(created).toHaveBeenCalledTimes(4);
      await second.registry.beforeApplicationShutdown();
    });

    it('a shutdown during the restore lets the session being started finish, starts no other, and closes all', async () => {
      const { ids, second, release } = await stoppedWithLinkedSessions();
      const created = vi.spyOn((second.registry as any).engine, 'create');
      await second.registry.onApplicationBootstrap();
      const shutdown = second.registry.beforeApplicationShutdown();
      release();
      await shutdown;
      expect(created).toHaveBeenCalledTimes(1); // the one in progress; the other two wait for the next boot
      expect(second.registry.liveCount()).toBe(0);
      expect(second.registry.isRestoring).toBe(false);
      // The two never started stay `connecting` for the next boot (or another instance) to take.
      for (const id of ids.slice(1))
        expect((await second.store.findBySessionId(id))!.status).toBe('connecting');
    });

    it('announces at boot, late and marked replayed, a status change a crash left unannounced', async () => {
      const { store, ids, release } = await stoppedWithLinkedSessions();
      release();
      expect(store.docs.get(ids[0])!.announcing).toBeUndefined(); // announced ones are cleared
      // The process wrote `disconnected` and died before its event went out.
      const at = new Date('2026-12-01T10:00:00Z');
      Object.assign(store.docs.get(ids[0])!, {
        status: 'disconnected',
        announcing: { status: 'disconnected', previousStatus: 'connected', at },
      });
      const kit = makeRegistryKit({
        store,
        auth: new InMemoryAuthStoreProvider(new InMemoryAuthRowBackend()),
        options: { restoreOnBoot: true },
      });
      await kit.registry.onApplicationBootstrap();
      const announced = kit.events.filter(
        (e) => e.name === WA_EVENTS.sessionStatus && e.payload.replayed,
      );
      expect(announced.map((e) => e.payload)).toEqual([
        expect.objectContaining({
          sessionId: ids[0],
          status: 'disconnected',
          previousStatus: 'connected',
          at,
          replayed: true,
        }),
      ]);
      expect(store.docs.get(ids[0])!.announcing).not.toEqual(expect.objectContaining({ at }));
      await vi.waitFor(() => expect(kit.registry.isRestoring).toBe(false));
      await kit.registry.beforeApplicationShutdown();
    });

    it('restores no session of an organization that may not run sessions, and settles it disconnected', async () => {
      const { store, ids } = await stoppedWithLinkedSessions();
      const allowed = new Set(['org1']);
      store.docs.get(ids[1])!.organizationId = 'org2'; // switched off meanwhile
      const kit = makeRegistryKit({
        store,
        auth: new InMemoryAuthStoreProvider(new InMemoryAuthRowBackend()),
        options: { mayRun: async (org) => allowed.has(org) },
      });
      const summary = await kit.registry.restoreAll();
      expect(summary.skipped).toContain(ids[1]);
      expect(store.docs.get(ids[1])).toMatchObject({
        status: 'disconnected',
        lastError: 'Stopped: this organization may not run WhatsApp sessions now',
      });
      expect(kit.registry.liveStatus(ids[1])).toBeUndefined();
      await kit.registry.beforeApplicationShutdown();
    });

    it('stops starting sessions as soon as the modules are destroyed, before the shutdown hooks', async () => {
      const { second, release } = await stoppedWithLinkedSessions();
      const created = vi.spyOn((second.registry as any).engine, 'create');
      await second.registry.onApplicationBootstrap();
      // Other modules' shutdown hooks may wait long before the registry's own turn comes.
      second.registry.onModuleDestroy();
      release();
      await vi.waitFor(() => expect(second.registry.isRestoring).toBe(false));
      expect(created).toHaveBeenCalledTimes(1);
      await second.registry.beforeApplicationShutdown();
    });
  });
});

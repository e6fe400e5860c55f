import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import {
  EmulatorBackend,
  NOT_ALLOWED_TO_RUN,
  QrNotAvailableError,
  SandboxControl,
  SandboxHub,
  SessionRegistry,
  WA_EVENTS,
  type WaSessionStatusEvent,
  WhatsAppSession,
} from '@app/whatsapp';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { getConnectionToken, getModelToken } from '@nestjs/mongoose';
import { type Connection, type Model, Types } from 'mongoose';
import { MessagesRepository } from '../apps/api/src/messaging/messages.repository';
import { OutboxDispatcher } from '../apps/api/src/messaging/outbox-dispatcher';
import { OrganizationsService } from '../apps/api/src/organizations/organizations.service';
import {
  MODULE_OFF_REASON,
  SessionModuleGate,
} from '../apps/api/src/whatsapp-session/session-module-gate';
import { connectedSession, waitForSessionStatus, scanWhenQrShows } from './support/sandbox';
import {
  createTestApp,
  onEmulator,
  registerUser,
  type RegisteredUser,
  type TestApp,
} from './support/test-app';
import { withLateFirstInsert } from './support/late-insert';
import { waitFor } from './support/wait';

function decodeQrDataUrl(dataUrl: string): string | undefined {
  const png = PNG.sync.read(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
}

describe('WhatsApp sessions (HTTP, sandbox engine)', () => {
  let t: TestApp;
  let owner: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp({ WHATSAPP_MAX_SESSIONS_PER_ORG: '3' });
    owner = await registerUser(t);
  });
  afterAll(() => t?.close());

  it('links a session by QR, survives an app restart without a new scan, logs out and deletes', async () => {
    const created = await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'sales-1' })
      .expect(201);
    expect(created.body).toMatchObject({
      sessionId: `${owner.organization.id}_sales-1`,
      sessionName: 'sales-1',
    });
    expect(['connecting', 'qr_ready']).toContain(created.body.status);

    const qr = await waitFor(
      async () => {
        const res = await t.http().get('/api/v1/whatsapp/sessions/sales-1/qr').set(owner.auth);
        return res.status === 200 ? res.body : undefined;
      },
      10_000,
      'a QR code',
    );
    expect(qr.status).toBe('qr_ready');
    expect(qr.qr).toMatch(/^data:image\/png;base64,/);
    // The sandbox shows its own token; Baileys (E2E_ENGINE=emulator) shows WhatsApp's "ref,noiseKey,identityKey,advSecret,…" link.
    expect(decodeQrDataUrl(qr.qr)).toMatch(
      onEmulator
        ? /^https:\/\/wa\.me\/settings\/linked_devices#2@[^,]+,[^,]+,[^,]+,[^,]+/
        : /^sandbox-qr:/,
    );
    expect(new Date(qr.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const scanned = await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/sales-1/scan')
      .set(owner.auth)
      .send({ phone: '+201001234567' })
      .expect(200);
    expect(scanned.body).toMatchObject({ status: 'connected', phone: '201001234567' });
    await t
      .http()
      .get('/api/v1/whatsapp/sessions/sales-1/qr')
      .set(owner.auth)
      .expect(409)
      .expect((r) =>
        expect(r.body).toMatchObject({
          code: 'SESSION_ALREADY_CONNECTED',
          message: expect.stringContaining('WhatsApp session "sales-1" is already connected'),
          details: { sessionName: 'sales-1' },
        }),
      );

    // The same lease holder after a restart (its id is kept in DATA_DIR): were the process killed,
    // its leases would not keep it waiting for its own sessions.
    const instanceId = t.app.get(SessionRegistry).instanceId;
    t = await t.restart();
    expect(t.app.get(SessionRegistry).instanceId).toBe(instanceId);
    const restored = await waitForSessionStatus(t, owner, 'sales-1', 'connected');
    expect(restored.phone).toBe('201001234567');
    // The shutdown recorded and announced that the session was no longer connected (the event
    // log still takes it then), and the boot found nothing stale to mark. The `connected` event
    // is written just after the status the route reads.
    const statusEvents = await waitFor(async () => {
      const events = await t.app
        .get<string, Connection>(getConnectionToken())
        .collection('events')
        .find({
          organizationId: owner.organization.id,
          type: 'session.status',
          sessionName: 'sales-1',
        })
        .sort({ seq: 1 })
        .toArray();
      return events.at(-1)?.data.status === 'connected' && events;
    });
    expect(statusEvents.slice(-2).map((e) => e.data)).toEqual([
      expect.objectContaining({
        previousStatus: 'connected',
        status: 'connecting',
        lastError:
          'The instance holding this session stopped; it reconnects when an instance picks it up',
      }),
      expect.objectContaining({ previousStatus: 'connecting', status: 'connected' }),
    ]);

    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/sales-1/disconnect')
      .set(owner.auth)
      .send({ reason: 'loggedOut' })
      .expect(202);
    await waitForSessionStatus(t, owner, 'sales-1', 'logged_out');
    // Logged out keeps the document so the user can scan again.
    const again = await waitFor(
      async () => {
        const res = await t.http().get('/api/v1/whatsapp/sessions/sales-1/qr').set(owner.auth);
        return res.status === 200 ? res.body : undefined;
      },
      10_000,
      'a new QR after logout',
    );
    expect(again.status).toBe('qr_ready');

    await t.http().delete('/api/v1/whatsapp/sessions/sales-1').set(owner.auth).expect(204);
    await t.http().get('/api/v1/whatsapp/sessions/sales-1/status').set(owner.auth).expect(404);
  });

  it('reconnects by itself after a lost connection', async () => {
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'flaky' })
      .expect(201);
    await scanWhenQrShows(t, owner, 'flaky', '+201001234568');
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/flaky/disconnect')
      .set(owner.auth)
      .send({ reason: 'connectionLost' })
      .expect(202);
    const back = await waitForSessionStatus(t, owner, 'flaky', 'connected', 15_000);
    expect(back.phone).toBe('201001234568');
    const list = await t.http().get('/api/v1/whatsapp/sessions').set(owner.auth).expect(200);
    expect(list.body.map((s: { sessionName: string }) => s.sessionName)).toContain('flaky');
    await t.http().delete('/api/v1/whatsapp/sessions/flaky').set(owner.auth).expect(204);
  });

  // Baileys' badSession (500) is any stream error without a code, a failure without a reason or a
  // WebSocket error; unavailableService (503) is WhatsApp's service being away. Neither says
  // anything about the link (a voided link closes 401, a refused one 411).
  it.each([
    ['badSession', 500, '201001234569'],
    ['unavailableService', 503, '201001234570'],
  ] as const)(
    'reconnects by itself, without a new scan, after WhatsApp closes with %s (%i)',
    async (reason, code, phone) => {
      const name = `closed-${code}`;
      await connectedSession(t, owner, name, `+${phone}`);
      const sessionId = `${owner.organization.id}_${name}`;
      const announced: WaSessionStatusEvent[] = [];
      const onStatus = (event: WaSessionStatusEvent) => {
        if (event.sessionId === sessionId) announced.push(event);
      };
      const emitter = t.app.get(EventEmitter2);
      emitter.on(WA_EVENTS.sessionStatus, onStatus);
      try {
        await t
          .http()
          .post(`/api/v1/whatsapp/sandbox/sessions/${name}/disconnect`)
          .set(owner.auth)
          .send({ reason })
          .expect(202);
        // The 202 comes before the close is handled: a read right away still finds `connected`.
        const closedAt = await waitFor(
          async () => announced.findIndex((e) => e.status === 'disconnected') + 1,
          15_000,
          'the close announced',
        );
        expect(announced[closedAt - 1].lastError).toContain(`(${code})`);
        await waitFor(
          async () => announced.slice(closedAt).some((e) => e.status === 'connected'),
          15_000,
          'connected again',
        );
        const back = await waitForSessionStatus(t, owner, name, 'connected', 15_000);
        expect(back.phone).toBe(phone);
      } finally {
        emitter.off(WA_EVENTS.sessionStatus, onStatus);
      }
      await t.http().delete(`/api/v1/whatsapp/sessions/${name}`).set(owner.auth).expect(204);
    },
  );

  // The connection drops (or WhatsApp asks for a restart) just as the session is deleted: the
  // delete connects again and unlinks, instead of leaving the device on the phone.
  it.each(['connectionLost', 'restartRequired'])(
    'a delete racing a dropped connection (%s) still unlinks the device on WhatsApp',
    async (reason) => {
      const name = `racing-${reason}`;
      const phone = reason === 'connectionLost' ? '15550004444' : '15550004445';
      await connectedSession(t, owner, name, `+${phone}`);
      const sessionId = `${owner.organization.id}_${name}`;
      // The phone's side: the emulator lists linked devices; the sandbox unlinks through a logout
      // of an open connection.
      const unlinks: Promise<unknown>[] = [];
      if (!onEmulator) {
        const proto = Object.getPrototypeOf(t.app.get(SandboxHub).get(sessionId)!);
        const logout = proto.logout;
        vi.spyOn(proto, 'logout').mockImplementation(function (this: unknown) {
          const done = logout.call(this);
          unlinks.push(done);
          return done;
        });
      } else expect(t.app.get(EmulatorBackend).server.phone(phone).devices).toHaveLength(1);

      const [dropped, deleted] = await Promise.all([
        t
          .http()
          .post(`/api/v1/whatsapp/sandbox/sessions/${name}/disconnect`)
          .set(owner.auth)
          .send({ reason }),
        t.http().delete(`/api/v1/whatsapp/sessions/${name}`).set(owner.auth),
      ]);
      expect([202, 404, 409]).toContain(dropped.status); // 409/404: the delete got there first
      expect(deleted.status).toBe(204);
      await t.http().get(`/api/v1/whatsapp/sessions/${name}/status`).set(owner.auth).expect(404);
      if (onEmulator) expect(t.app.get(EmulatorBackend).server.phone(phone).devices).toEqual([]);
      else {
        const outcomes = await Promise.allSettled(unlinks);
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        vi.restoreAllMocks();
      }
      expect(t.app.get(SessionRegistry).liveStatus(sessionId)).toBeUndefined();
    },
  );

  // The delete lands while the scan is linking the device: before the scan, between the link and
  // the connection that opens with it (the status still reads qr_ready), or once connected. The
  // device the scan linked is unlinked on WhatsApp whichever it was, and nothing reconnects.
  it('a delete asked while the phone scans the QR unlinks the device the scan linked, and leaves nothing running', async () => {
    const name = 'scan-and-delete';
    const phone = '15550004471';
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: name })
      .expect(201);
    const sessionId = `${owner.organization.id}_${name}`;
    await waitFor(
      async () =>
        (await t.http().get(`/api/v1/whatsapp/sessions/${name}/qr`).set(owner.auth)).status === 200,
      10_000,
      'a QR code',
    );
    const unlinks: Promise<unknown>[] = [];
    if (!onEmulator) {
      const proto = Object.getPrototypeOf(t.app.get(SandboxHub).get(sessionId)!);
      const logout = proto.logout;
      vi.spyOn(proto, 'logout').mockImplementation(function (this: unknown) {
        const done = logout.call(this);
        unlinks.push(done);
        return done;
      });
    }
    // The delete goes out the moment the phone linked the device (creds stored, 515 sent).
    const control = t.app.get(SandboxControl);
    const scan = control.scan.bind(control);
    let linked = false;
    let deleted: Promise<{ status: number }> | undefined;
    vi.spyOn(control, 'scan').mockImplementationOnce(async (...args) => {
      await scan(...args);
      linked = true;
      deleted = t.http().delete(`/api/v1/whatsapp/sessions/${name}`).set(owner.auth).then();
    });
    const scanned = await t
      .http()
      .post(`/api/v1/whatsapp/sandbox/sessions/${name}/scan`)
      .set(owner.auth)
      .send({ phone: `+${phone}` });
    expect([200, 404]).toContain(scanned.status); // 404: the delete was done before it answered
    expect(linked).toBe(true);
    expect((await deleted!).status).toBe(204);

    await t.http().get(`/api/v1/whatsapp/sessions/${name}/status`).set(owner.auth).expect(404);
    if (onEmulator) expect(t.app.get(EmulatorBackend).server.phone(phone).devices).toEqual([]);
    else {
      const outcomes = await Promise.allSettled(unlinks);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 300)); // a reconnect that waited for the lock
    expect(t.app.get(SessionRegistry).liveStatus(sessionId)).toBeUndefined();
    if (!onEmulator) expect(t.app.get(SandboxHub).get(sessionId)).toBeUndefined();
    vi.restoreAllMocks();
  });

  // Two restarts asked at once (a double click, a retry of a slow answer): the second closes the
  // connection the first opened before it opens its own, so the session ends with one connection,
  // not two fighting over the link (WhatsApp would close one as replaced).
  it('two restarts asked at once leave the session connected through one connection', async () => {
    const name = 'double-restart';
    await connectedSession(t, owner, name, '+15550004472');
    const sessionId = `${owner.organization.id}_${name}`;
    const [first, second] = await Promise.all(
      [1, 2].map(() => t.http().post(`/api/v1/whatsapp/sessions/${name}/restart`).set(owner.auth)),
    );
    expect([first.status, second.status]).toEqual([200, 200]);
    await waitForSessionStatus(t, owner, name, 'connected', 30_000);
    // Still connected a while later: no second connection replaced the first.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const now = await t
      .http()
      .get(`/api/v1/whatsapp/sessions/${name}/status`)
      .set(owner.auth)
      .expect(200);
    expect(now.body).toMatchObject({ status: 'connected', phone: '15550004472' });
    expect(now.body.lastError).toBeUndefined();
    expect(t.app.get(SessionRegistry).isConnected(sessionId)).toBe(true);
    if (onEmulator)
      expect(t.app.get(EmulatorBackend).server.phone('15550004472').devices).toHaveLength(1);
    await t.http().delete(`/api/v1/whatsapp/sessions/${name}`).set(owner.auth).expect(204);
  });

  // A double click, or a client retrying a request whose answer it did not get.
  it('two creates of one name at once make one session (the other a 409), two deletes at once remove it once (the other a 404)', async () => {
    const name = 'twice';
    const created = await Promise.all(
      [1, 2].map(() =>
        t.http().post('/api/v1/whatsapp/sessions').set(owner.auth).send({ sessionName: name }),
      ),
    );
    expect(created.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(created.find((r) => r.status === 409)!.body.code).toBe('SESSION_EXISTS');
    const list = await t.http().get('/api/v1/whatsapp/sessions').set(owner.auth).expect(200);
    expect(list.body.filter((s: { sessionName: string }) => s.sessionName === name)).toHaveLength(
      1,
    );
    await scanWhenQrShows(t, owner, name, '+15550004473');
    await waitForSessionStatus(t, owner, name, 'connected');

    const deleted = await Promise.all(
      [1, 2].map(() => t.http().delete(`/api/v1/whatsapp/sessions/${name}`).set(owner.auth)),
    );
    expect(deleted.map((r) => r.status).sort()).toEqual([204, 404]);
    expect(deleted.find((r) => r.status === 404)!.body.code).toBe('SESSION_NOT_FOUND');
    // Recorded before the 204: one session.deleted, after the session's logged_out.
    const events = await t.app
      .get<Connection>(getConnectionToken())
      .collection('events')
      .find({ organizationId: owner.organization.id, sessionName: name })
      .sort({ seq: 1 })
      .toArray();
    expect(events.filter((e) => e.type === 'session.deleted')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'session.deleted', data: { sessionName: name } });
    expect(events.at(-2)).toMatchObject({
      type: 'session.status',
      data: { status: 'logged_out' },
    });
    await t.http().get(`/api/v1/whatsapp/sessions/${name}/status`).set(owner.auth).expect(404);
    expect(
      t.app.get(SessionRegistry).liveStatus(`${owner.organization.id}_${name}`),
    ).toBeUndefined();
    if (onEmulator)
      expect(t.app.get(EmulatorBackend).server.phone('15550004473').devices).toEqual([]);
  });

  /** A linked session that WhatsApp then closed with `reason`, once it reads `status`. */
  const linkedThenClosed = async (
    org: RegisteredUser,
    name: string,
    phone: string,
    reason: string,
    status: string,
  ) => {
    await connectedSession(t, org, name, phone);
    await t
      .http()
      .post(`/api/v1/whatsapp/sandbox/sessions/${name}/disconnect`)
      .set(org.auth)
      .send({ reason })
      .expect(202);
    return waitForSessionStatus(t, org, name, status);
  };
  /** The session's status after a restart of the app, once the restore ran; it is not live. */
  const statusAfterABoot = async (org: RegisteredUser, name: string) => {
    t = await t.restart();
    await waitFor(async () => !t.app.get(SessionRegistry).isRestoring, 20_000, 'the restore');
    const status = await t
      .http()
      .get(`/api/v1/whatsapp/sessions/${name}/status`)
      .set(org.auth)
      .expect(200);
    expect(t.app.get(SessionRegistry).liveStatus(`${org.organization.id}_${name}`)).toBe(undefined);
    return status.body;
  };
  /** A linked session stopped because another client took its connection over (it stays stopped). */
  const linkedThenReplaced = (org: RegisteredUser, name: string, phone: string) =>
    linkedThenClosed(org, name, phone, 'connectionReplaced', 'disconnected');

  // The delete connects a disconnected session once more, only to unlink the device on WhatsApp:
  // what was queued for it must not go out through that connection after the user asked to delete.
  it('a delete of a disconnected session sends none of its queued messages: they fail as logged out', async () => {
    const org = await registerUser(t);
    await linkedThenReplaced(org, 'leaving', '+15550004446');
    const recipients = [0, 1, 2, 3, 4].map((i) => `1555000500${i}`);
    // On the emulator they are on WhatsApp: a send through the logout's connection would reach them.
    if (onEmulator)
      for (const to of recipients)
        t.app.get(EmulatorBackend).server.phone('15550004446').contact(to);
    const queued: string[] = [];
    for (const to of recipients) {
      const accepted = await t
        .http()
        .post('/api/v1/whatsapp/messages/send')
        .set(org.auth)
        .send({ sessionName: 'leaving', to: `+${to}`, text: `queued to ${to}` })
        .expect(202);
      expect(accepted.body.status).toBe('pending');
      queued.push(accepted.body.id);
    }

    await t.http().delete('/api/v1/whatsapp/sessions/leaving').set(org.auth).expect(204);
    const settled = await waitFor(
      async () => {
        const messages = await Promise.all(
          queued.map(
            async (id) =>
              (await t.http().get(`/api/v1/whatsapp/messages/${id}`).set(org.auth).expect(200))
                .body,
          ),
        );
        return messages.every((m) => m.status !== 'pending') ? messages : undefined;
      },
      10_000,
      'the queued messages to settle',
    );
    expect(settled.map((m) => [m.status, m.error])).toEqual(
      queued.map(() => ['failed', "Session 'leaving' was logged out"]),
    );
    // The emulator's side: nothing reached a recipient either.
    if (onEmulator)
      expect(t.app.get(EmulatorBackend).server.phone('15550004446').outbox).toEqual([]);
  });

  // A send handed to the engine as the user deletes the session: WhatsApp took it, or refused it.
  it.each([
    ['taken', 'sent', null],
    ['refused', 'failed', "Session 'racing' was logged out"],
  ] as const)(
    'a send the engine is taking as the session is deleted ends by what the engine did (%s), never stuck or sent twice',
    async (outcome, status, error) => {
      const org = await registerUser(t);
      await connectedSession(t, org, 'racing', '+15550004460');
      if (onEmulator) t.app.get(EmulatorBackend).server.phone('15550004460').contact('15550004461');
      const registry = t.app.get(SessionRegistry);
      const send = registry.send.bind(registry);
      let handed!: () => void;
      const inEngine = new Promise<void>((resolve) => (handed = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      // The engine's answer comes back only once the logout has begun.
      const sends = vi.spyOn(registry, 'send').mockImplementation(async (...args) => {
        const result = outcome === 'taken' ? await send(...args) : undefined;
        handed();
        await released;
        if (!result) throw new Error('Connection Closed');
        return result;
      });
      onTestFinished(() => sends.mockRestore());
      const accepted = await t
        .http()
        .post('/api/v1/whatsapp/messages/send')
        .set(org.auth)
        .send({ sessionName: 'racing', to: '+15550004461', text: 'in flight' })
        .expect(202);
      await inEngine;

      const deleted = t
        .http()
        .delete('/api/v1/whatsapp/sessions/racing')
        .set(org.auth)
        .then((res) => res); // sent now, answered later
      const sessions = t.app.get<Connection>(getConnectionToken()).collection('whatsapp_sessions');
      const sessionId = `${org.organization.id}_racing`;
      await waitFor(async () => {
        const doc = await sessions.findOne({ sessionId });
        return !doc || doc.status === 'logged_out';
      });
      release();
      expect((await deleted).status).toBe(204);
      const settled = await waitFor(async () => {
        const res = await t
          .http()
          .get(`/api/v1/whatsapp/messages/${accepted.body.id}`)
          .set(org.auth);
        return res.body.status !== 'pending' && res.body;
      });
      expect([settled.status, settled.error ?? null]).toEqual([status, error]);
      expect(sends).toHaveBeenCalledTimes(1);
    },
  );

  it('a send stored just after its session was logged out (from the phone) fails as logged out, and does not wait for a new link', async () => {
    const org = await registerUser(t);
    await connectedSession(t, org, 'dropped', '+15550004462');
    const dispatcher = t.app.get(OutboxDispatcher);
    const accepted = await sendStoredAsLoggedOut(t, org, 'dropped', '+15550004463', 'too late');
    await waitForSessionStatus(t, org, 'dropped', 'logged_out');

    (dispatcher as unknown as { deletedCheckedAt: number }).deletedCheckedAt = 0;
    await dispatcher.sweep();
    const message = (
      await t.http().get(`/api/v1/whatsapp/messages/${accepted.body.id}`).set(org.auth).expect(200)
    ).body;
    expect([message.status, message.error]).toEqual(['failed', "Session 'dropped' was logged out"]);
  });

  it('a send stored just after its session was logged out never goes out through the next link, whichever number it links', async () => {
    const org = await registerUser(t);
    await connectedSession(t, org, 'relinked', '+15550004464');
    const dispatcher = t.app.get(OutboxDispatcher);
    // The check for queues of logged-out sessions (every 30 s) does not come before the new link.
    const checks = dispatcher as unknown as { deletedCheckedAt: number };
    checks.deletedCheckedAt = Number.MAX_SAFE_INTEGER;
    onTestFinished(() => void (checks.deletedCheckedAt = 0));
    const accepted = await sendStoredAsLoggedOut(
      t,
      org,
      'relinked',
      '+15550004465',
      'for the old number',
    );
    await waitForSessionStatus(t, org, 'relinked', 'logged_out');

    await scanWhenQrShows(t, org, 'relinked', '+15550004466');
    await waitForSessionStatus(t, org, 'relinked', 'connected');
    const message = await waitFor(
      async () => {
        const res = await t
          .http()
          .get(`/api/v1/whatsapp/messages/${accepted.body.id}`)
          .set(org.auth)
          .expect(200);
        return res.body.status === 'pending' ? undefined : res.body;
      },
      10_000,
      'the send to leave pending',
    );
    expect([message.status, message.error]).toEqual([
      'failed',
      "Session 'relinked' was logged out",
    ]);
  });

  it('what a deleted session left queued (its holder died before failing it) never goes out, also not through a new session of that name', async () => {
    const org = await registerUser(t);
    await linkedThenReplaced(org, 'reborn', '+15550004447');
    const queue = async (n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++)
        ids.push(
          (
            await t
              .http()
              .post('/api/v1/whatsapp/messages/send')
              .set(org.auth)
              .send({ sessionName: 'reborn', to: `+1555000600${i}`, text: `queued ${i}` })
              .expect(202)
          ).body.id,
        );
      return ids;
    };
    const db = () => t.app.get<Connection>(getConnectionToken()).collection('messages');
    const leftQueued = (ids: string[]) =>
      db().updateMany(
        { _id: { $in: ids } as never },
        {
          $set: { status: 'pending', nextAttemptAt: new Date() },
          $unset: { error: 1, failedAt: 1 },
        },
      );
    const settled = (ids: string[]) =>
      waitFor(
        async () => {
          const rows = await db()
            .find({ _id: { $in: ids } as never })
            .toArray();
          return rows.every((m) => m.status !== 'pending') ? rows : undefined;
        },
        15_000,
        'the queued messages to settle',
      );

    const first = await queue(3);
    await t.http().delete('/api/v1/whatsapp/sessions/reborn').set(org.auth).expect(204);
    await settled(first); // the logout failed them; put them back as a holder that died first leaves them
    await leftQueued(first);
    // Nobody re-creates it: the sweep finds a queue without a session and fails it.
    const dispatcher = t.app.get(OutboxDispatcher) as unknown as { deletedCheckedAt: number };
    dispatcher.deletedCheckedAt = 0;
    await t.app.get(OutboxDispatcher).sweep();
    // (The logout's own pass may still fail one of them as logged out: either way, failed.)
    const gone = /^Session 'reborn' was (deleted before this message was sent|logged out)$/;
    for (const m of await settled(first))
      expect([m.status, m.error]).toEqual(['failed', expect.stringMatching(gone)]);

    // Again, and this time a session of the same name is created and linked to another number.
    await linkedThenReplaced(org, 'reborn', '+15550004448');
    const second = await queue(2);
    await t.http().delete('/api/v1/whatsapp/sessions/reborn').set(org.auth).expect(204);
    await settled(second);
    await leftQueued(second);
    await connectedSession(t, org, 'reborn', '+15550004449');
    if (onEmulator) t.app.get(EmulatorBackend).server.phone('15550004449').contact('15550006000');
    const fresh = await queue(1);
    for (const m of await settled(second))
      expect([m.status, m.error]).toEqual(['failed', expect.stringMatching(gone)]);
    expect((await settled(fresh))[0].status).toBe('sent'); // the new session's own messages go out
    // Only that one reached anybody through the new session.
    if (onEmulator)
      expect(t.app.get(EmulatorBackend).server.phone('15550004449').outbox).toHaveLength(1);
  });

  it('restarts a session on request', async () => {
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'restartable' })
      .expect(201);
    const res = await t
      .http()
      .post('/api/v1/whatsapp/sessions/restartable/restart')
      .set(owner.auth)
      .expect(200);
    expect(['connecting', 'qr_ready']).toContain(res.body.status);
    await t.http().delete('/api/v1/whatsapp/sessions/restartable').set(owner.auth).expect(204);
  });

  // On the emulator the phone types the code into the real link_code_companion_reg flow.
  it('returns a pairing code and links with it', async () => {
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'paired' })
      .expect(201);
    const code = await t
      .http()
      .post('/api/v1/whatsapp/sessions/paired/pairing-code')
      .set(owner.auth)
      .send({ phone: '+201001234569' })
      .expect(200);
    expect(code.body.code).toMatch(/^[A-Z0-9]{8}$/);
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/paired/pairing-code')
      .set(owner.auth)
      .send({ code: code.body.code })
      .expect(200);
    await waitForSessionStatus(t, owner, 'paired', 'connected');
    await t
      .http()
      .post('/api/v1/whatsapp/sessions/paired/pairing-code')
      .set(owner.auth)
      .send({ phone: 'abc' })
      .expect(400);
    await t.http().delete('/api/v1/whatsapp/sessions/paired').set(owner.auth).expect(204);
  });

  it('validates names, rejects duplicates and enforces the per-organization limit', async () => {
    const bad = await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'has space' })
      .expect(400);
    expect(bad.body.details.sessionName).toBeDefined();
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'x'.repeat(33) })
      .expect(400);
    await t.http().post('/api/v1/whatsapp/sessions').set(owner.auth).send({}).expect(400);
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'a', extra: 1 })
      .expect(400);

    const org = await registerUser(t);
    for (const name of ['one', 'two', 'three']) {
      await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(org.auth)
        .send({ sessionName: name })
        .expect(201);
    }
    const dup = await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(org.auth)
      .send({ sessionName: 'one' })
      .expect(409);
    expect(dup.body.code).toBe('SESSION_EXISTS');
    const limited = await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(org.auth)
      .send({ sessionName: 'four' })
      .expect(403);
    expect(limited.body).toMatchObject({
      code: 'SESSION_LIMIT_REACHED',
      message: expect.stringContaining('maximum of 3'),
      details: { limit: 3 },
    });
    for (const name of ['one', 'two', 'three'])
      await t.http().delete(`/api/v1/whatsapp/sessions/${name}`).set(org.auth).expect(204);

    // Created all at once, the limit still holds, also when one create's insert lands only after
    // its rivals were answered (counting first and ranking after by id let it in as the 4th).
    const create = (i: number) =>
      t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(org.auth)
        .send({ sessionName: `b${i}` });
    const burst = await withLateFirstInsert(
      t.app.get<Model<WhatsAppSession>>(getModelToken(WhatsAppSession.name)),
      () => create(0),
      () => Array.from({ length: 19 }, (_, i) => create(i + 1)),
    );
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 403)).toHaveLength(17);
    const listed = await t.http().get('/api/v1/whatsapp/sessions').set(org.auth).expect(200);
    expect(listed.body).toHaveLength(3);
    for (const { sessionName } of listed.body as Array<{ sessionName: string }>)
      await t.http().delete(`/api/v1/whatsapp/sessions/${sessionName}`).set(org.auth).expect(204);
  });

  it('answers 404 for unknown names and for another organization’s session', async () => {
    await t.http().get('/api/v1/whatsapp/sessions/nope/status').set(owner.auth).expect(404);
    await t.http().get('/api/v1/whatsapp/sessions/nope/qr').set(owner.auth).expect(404);
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'private' })
      .expect(201);
    const other = await registerUser(t);
    await t.http().get('/api/v1/whatsapp/sessions/private/status').set(other.auth).expect(404);
    await t.http().delete('/api/v1/whatsapp/sessions/private').set(other.auth).expect(404);
    await t
      .http()
      .post('/api/v1/whatsapp/sandbox/sessions/private/scan')
      .set(other.auth)
      .send({ phone: '+201001234567' })
      .expect(404);
    expect(
      (await t.http().get('/api/v1/whatsapp/sessions').set(other.auth).expect(200)).body,
    ).toEqual([]);
    await t.http().delete('/api/v1/whatsapp/sessions/private').set(owner.auth).expect(204);
  });

  it('answers 409 SESSION_DELETED_DURING_CREATE to a create that a delete of the same name overtook', async () => {
    const registry = t.app.get(SessionRegistry);
    const start = registry.start.bind(registry);
    // The delete lands between the create's insert and its start.
    vi.spyOn(registry, 'start').mockImplementationOnce(async (sessionId) => {
      await t.http().delete('/api/v1/whatsapp/sessions/racing').set(owner.auth).expect(204);
      return start(sessionId);
    });
    const res = await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(owner.auth)
      .send({ sessionName: 'racing' })
      .expect(409);
    expect(res.body).toMatchObject({
      code: 'SESSION_DELETED_DURING_CREATE',
      details: { sessionName: 'racing' },
    });
    await t.http().get('/api/v1/whatsapp/sessions/racing/status').set(owner.auth).expect(404);
    // Documented on the route.
    const documented = (await t.http().get('/api/docs-json').expect(200)).body.paths[
      '/api/v1/whatsapp/sessions'
    ].post.responses['409'].description;
    expect(documented).toContain('SESSION_DELETED_DURING_CREATE');
  });

  it('refuses every WhatsApp route with 403 when the module is disabled', async () => {
    const org = await registerUser(t);
    await t
      .http()
      .put('/api/v1/organizations/me/modules')
      .set(org.auth)
      .send({ modules: ['crm'] })
      .expect(200);
    const res = await t.http().get('/api/v1/whatsapp/sessions').set(org.auth).expect(403);
    expect(res.body).toMatchObject({
      code: 'MODULE_DISABLED',
      message: "The 'whatsapp' module is not enabled for this organization",
    });
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(org.auth)
      .send({ sessionName: 'x' })
      .expect(403);
    await t.http().get('/api/v1/whatsapp/messages').set(org.auth).expect(403);
  });

  it('stops the sessions while the whatsapp module is off, also across a restart, and restores them when it is back', async () => {
    const org = await registerUser(t);
    await connectedSession(t, org, 'gated', '+201000000777');
    const sessionId = `${org.organization.id}_gated`;
    const setModules = (modules: string[]) =>
      t.http().put('/api/v1/organizations/me/modules').set(org.auth).send({ modules }).expect(200);
    const stored = () =>
      t.app
        .get<Connection>(getConnectionToken())
        .collection('whatsapp_sessions')
        .findOne({ sessionId });
    const stopped = {
      status: 'disconnected',
      lastError: "Stopped: the organization's whatsapp module was switched off",
    };

    await setModules(['crm']);
    expect(await stored()).toMatchObject(stopped);
    expect(t.app.get(SessionRegistry).liveStatus(sessionId)).toBeUndefined();

    t = await t.restart();
    await waitFor(async () => !t.app.get(SessionRegistry).isRestoring, 20_000, 'the restore');
    expect(await stored()).toMatchObject(stopped); // still saying why
    expect(t.app.get(SessionRegistry).liveStatus(sessionId)).toBeUndefined();

    await setModules(['whatsapp', 'crm']);
    // Linked all along: it comes back without a new scan.
    await waitForSessionStatus(t, org, 'gated', 'connected', 30_000);
  });

  it('stops a session created, restarted or asked for a QR by a request the whatsapp module switch-off overtook', async () => {
    const org = await registerUser(t);
    await connectedSession(t, org, 'overtaken', '+201000000782');
    const registry = t.app.get(SessionRegistry);
    const setModules = (modules: string[]) =>
      t.http().put('/api/v1/organizations/me/modules').set(org.auth).send({ modules }).expect(200);
    const stored = (name: string) =>
      t.app
        .get<Connection>(getConnectionToken())
        .collection('whatsapp_sessions')
        .findOne({ sessionId: `${org.organization.id}_${name}` });
    const stopped = { status: 'disconnected', lastError: MODULE_OFF_REASON };

    // The switch is applied after the request passed its module check, before it starts the session.
    const start = registry.start.bind(registry);
    const created = vi.spyOn(registry, 'start').mockImplementationOnce(async (sessionId) => {
      await setModules(['crm']);
      return start(sessionId);
    });
    try {
      await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(org.auth)
        .send({ sessionName: 'raced' })
        .expect(201);
    } finally {
      created.mockRestore();
    }
    expect(await stored('raced')).toMatchObject(stopped);
    expect(registry.liveStatus(`${org.organization.id}_raced`)).toBeUndefined();

    await setModules(['whatsapp', 'crm']);
    await waitForSessionStatus(t, org, 'overtaken', 'connected', 30_000);
    const restart = registry.restart.bind(registry);
    const restarted = vi.spyOn(registry, 'restart').mockImplementationOnce(async (sessionId) => {
      await setModules(['crm']);
      return restart(sessionId);
    });
    try {
      await t.http().post('/api/v1/whatsapp/sessions/overtaken/restart').set(org.auth).expect(200);
    } finally {
      restarted.mockRestore();
    }
    expect(await stored('overtaken')).toMatchObject(stopped);
    expect(registry.liveStatus(`${org.organization.id}_overtaken`)).toBeUndefined();

    // Asking for a QR code starts a session that is not linked.
    await setModules(['whatsapp', 'crm']);
    await waitForSessionStatus(t, org, 'overtaken', 'connected', 30_000);
    const getQr = registry.getQr.bind(registry);
    const qr = vi.spyOn(registry, 'getQr').mockImplementationOnce(async (sessionId) => {
      await setModules(['crm']);
      return getQr(sessionId);
    });
    try {
      await t.http().get('/api/v1/whatsapp/sessions/raced/qr').set(org.auth);
    } finally {
      qr.mockRestore();
    }
    expect(await stored('raced')).toMatchObject(stopped);
    expect(registry.liveStatus(`${org.organization.id}_raced`)).toBeUndefined();
  });

  it('stops a session a QR request the switch-off overtook started, also when no QR came in time', async () => {
    const org = await registerUser(t);
    await t
      .http()
      .post('/api/v1/whatsapp/sessions')
      .set(org.auth)
      .send({ sessionName: 'slow-qr' })
      .expect(201);
    const sessionId = `${org.organization.id}_slow-qr`;
    const registry = t.app.get(SessionRegistry);
    await registry.stop(sessionId);
    // The switch is applied after the request passed its module check; the request starts the
    // session, which goes on connecting, but its QR does not show within the wait (WhatsApp slow).
    const getQr = registry.getQr.bind(registry);
    const qr = vi.spyOn(registry, 'getQr').mockImplementationOnce(async (id) => {
      await t
        .http()
        .put('/api/v1/organizations/me/modules')
        .set(org.auth)
        .send({ modules: ['crm'] })
        .expect(200);
      await getQr(id);
      throw new QrNotAvailableError(id, 'connecting');
    });
    try {
      await t.http().get('/api/v1/whatsapp/sessions/slow-qr/qr').set(org.auth);
    } finally {
      qr.mockRestore();
    }
    expect(registry.liveStatus(sessionId)).toBeUndefined();
    const stored = await t.app
      .get<Connection>(getConnectionToken())
      .collection('whatsapp_sessions')
      .findOne({ sessionId });
    expect(stored).toMatchObject({ status: 'disconnected', lastError: MODULE_OFF_REASON });
  });

  it('applies a module switch that was saved but not applied (its instance died first) at the next check', async () => {
    const org = await registerUser(t);
    await connectedSession(t, org, 'unapplied', '+201000000779');
    const sessionId = `${org.organization.id}_unapplied`;
    const db = () => t.app.get<Connection>(getConnectionToken());
    const stored = () => db().collection('whatsapp_sessions').findOne({ sessionId });
    // What a switch leaves when its instance dies right after saving it: no event, nothing applied.
    const saveOnly = (modules: string[]) =>
      db()
        .collection('organizations')
        .updateOne({ _id: new Types.ObjectId(org.organization.id) }, { $set: { modules } });
    const gate = t.app.get(SessionModuleGate);

    await saveOnly(['crm']);
    expect(t.app.get(SessionRegistry).liveStatus(sessionId)).toBe('connected');
    await gate.reconcile();
    expect(await stored()).toMatchObject({ status: 'disconnected', lastError: MODULE_OFF_REASON });
    expect(t.app.get(SessionRegistry).liveStatus(sessionId)).toBeUndefined();

    // Meanwhile: a session never linked (stopped by the switch-off as well, nothing to restore),
    // and a linked one stopped for another reason (its connection replaced: not to be fought).
    const unlinkedId = `${org.organization.id}_unlinked`;
    await db().collection('whatsapp_sessions').insertOne({
      sessionId: unlinkedId,
      organizationId: org.organization.id,
      sessionName: 'unlinked',
      status: 'disconnected',
      lastError: MODULE_OFF_REASON,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    await saveOnly(['whatsapp', 'crm']);
    // (The API's 2 s module cache still says off: read it afresh to create a session now.)
    await t.app.get(OrganizationsService).hasModuleNow(org.organization.id, 'whatsapp');
    await linkedThenReplaced(org, 'replaced', '+201000000780');

    await gate.reconcile();
    await waitForSessionStatus(t, org, 'unapplied', 'connected', 30_000);
    // Running again and no longer marked as stopped by the module: the next check does nothing.
    expect((await stored())?.lastError ?? null).toBeNull();
    // The unlinked one has nothing to restore: its reason is forgotten, so it is not found again.
    const unlinked = await db().collection('whatsapp_sessions').findOne({ sessionId: unlinkedId });
    expect(unlinked).toMatchObject({ status: 'disconnected' });
    expect(unlinked?.lastError).toBeUndefined();
    await gate.reconcile();
    expect(t.app.get(SessionRegistry).liveStatus(sessionId)).toBe('connected');
    // Only what the module stopped came back: the replaced connection stays stopped.
    expect(
      t.app.get(SessionRegistry).liveStatus(`${org.organization.id}_replaced`),
    ).toBeUndefined();

    // Stopped by a restore that found the module off (the other reason): restored as well.
    await db()
      .collection('whatsapp_sessions')
      .updateOne(
        { sessionId: `${org.organization.id}_replaced` },
        { $set: { lastError: NOT_ALLOWED_TO_RUN }, $unset: { stoppedUntilAsked: '' } },
      );
    await gate.reconcile();
    await waitForSessionStatus(t, org, 'replaced', 'connected', 30_000);
  });

  // Every reconnect would be refused the same way: none is tried, and what to do is said.
  it.each([
    ['forbidden', /^Banned or blocked by WhatsApp \(403\)/, '+201000000791'],
    ['multideviceMismatch', /^Multi-device link refused by WhatsApp \(411\)/, '+201000000792'],
  ] as const)(
    'a close with %s fails the session at once, without reconnecting',
    async (reason, lastError, phone) => {
      const org = await registerUser(t);
      const name = reason.toLowerCase();
      const failed = await linkedThenClosed(org, name, phone, reason, 'failed');
      expect(failed.lastError).toMatch(lastError);
      // The number last linked stays shown, also when the link was dropped (411).
      expect(failed).toMatchObject({
        phone: phone.slice(1),
        jid: expect.stringMatching(new RegExp(`^${phone.slice(1)}[:@]`)),
      });
      const registry = t.app.get(SessionRegistry);
      await waitFor(
        async () => registry.liveStatus(`${org.organization.id}_${name}`) === undefined,
        5_000,
        'the session to end here',
      );
      if (reason === 'forbidden') {
        // The link is kept: once the number may use WhatsApp again, a restart reconnects it.
        await t.http().post(`/api/v1/whatsapp/sessions/${name}/restart`).set(org.auth).expect(200);
      } else {
        // The link is void: a new QR links the number again.
        await scanWhenQrShows(t, org, name, phone);
      }
      await waitForSessionStatus(t, org, name, 'connected', 30_000);
    },
  );

  // A boot that reconnected it would knock on WhatsApp's door with a banned number at every deploy.
  it('a session whose number was banned (403) stays failed across restarts until a restart is asked', async () => {
    const org = await registerUser(t);
    const name = 'banned';
    const sessionId = `${org.organization.id}_${name}`;
    await linkedThenClosed(org, name, '+201000000793', 'forbidden', 'failed');
    await waitFor(
      async () => t.app.get(SessionRegistry).liveStatus(sessionId) === undefined,
      5_000,
      'the session to end here',
    );

    expect(await statusAfterABoot(org, name)).toMatchObject({
      status: 'failed',
      lastError: expect.stringMatching(/^Banned or blocked by WhatsApp \(403\)/),
    });

    // Asked: it reconnects with the kept link, and comes back at boot like any linked session.
    await t.http().post(`/api/v1/whatsapp/sessions/${name}/restart`).set(org.auth).expect(200);
    await waitForSessionStatus(t, org, name, 'connected', 30_000);
    t = await t.restart();
    const back = await waitForSessionStatus(t, org, name, 'connected', 30_000);
    expect(back.phone).toBe('201000000793');
  });

  it('a session whose connection another client replaced stays stopped across restarts until a restart or QR is asked', async () => {
    const org = await registerUser(t);
    const name = 'taken-over';
    const replacedError = expect.stringMatching(/^Connection replaced by another client/);
    // Like a logged-out session: not started, and its status and reason are as it left them.
    const afterABoot = async () =>
      expect(await statusAfterABoot(org, name)).toMatchObject({
        status: 'disconnected',
        lastError: replacedError,
      });

    await linkedThenReplaced(org, name, '+201000000781');
    await afterABoot();
    // Asked: it comes back without a new scan.
    await t.http().post(`/api/v1/whatsapp/sessions/${name}/restart`).set(org.auth).expect(200);
    const back = await waitForSessionStatus(t, org, name, 'connected', 30_000);
    expect(back.phone).toBe('201000000781');

    await t
      .http()
      .post(`/api/v1/whatsapp/sandbox/sessions/${name}/disconnect`)
      .set(org.auth)
      .send({ reason: 'connectionReplaced' })
      .expect(202);
    await waitForSessionStatus(t, org, name, 'disconnected');
    await afterABoot();
    // A QR asked of a linked session connects it (and answers that it is connected).
    const qr = await t.http().get(`/api/v1/whatsapp/sessions/${name}/qr`).set(org.auth).expect(409);
    expect(qr.body.code).toBe('SESSION_ALREADY_CONNECTED');
    await waitForSessionStatus(t, org, name, 'connected', 30_000);

    // Asked once, it is restored like any linked session from then on.
    t = await t.restart();
    await waitForSessionStatus(t, org, name, 'connected', 30_000);
  });

  it('announces a status change that a crash cut off before its event, once, after the restart', async () => {
    const org = await registerUser(t);
    await connectedSession(t, org, 'crashy', '+201000000778');
    const sessionId = `${org.organization.id}_crashy`;
    const db = () => t.app.get<Connection>(getConnectionToken());
    const at = new Date(Date.now() - 60_000);
    // What a crash between the status write and its event leaves behind. The session is closed
    // here first, as the crash closed it: a graceful restart records (and announces) its own
    // status at shutdown, over the note.
    const crashLeftIt = async () => {
      await t.app.get(SessionRegistry).stop(sessionId);
      await db()
        .collection('whatsapp_sessions')
        .updateOne(
          { sessionId },
          {
            $set: {
              status: 'disconnected',
              statusChangedAt: at,
              announcing: { status: 'disconnected', previousStatus: 'connected', at },
            },
          },
        );
    };
    const announced = () =>
      db()
        .collection('events')
        .find({
          organizationId: org.organization.id,
          type: 'session.status',
          'data.statusChangedAt': at,
        })
        .toArray();
    await crashLeftIt();
    t = await t.restart();
    const [event] = await waitFor(async () => {
      const found = await announced();
      return found.length ? found : undefined;
    });
    expect(event.data).toMatchObject({
      sessionName: 'crashy',
      status: 'disconnected',
      previousStatus: 'connected',
    });
    // A crash after the event was recorded but before the note was cleared: not recorded twice.
    await waitForSessionStatus(t, org, 'crashy', 'connected', 30_000);
    await crashLeftIt();
    t = await t.restart(); // the boot announces what it finds before the app answers
    expect(await db().collection('whatsapp_sessions').findOne({ sessionId })).not.toHaveProperty(
      'announcing.at',
      at,
    );
    expect(await announced()).toHaveLength(1);
  });
});

/** WA_RECONNECT_BASE_MS / WA_RECONNECT_MAX_DELAY_MS of the flapping suite: 20 reconnects in seconds. */
const FAST_BACKOFF = { baseMs: 50, capMs: 200 };

describe('A flapping WhatsApp session (HTTP, fast reconnect backoff)', () => {
  let t: TestApp;
  let owner: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp({
      WA_RECONNECT_BASE_MS: String(FAST_BACKOFF.baseMs),
      WA_RECONNECT_MAX_DELAY_MS: String(FAST_BACKOFF.capMs),
    });
    owner = await registerUser(t);
  });
  afterAll(() => t?.close());

  const statusOf = async (name: string) =>
    (await t.http().get(`/api/v1/whatsapp/sessions/${name}/status`).set(owner.auth).expect(200))
      .body as { status: string; connectedAt?: string; lastError?: string };

  // Each connection is lost moments after it opened, far within WA_RECONNECT_STABLE_SECONDS (120 s):
  // none renews the reconnect budget, so the session backs off as if it never connected, and gives up.
  it('backs a session off whose connection is lost again right after each open, and ends it failed saying why', async () => {
    const name = 'flapping';
    const phone = '201000000811';
    await connectedSession(t, owner, name, `+${phone}`);
    let session = await statusOf(name);
    let closes = 0;
    while (session.status === 'connected') {
      const openedAt = session.connectedAt;
      await t
        .http()
        .post(`/api/v1/whatsapp/sandbox/sessions/${name}/disconnect`)
        .set(owner.auth)
        .send({ reason: 'connectionLost' })
        .expect(202);
      closes += 1;
      // The next connection open (a new connectedAt), or the session given up.
      session = await waitFor(
        async () => {
          const now = await statusOf(name);
          const reopened = now.status === 'connected' && now.connectedAt !== openedAt;
          return reopened || now.status === 'failed' ? now : undefined;
        },
        10_000,
        `close ${closes} of ${name} to be followed by a new connection or the end`,
      );
    }

    // 20 reconnects (the budget), and the 21st close ends it.
    expect(closes).toBe(21);
    expect(session).toMatchObject({ status: 'failed', phone });
    expect(session.lastError).toMatch(
      /^Gave up after 20 reconnect attempts \(21 connections closed within 120 s of opening\); last error: .+ \(\d{3}\)$/,
    );
    if (!onEmulator) expect(session.lastError).toMatch(/last error: Connection was lost \(408\)$/);

    // Backed off: each reconnect waited its delay, base·2^(n-1) up to the cap (±20 % jitter), after
    // the close before it (from the announced statuses: `disconnected`, then `connecting`).
    // The `failed` event is written just after the status the route reads.
    const events = await waitFor(async () => {
      const logged = await t.app
        .get<string, Connection>(getConnectionToken())
        .collection('events')
        .find({ organizationId: owner.organization.id, type: 'session.status', sessionName: name })
        .sort({ seq: 1 })
        .toArray();
      return logged.at(-1)?.data.status === 'failed' && logged;
    });
    const waits: number[] = [];
    events.forEach((e, i) => {
      const next = events[i + 1];
      if (e.data.status === 'disconnected' && next?.data.status === 'connecting')
        waits.push(new Date(next.occurredAt).getTime() - new Date(e.occurredAt).getTime());
    });
    expect(waits).toHaveLength(20);
    const nominal = (n: number) => Math.min(FAST_BACKOFF.capMs, FAST_BACKOFF.baseMs * 2 ** (n - 1));
    waits.forEach((wait, i) => expect(wait).toBeGreaterThanOrEqual(nominal(i + 1) * 0.8 - 2));
    // Capped: the delays stop growing. Uncapped, the middle of the later ones would wait 100 s;
    // 2 s leaves room for a busy machine's writes between the two statuses.
    const later = waits.slice(3).sort((a, b) => a - b);
    expect(later[Math.floor(later.length / 2)]).toBeLessThan(2_000);
    expect(events.at(-1)?.data).toMatchObject({
      status: 'failed',
      lastError: session.lastError,
    });

    // Given up for good here: no reconnect comes after it.
    const sessionId = `${owner.organization.id}_${name}`;
    await new Promise((resolve) => setTimeout(resolve, FAST_BACKOFF.capMs * 5));
    expect(await statusOf(name)).toMatchObject({ status: 'failed' });
    expect(t.app.get(SessionRegistry).liveStatus(sessionId)).toBeUndefined();
    // Asked, it reconnects with the kept link.
    await t.http().post(`/api/v1/whatsapp/sessions/${name}/restart`).set(owner.auth).expect(200);
    await waitForSessionStatus(t, owner, name, 'connected', 30_000);
    await t.http().delete(`/api/v1/whatsapp/sessions/${name}`).set(owner.auth).expect(204);
  });
});

describe('WhatsApp sessions on an instance that is shutting down (HTTP, sandbox engine)', () => {
  it('refuses with 503 to start a session once the registry closed its sessions, and leaves no session, lease or connection behind', async () => {
    const t = await createTestApp();
    try {
      const owner = await registerUser(t);
      await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(owner.auth)
        .send({ sessionName: 'before' })
        .expect(201);
      const registry = t.app.get(SessionRegistry);
      // The shutdown hooks ran while requests were still being answered (one in flight at
      // SIGTERM; before the HTTP drain, any request of a busy keep-alive client).
      await registry.beforeApplicationShutdown();
      expect(registry.liveCount()).toBe(0);

      const late = await t
        .http()
        .post('/api/v1/whatsapp/sessions')
        .set(owner.auth)
        .send({ sessionName: 'late' })
        .expect(503);
      expect(late.body).toMatchObject({
        statusCode: 503,
        code: 'INSTANCE_SHUTTING_DOWN',
        details: { sessionName: 'late' },
      });
      const qr = await t
        .http()
        .get('/api/v1/whatsapp/sessions/before/qr')
        .set(owner.auth)
        .expect(503);
      expect(qr.body.code).toBe('INSTANCE_SHUTTING_DOWN');
      expect(qr.headers['retry-after']).toBe('5');
      await t.http().post('/api/v1/whatsapp/sessions/before/restart').set(owner.auth).expect(503);

      expect(registry.liveCount()).toBe(0);
      const sessions = t.app
        .get<string, Connection>(getConnectionToken())
        .collection('whatsapp_sessions');
      // Refused, not created: a retry elsewhere (or after the restart) is not a 409.
      expect(await sessions.countDocuments({ sessionName: 'late' })).toBe(0);
      expect((await sessions.findOne({ sessionName: 'before' }))?.lease).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});

/**
 * A send that passed its session check while the session was connected, whose insert lands after
 * a logout from the phone failed the session's queue (a media download, or just a slow write).
 */
async function sendStoredAsLoggedOut(
  t: TestApp,
  org: RegisteredUser,
  sessionName: string,
  to: string,
  text: string,
): Promise<{ body: { id: string } }> {
  const dispatcher = t.app.get(OutboxDispatcher);
  const failAll = (dispatcher as unknown as { failAll: () => Promise<void> }).failAll.bind(
    dispatcher,
  );
  let queueFailed!: () => void;
  const failed = new Promise<void>((resolve) => (queueFailed = resolve));
  const failing = vi
    .spyOn(dispatcher as unknown as { failAll: () => Promise<void> }, 'failAll')
    .mockImplementation(async (...args: unknown[]) => {
      await (failAll as (...a: unknown[]) => Promise<void>)(...args);
      queueFailed();
    });
  const messages = t.app.get(MessagesRepository);
  const insertAll = messages.insertAll.bind(messages);
  const late = vi.spyOn(messages, 'insertAll').mockImplementation(async (...args) => {
    await t
      .http()
      .post(`/api/v1/whatsapp/sandbox/sessions/${sessionName}/disconnect`)
      .set(org.auth)
      .send({ reason: 'loggedOut' })
      .expect(202);
    await failed;
    return insertAll(...args);
  });
  onTestFinished(() => {
    late.mockRestore();
    failing.mockRestore();
  });
  const accepted = await t
    .http()
    .post('/api/v1/whatsapp/messages/send')
    .set(org.auth)
    .send({ sessionName, to, text })
    .expect(202);
  late.mockRestore();
  return accepted;
}

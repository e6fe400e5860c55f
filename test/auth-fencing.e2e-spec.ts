import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { EmbeddedMongoServer } from '@app/embedded-mongo';
import {
  SessionRegistry,
  WA_AUTH_STORE_PROVIDER,
  type WaAuthStoreProvider,
  type WaConnection,
} from '@app/whatsapp';
import { outageProxy } from './support/outage-proxy';
import { connectedSession, waitForSessionStatus } from './support/sandbox';
import { createTestApp, registerUser, type RegisteredUser, type TestApp } from './support/test-app';
import { waitFor } from './support/wait';

/** Both instances' session lease (SESSION_LEASE_TTL_SECONDS): the takeover waits it out. */
const LEASE_SECONDS = 6;

interface TwoInstances {
  /** Reaches the store through `proxy`, which can cut it off. */
  a: TestApp;
  b: TestApp;
  proxy: Awaited<ReturnType<typeof outageProxy>>;
  owner: RegisteredUser;
  /** Session `main`, linked on A. */
  sessionId: string;
}

/** Two instances on one embedded store, session `main` linked and connected on A. */
async function withSessionOnA(run: (t: TwoInstances) => Promise<void>) {
  const store = await EmbeddedMongoServer.start({ port: 0 });
  const proxy = await outageProxy(store.port);
  const uri = (port: number) => `mongodb://127.0.0.1:${port}/wa_outage_fence?directConnection=true`;
  const lease = { SESSION_LEASE_TTL_SECONDS: String(LEASE_SECONDS) };
  const a = await createTestApp({ MONGODB_URI: uri(proxy.port), ...lease });
  const b = await createTestApp({ MONGODB_URI: uri(store.port), ...lease });
  try {
    const owner = await registerUser(b);
    await connectedSession(a, owner);
    await run({ a, b, proxy, owner, sessionId: `${owner.organization.id}_main` });
  } finally {
    vi.restoreAllMocks();
    await a.close();
    await b.close();
    await proxy.close();
    await store.close();
  }
}

/**
 * The store back, until A reaches it again: the connections the cut broke are dropped on the
 * first use that fails (a request then answers 503 DATABASE_UNAVAILABLE, to retry).
 */
const reachesDatabase = (t: TestApp) =>
  waitFor(
    () =>
      t.app
        .get<string, Connection>(getConnectionToken())
        .db!.admin()
        .ping()
        .then(
          () => true,
          () => false,
        ),
    20_000,
    'the instance reaching the database again',
  );

/** B adopts the session once A's lease ran out, and connects it. */
async function adoptedByB({ b, owner, sessionId }: TwoInstances) {
  await waitFor(
    async () => (await b.app.get(SessionRegistry).adoptOrphans()).includes(sessionId),
    45_000,
    'B adopting the session',
  );
  await waitForSessionStatus(b, owner, 'main', 'connected', 10_000);
}

// The sandbox engine only (not in the e2e:emulator step): each instance's emulator is a WhatsApp
// of its own, where B cannot log in the device A linked on A's.
describe("a session's auth writes, fenced by its lease", () => {
  it("an instance cut off from the database past its session's lease writes no signal key over the instance that adopted the session, and closes its connection", async () => {
    await withSessionOnA(async (t) => {
      const { a, b, proxy, sessionId } = t;
      const keysOf = (app: TestApp) =>
        app.app.get<symbol, WaAuthStoreProvider>(WA_AUTH_STORE_PROVIDER).forSession(sessionId).keys;

      // Only A loses the database; a key write of its connection waits for it.
      await proxy.cut();
      const late = keysOf(a).set({ session: { 'peer.0': 'A' } });
      late.catch(() => undefined);
      // Past A's lease: B adopts the session and moves its keys on.
      await adoptedByB(t);
      await keysOf(b).set({ session: { 'peer.0': 'B' } });

      await proxy.restore();
      await waitFor(
        async () => a.app.get(SessionRegistry).liveStatus(sessionId) === undefined,
        30_000,
        'A closing its connection',
      );
      await expect(late).rejects.toThrow(/another instance holds its lease/);
      const row = await b.app
        .get<string, Connection>(getConnectionToken())
        .collection('wa_auth_state')
        .findOne({ sessionId, type: 'session', id: 'peer.0' });
      expect(JSON.parse(row!.value as string)).toBe('B');
      expect(b.app.get(SessionRegistry).isConnected(sessionId)).toBe(true);
      const doc = await b.http().get('/api/v1/whatsapp/sessions/main/status').set(t.owner.auth);
      expect(doc.body.status).toBe('connected');
    });
  }, 180_000);
});

/**
 * A is cut off from the database past its session's lease and B adopts the session. The database
 * back, A is asked something before its next lease renewal tells it that it lost the session:
 * its renewal rounds are stopped here for that (as a stalled instance's are), so the window an
 * instance has until then (a third of the lease) stays open.
 */
describe('what only the holder of a session may write, fenced by its lease', () => {
  const stopRenewals = (t: TestApp) =>
    (t.app.get(SessionRegistry) as unknown as { leases: { stop(): Promise<void> } }).leases.stop();
  const connectionOn = (t: TestApp, sessionId: string) =>
    (
      t.app.get(SessionRegistry) as unknown as {
        handles: Map<string, { connection: WaConnection }>;
      }
    ).handles.get(sessionId)!.connection;

  it('a delete asked of the cut-off instance is carried out by the one that adopted the session: the cut-off one unlinks nothing and deletes nothing itself', async () => {
    await withSessionOnA(async (t) => {
      const { a, b, proxy, owner, sessionId } = t;
      await stopRenewals(a);
      await proxy.cut();
      await adoptedByB(t);
      const unlinkOnA = vi.spyOn(connectionOn(a, sessionId), 'logout');
      const unlinkOnB = vi.spyOn(connectionOn(b, sessionId), 'logout');
      await proxy.restore();
      await reachesDatabase(a);

      await a.http().delete('/api/v1/whatsapp/sessions/main').set(owner.auth).expect(204);
      expect(unlinkOnA).not.toHaveBeenCalled();
      expect(unlinkOnB).toHaveBeenCalledTimes(1); // by the connection that has the link now
      expect(b.app.get(SessionRegistry).liveStatus(sessionId)).toBeUndefined();
      expect(a.app.get(SessionRegistry).liveStatus(sessionId)).toBeUndefined();
      await b.http().get('/api/v1/whatsapp/sessions/main/status').set(owner.auth).expect(404);
      const auth = b.app.get<string, Connection>(getConnectionToken()).collection('wa_auth_state');
      // Every key is gone; the fence row stays (a late write of an earlier take stays refused).
      expect(
        await auth.countDocuments({ sessionId: sessionId, type: { $ne: 'lease-fence' } }),
      ).toBe(0);
    });
  }, 180_000);

  it("the cut-off instance's connection dropping writes no status over the one the adopting instance left: logged out from the phone there", async () => {
    await withSessionOnA(async (t) => {
      const { a, b, proxy, owner, sessionId } = t;
      await stopRenewals(a);
      await proxy.cut();
      await adoptedByB(t);
      await b
        .http()
        .post('/api/v1/whatsapp/sandbox/sessions/main/disconnect')
        .set(owner.auth)
        .send({ reason: 'loggedOut' })
        .expect(202);
      const loggedOut = await waitForSessionStatus(b, owner, 'main', 'logged_out');
      await proxy.restore();
      await reachesDatabase(a);

      await a
        .http()
        .post('/api/v1/whatsapp/sandbox/sessions/main/disconnect')
        .set(owner.auth)
        .send({ reason: 'connectionLost' })
        .expect(202);
      await waitFor(
        async () => a.app.get(SessionRegistry).liveStatus(sessionId) === undefined,
        10_000,
        'A stepping back',
      );
      const status = await b
        .http()
        .get('/api/v1/whatsapp/sessions/main/status')
        .set(owner.auth)
        .expect(200);
      expect(status.body).toEqual(loggedOut);
    });
  }, 180_000);
});

/**
 * Two live processes under one INSTANCE_ID (two pods given one id): an owner's own lease is free
 * to it, so the second takes the session at once, under a new token, while the first still holds
 * a lease that has not run out. Its expiry alone fenced nothing here.
 */
describe('two live instances under one INSTANCE_ID', () => {
  it("the one the session was taken back from writes no signal key over the other's, steps back and logs the shared id once", async () => {
    const store = await EmbeddedMongoServer.start({ port: 0 });
    const env = {
      MONGODB_URI: `mongodb://127.0.0.1:${store.port}/wa_shared_id?directConnection=true`,
      INSTANCE_ID: 'pod-0',
    };
    const a = await createTestApp(env);
    const b = await createTestApp(env);
    try {
      const owner = await registerUser(b);
      await connectedSession(a, owner);
      const sessionId = `${owner.organization.id}_main`;
      const keysOf = (app: TestApp) =>
        app.app.get<symbol, WaAuthStoreProvider>(WA_AUTH_STORE_PROVIDER).forSession(sessionId).keys;
      const error = vi.spyOn(
        (a.app.get(SessionRegistry) as unknown as { log: { error(message: string): void } }).log,
        'error',
      );

      // B is asked to restart the session: the lease is its id's, so it takes it and connects.
      await b.http().post('/api/v1/whatsapp/sessions/main/restart').set(owner.auth).expect(200);
      await waitFor(
        async () => b.app.get(SessionRegistry).isConnected(sessionId),
        10_000,
        'B connecting the session',
      );
      await keysOf(b).set({ session: { 'peer.0': 'B' } });

      // A's lease has not run out, and A has not noticed yet: its key write is refused all the same.
      expect(a.app.get(SessionRegistry).isConnected(sessionId)).toBe(true);
      await expect(keysOf(a).set({ session: { 'peer.0': 'A' } })).rejects.toThrow(
        /another instance holds its lease/,
      );
      await waitFor(
        async () => a.app.get(SessionRegistry).liveStatus(sessionId) === undefined,
        10_000,
        'A stepping back',
      );
      const row = await b.app
        .get<string, Connection>(getConnectionToken())
        .collection('wa_auth_state')
        .findOne({ sessionId, type: 'session', id: 'peer.0' });
      expect(JSON.parse(row!.value as string)).toBe('B');
      expect(b.app.get(SessionRegistry).isConnected(sessionId)).toBe(true);
      const status = await b.http().get('/api/v1/whatsapp/sessions/main/status').set(owner.auth);
      expect(status.body.status).toBe('connected');
      await waitFor(async () => error.mock.calls.length > 0, 5_000, 'the misconfiguration logged');
      expect(error).toHaveBeenCalledTimes(1);
      expect(String(error.mock.calls[0][0])).toMatch(/INSTANCE_ID "pod-0"/);
    } finally {
      vi.restoreAllMocks();
      await a.close();
      await b.close();
      await store.close();
    }
  }, 120_000);
});

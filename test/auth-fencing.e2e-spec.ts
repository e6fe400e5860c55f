import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { EmbeddedMongoServer } from '@app/embedded-mongo';
import { SessionRegistry, WA_AUTH_STORE_PROVIDER, type WaAuthStoreProvider } from '@app/whatsapp';
import { outageProxy } from './support/outage-proxy';
import { connectedSession, waitForSessionStatus } from './support/sandbox';
import { createTestApp, registerUser } from './support/test-app';
import { waitFor } from './support/wait';

/** Both instances' session lease (SESSION_LEASE_TTL_SECONDS): the takeover waits it out. */
const LEASE_SECONDS = 6;

// The sandbox engine only (not in the e2e:emulator step): each instance's emulator is a WhatsApp
// of its own, where B cannot log in the device A linked on A's.
describe("a session's auth writes, fenced by its lease", () => {
  it("an instance cut off from the database past its session's lease writes no signal key over the instance that adopted the session, and closes its connection", async () => {
    const store = await EmbeddedMongoServer.start({ port: 0 });
    const proxy = await outageProxy(store.port);
    const uri = (port: number) =>
      `mongodb://127.0.0.1:${port}/wa_outage_fence?directConnection=true`;
    const lease = { SESSION_LEASE_TTL_SECONDS: String(LEASE_SECONDS) };
    const a = await createTestApp({ MONGODB_URI: uri(proxy.port), ...lease });
    const b = await createTestApp({ MONGODB_URI: uri(store.port), ...lease });
    try {
      const owner = await registerUser(b);
      await connectedSession(a, owner);
      const sessionId = `${owner.organization.id}_main`;
      const keysOf = (t: typeof a) =>
        t.app.get<symbol, WaAuthStoreProvider>(WA_AUTH_STORE_PROVIDER).forSession(sessionId).keys;

      // Only A loses the database; a key write of its connection waits for it.
      await proxy.cut();
      const late = keysOf(a).set({ session: { 'peer.0': 'A' } });
      late.catch(() => undefined);
      // Past A's lease: B adopts the session and moves its keys on.
      await waitFor(
        async () => (await b.app.get(SessionRegistry).adoptOrphans()).includes(sessionId),
        45_000,
        'B adopting the session',
      );
      await waitForSessionStatus(b, owner, 'main', 'connected', 10_000);
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
      const doc = await b.http().get('/api/v1/whatsapp/sessions/main/status').set(owner.auth);
      expect(doc.body.status).toBe('connected');
    } finally {
      await a.close();
      await b.close();
      await proxy.close();
      await store.close();
    }
  }, 180_000);
});

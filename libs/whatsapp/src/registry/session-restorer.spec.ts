import { EventEmitter2 } from '@nestjs/event-emitter';
import { InMemoryAuthStoreProvider } from '../auth-state/in-memory-auth-store';
import { InMemorySessionStateStore } from '../session-state/in-memory-session-state.store';
import type { WaSessionStatus } from '../session-state/session-state';
import { WaEventPublisher } from './event-publisher';
import { SessionRestorer } from './session-restorer';
import { StatusWriter } from './status-writer';

/**
 * Another instance (A) holds the session; by this instance's clock (running ahead) its lease has
 * run out, by the database's it has not: the lease the restorer asks for is refused.
 */
describe('SessionRestorer on an instance whose clock runs ahead', () => {
  const setUp = async (status: WaSessionStatus) => {
    const store = new InMemorySessionStateStore();
    const { sessionId } = await store.create({ organizationId: 'org1', sessionName: 'held' });
    await store.update(sessionId, { status, ...(status === 'qr_ready' ? { qr: 'data:' } : {}) });
    const doc = store.docs.get(sessionId)!;
    doc.lease = { owner: 'A', expiresAt: new Date(Date.now() - 5_000) };
    const start = vi.fn(async () => undefined);
    const restorer = new SessionRestorer({
      store,
      authStores: new InMemoryAuthStoreProvider(),
      status: new StatusWriter(store, new WaEventPublisher(new EventEmitter2())),
      concurrency: 4,
      start,
      exclusive: (_id, work) => work(),
      isLive: () => false,
      acquireLease: async () => undefined,
      releaseLease: async () => undefined,
      mayRun: async () => true,
      stopWhileBarred: async () => undefined,
      onError: () => undefined,
    });
    return { store, sessionId, restorer, start };
  };

  it('leaves the QR another instance shows alone, not settled `disconnected`', async () => {
    const { store, sessionId, restorer } = await setUp('qr_ready');
    expect(await restorer.adoptOrphans()).toEqual([]);
    expect(await store.findBySessionId(sessionId)).toMatchObject({
      status: 'qr_ready',
      qr: 'data:',
    });
  });

  it('at boot, leaves a session another instance runs `connected`, and does not start it', async () => {
    const { store, sessionId, restorer, start } = await setUp('connected');
    const docs = await restorer.prepare();
    expect(await restorer.startAll(docs)).toMatchObject({ restored: [], skipped: [sessionId] });
    expect((await store.findBySessionId(sessionId))!.status).toBe('connected');
    expect(start).not.toHaveBeenCalled();
  });
});

/**
 * Another instance (A) held the session and died: by the database's clock its lease has run out,
 * by this instance's (running behind) it has not. The restorer takes it over now, not a minute on.
 */
describe('SessionRestorer on an instance whose clock runs behind', () => {
  const SKEW_MS = 60_000;
  const setUp = async (status: WaSessionStatus) => {
    const store = new InMemorySessionStateStore();
    store.now = () => new Date(Date.now() + SKEW_MS);
    const { sessionId } = await store.create({ organizationId: 'org1', sessionName: 'orphan' });
    await store.update(sessionId, { status });
    store.docs.get(sessionId)!.lease = {
      owner: 'A',
      expiresAt: new Date(store.now().getTime() - 1_000),
    };
    const authStores = new InMemoryAuthStoreProvider();
    await authStores.forSession(sessionId).writeCreds({ me: { id: '15551234567@s.whatsapp.net' } });
    const live = new Set<string>();
    const start = vi.fn(async (id: string) => void live.add(id));
    const restorer = new SessionRestorer({
      store,
      authStores,
      status: new StatusWriter(store, new WaEventPublisher(new EventEmitter2())),
      concurrency: 4,
      start,
      exclusive: (_id, work) => work(),
      isLive: (id) => live.has(id),
      acquireLease: async (id) => (await store.acquireLease(id, 'B', 30_000))?.token,
      releaseLease: (id, token) => store.releaseLease(id, token),
      mayRun: async () => true,
      stopWhileBarred: async () => undefined,
      onError: () => undefined,
    });
    return { store, sessionId, restorer, start };
  };

  it('at boot, marks a session the dead instance left `connected` reconnecting and restores it', async () => {
    const { store, sessionId, restorer, start } = await setUp('connected');
    const docs = await restorer.prepare();
    expect((await store.findBySessionId(sessionId))!.status).toBe('connecting');
    expect(await restorer.startAll(docs)).toMatchObject({ restored: [sessionId], skipped: [] });
    expect(start).toHaveBeenCalledWith(sessionId);
    expect(store.docs.get(sessionId)!.lease!.owner).toBe('B');
  });

  it('adopts a session the dead instance was running', async () => {
    const { store, sessionId, restorer } = await setUp('connecting');
    expect(await restorer.adoptOrphans()).toEqual([sessionId]);
    expect(store.docs.get(sessionId)!.lease!.owner).toBe('B');
  });
});

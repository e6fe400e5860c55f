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
      instanceId: 'B',
      concurrency: 4,
      start,
      exclusive: (_id, work) => work(),
      isLive: () => false,
      acquireLease: async () => false,
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

import { WA_EVENTS, type WaSessionStatusEvent } from '../events';
import { InMemorySessionStateStore } from '../session-state/in-memory-session-state.store';
import type { WaEventPublisher } from './event-publisher';
import type { StatusHolder } from './session-handle';
import { StatusWriter } from './status-writer';

describe('StatusWriter', () => {
  afterEach(() => vi.useRealTimers());

  async function setUp() {
    const store = new InMemorySessionStateStore();
    const published: WaSessionStatusEvent[] = [];
    const publisher = {
      publish: vi.fn(async (name: string, payload: WaSessionStatusEvent) => {
        if (name === WA_EVENTS.sessionStatus) published.push(payload);
      }),
    };
    const leaseLost = vi.fn();
    const writer = new StatusWriter(store, publisher as unknown as WaEventPublisher, leaseLost);
    const doc = await store.create({ organizationId: 'org1', sessionName: 'main' });
    const holder: StatusHolder = {
      ref: { sessionId: doc.sessionId, organizationId: 'org1', sessionName: 'main' },
      status: doc.status,
      initial: true,
      leaseToken: (await store.acquireLease(doc.sessionId, 'A', 30_000))!.token,
    };
    return { store, writer, holder, published, leaseLost };
  }

  it('dates each change of a session after the one before, also within one millisecond', async () => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00.000Z'), toFake: ['Date'] });
    const { store, writer, holder, published } = await setUp();
    await writer.set(holder, 'connecting');
    await writer.set(holder, 'qr_ready');
    await writer.set(holder, 'connecting');
    const times = published.map((e) => new Date(e.at).getTime());
    expect(published.map((e) => e.status)).toEqual(['connecting', 'qr_ready', 'connecting']);
    expect(new Set(times).size).toBe(3);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // Each announcement cleared its own note only: none is left for a replay.
    expect((await store.findBySessionId(holder.ref.sessionId))?.announcing).toBeUndefined();
    expect((await store.findBySessionId(holder.ref.sessionId))?.statusChangedAt).toEqual(
      published[2].at,
    );
  });

  it('notes when a session was logged out, kept through the next link (a send knows its link by it)', async () => {
    const { store, writer, holder } = await setUp();
    await writer.set(holder, 'connected');
    expect((await store.findBySessionId(holder.ref.sessionId))?.loggedOutAt).toBeUndefined();
    await writer.set(holder, 'logged_out');
    const first = (await store.findBySessionId(holder.ref.sessionId))?.loggedOutAt;
    expect(first).toBeInstanceOf(Date);
    await writer.set(holder, 'qr_ready');
    await writer.set(holder, 'connected');
    expect((await store.findBySessionId(holder.ref.sessionId))?.loggedOutAt).toEqual(first);
    await writer.set(holder, 'logged_out');
    const second = (await store.findBySessionId(holder.ref.sessionId))?.loggedOutAt;
    expect(second!.getTime()).toBeGreaterThan(first!.getTime());
  });

  it("writes only under the holder's lease: nothing once another instance took the session, nor after that one let it go", async () => {
    const { store, writer, holder, published, leaseLost } = await setUp();
    const { sessionId } = holder.ref;
    expect(await writer.set(holder, 'connected')).toBe(true);
    // A stalls past its lease; B takes the session over, logs it out and lets it go.
    store.docs.get(sessionId)!.lease!.expiresAt = new Date(Date.now() - 1);
    const b: StatusHolder = {
      ...holder,
      status: 'connected',
      leaseToken: (await store.acquireLease(sessionId, 'B', 30_000))!.token,
    };
    expect(await writer.set(holder, 'disconnected', { lastError: 'A: lost' })).toBe(false);
    expect(await writer.set(b, 'logged_out')).toBe(true);
    await store.releaseLease(sessionId, b.leaseToken);

    // A's connection drops before its next renewal: what B wrote stays.
    expect(await writer.set(holder, 'disconnected', { lastError: 'A: lost' })).toBe(false);
    expect(await store.findBySessionId(sessionId)).toMatchObject({ status: 'logged_out' });
    expect((await store.findBySessionId(sessionId))?.lastError).toBeUndefined();
    expect(published.map((e) => e.status)).toEqual(['connected', 'logged_out']);
    expect(leaseLost).toHaveBeenCalledTimes(2);
    expect(leaseLost).toHaveBeenCalledWith(holder);
  });
});

import { WA_EVENTS, type WaSessionDeletedEvent } from '../events';
import { InMemorySessionStateStore } from '../session-state/in-memory-session-state.store';
import type { WaEventPublisher } from './event-publisher';
import { SessionDeletions } from './session-deletions';

describe('SessionDeletions', () => {
  async function setUp(settledAfterMs = 0) {
    const store = new InMemorySessionStateStore();
    const published: WaSessionDeletedEvent[] = [];
    /** The next announcements' subscriber fails (the event outbox could not write). */
    let failing = 0;
    const publisher = {
      publishOrThrow: vi.fn(async (name: string, payload: WaSessionDeletedEvent) => {
        if (failing > 0) {
          failing--;
          throw new Error('outbox write failed');
        }
        if (name === WA_EVENTS.sessionDeleted) published.push(payload);
      }),
    };
    const onError = vi.fn();
    const deletions = new SessionDeletions(
      store,
      publisher as unknown as WaEventPublisher,
      onError,
      settledAfterMs,
    );
    const doc = await store.create({ organizationId: 'org1', sessionName: 'main' });
    const remove = () => store.delete(doc.sessionId);
    return { store, deletions, doc, remove, published, onError, failOnce: () => (failing = 1) };
  }
  const past = () => new Date(Date.now() + 1);

  it('announces a deletion once, with the deleted session and its creation', async () => {
    const { store, deletions, doc, remove, published } = await setUp();
    const note = await deletions.delete(doc, remove);
    expect(published).toEqual([]); // announced by the caller, once the delete is done
    await deletions.announce(note!);
    expect(published).toEqual([
      {
        sessionId: doc.sessionId,
        organizationId: 'org1',
        sessionName: 'main',
        createdAt: doc.createdAt,
        at: expect.any(Date),
      },
    ]);
    expect(await deletions.announceMissed(past())).toBe(0);
    expect(store.deletionNotes.size).toBe(0);
  });

  it('announces later a deletion whose announcement failed (the note outlives the document)', async () => {
    const { store, deletions, doc, remove, published, onError, failOnce } = await setUp();
    const note = await deletions.delete(doc, remove);
    failOnce();
    await deletions.announce(note!); // logged, not thrown: the delete is done
    expect(onError).toHaveBeenCalledTimes(1);
    expect(published).toEqual([]);
    expect(await store.findBySessionId(doc.sessionId)).toBeNull();

    expect(await deletions.announceMissed(past())).toBe(1);
    expect(published).toEqual([
      expect.objectContaining({ sessionId: doc.sessionId, replayed: true }),
    ]);
    expect(await deletions.announceMissed(past())).toBe(0);
    expect(published).toHaveLength(1);
  });

  it('keeps the note when the late announcement fails too, for the next pass', async () => {
    const { deletions, doc, remove, published, failOnce } = await setUp();
    await deletions.delete(doc, remove); // a crash before its announcement
    failOnce();
    await expect(deletions.announceMissed(past())).rejects.toThrow('outbox write failed');
    expect(await deletions.announceMissed(past())).toBe(1);
    expect(published).toHaveLength(1);
  });

  it('announces nothing for a delete that did not happen (failed, or deleted nothing)', async () => {
    const { store, deletions, doc, published } = await setUp();
    await expect(
      deletions.delete(doc, () => Promise.reject(new Error('database unavailable'))),
    ).rejects.toThrow('database unavailable');
    // Its note stays until a pass sees the document still there.
    expect(await deletions.announceMissed(past())).toBe(0);
    expect(store.deletionNotes.size).toBe(0);
    expect(await deletions.delete(doc, async () => false)).toBeUndefined();
    expect(store.deletionNotes.size).toBe(0);
    expect(published).toEqual([]);
  });

  it('keeps a recent note whose document is still there: a delete under way on another instance', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const { store, deletions, doc, remove, published } = await setUp(30_000);
      // Another instance noted its delete and has not deleted yet; a boot here settles the notes.
      let deleteNow!: () => void;
      const deleting = deletions.delete(
        doc,
        () => new Promise<boolean>((resolve) => (deleteNow = () => void remove().then(resolve))),
      );
      await vi.waitFor(() => expect(store.deletionNotes.size).toBe(1));
      expect(await deletions.announceMissed(past())).toBe(0);
      expect(store.deletionNotes.size).toBe(1); // left for its instance, which now deletes
      deleteNow();
      const note = await deleting;
      expect(note).toBeDefined(); // …and then dies before announcing: a later pass announces it
      expect(await deletions.announceMissed(past())).toBe(1);
      expect(published).toHaveLength(1);

      // A note of a delete that never happened is dropped once older than a lease.
      const kept = await store.create({ organizationId: 'org1', sessionName: 'kept' });
      await expect(
        deletions.delete(kept, () => Promise.reject(new Error('gone away'))),
      ).rejects.toThrow();
      expect(await deletions.announceMissed(past())).toBe(0);
      expect(store.deletionNotes.size).toBe(1);
      vi.setSystemTime(Date.now() + 30_001);
      expect(await deletions.announceMissed(past())).toBe(0);
      expect(store.deletionNotes.size).toBe(0);
      expect(published).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('announces the deletion of a session created again under its name since (another creation)', async () => {
    const { store, deletions, doc, remove, published } = await setUp();
    await deletions.delete(doc, remove); // a crash before its announcement
    await new Promise((r) => setTimeout(r, 2)); // another creation time
    await store.create({ organizationId: 'org1', sessionName: 'main' });
    expect(await deletions.announceMissed(past())).toBe(1);
    expect(published[0].createdAt).toEqual(doc.createdAt);
  });

  it('leaves notes written after `before` to a later pass (a delete still under way elsewhere)', async () => {
    const { deletions, doc, remove, published } = await setUp();
    await deletions.delete(doc, remove);
    expect(await deletions.announceMissed(new Date(0))).toBe(0);
    expect(await deletions.announceMissed(past())).toBe(1);
    expect(published).toHaveLength(1);
  });
});

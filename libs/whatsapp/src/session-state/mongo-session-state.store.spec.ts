import { EmbeddedMongoThread } from '@app/embedded-mongo/worker/embedded-mongo-thread';
import mongoose, { type Connection } from 'mongoose';
import { SessionHolderRequest, SessionHolderRequestSchema } from './holder-request.schema';
import { SessionDeletionNote, SessionDeletionNoteSchema } from './session-deletion-note.schema';
import { MongoSessionStateStore } from './mongo-session-state.store';
import { SessionQueryService } from './session-query.service';
import { WhatsAppSession, WhatsAppSessionSchema } from './whatsapp-session.schema';

const TTL_MS = 30_000;

/** A store over its own embedded database, on its own thread (as in the app). */
async function storeOnItsThread(db: string) {
  const thread = await EmbeddedMongoThread.start({});
  const connection = await mongoose
    .createConnection(`mongodb://127.0.0.1:${thread.port}/${db}`)
    .asPromise();
  const notes = connection.model(SessionDeletionNote.name, SessionDeletionNoteSchema);
  await notes.syncIndexes();
  const store = new MongoSessionStateStore(
    connection.model(WhatsAppSession.name, WhatsAppSessionSchema),
    connection.model(SessionHolderRequest.name, SessionHolderRequestSchema),
    notes,
  );
  return { thread, connection, store };
}
const SKEW_MS = 60_000;

/**
 * Leases are judged by the database's clock: the store runs on its own thread here (as in the
 * app), so faking this thread's clock is an instance whose clock is off, not the database's.
 */
describe('MongoSessionStateStore leases, by the database clock', () => {
  let thread: EmbeddedMongoThread;
  let connection: Connection;
  let store: MongoSessionStateStore;
  beforeAll(async () => {
    ({ thread, connection, store } = await storeOnItsThread('leases'));
  });
  afterAll(async () => {
    await connection?.close();
    await thread?.close();
  });
  afterEach(() => vi.useRealTimers());

  /** Runs `work` as an instance whose clock is `skewMs` off the database's. */
  const withClockOff = async <T>(skewMs: number, work: () => Promise<T>): Promise<T> => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + skewMs });
    try {
      return await work();
    } finally {
      vi.useRealTimers();
    }
  };
  const leaseOf = async (sessionId: string) => (await store.findBySessionId(sessionId))!.lease!;
  const acquire = async (sessionId: string, owner: string) =>
    (await store.acquireLease(sessionId, owner, TTL_MS)) !== null;

  it('an instance whose clock runs ahead takes no live lease, and its own last the TTL', async () => {
    const { sessionId } = await store.create({ organizationId: 'org1', sessionName: 'ahead' });
    expect(await acquire(sessionId, 'A')).toBe(true);
    expect(await withClockOff(SKEW_MS, () => acquire(sessionId, 'B'))).toBe(false);
    expect((await leaseOf(sessionId)).owner).toBe('A');

    const other = (await store.create({ organizationId: 'org1', sessionName: 'ahead-2' }))
      .sessionId;
    const before = Date.now();
    expect(await withClockOff(SKEW_MS, () => acquire(other, 'B'))).toBe(true);
    const { expiresAt } = await leaseOf(other);
    expect(expiresAt.getTime()).toBeGreaterThanOrEqual(before + TTL_MS);
    expect(expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + TTL_MS);
  });

  it('an instance whose clock runs behind renews a lease others see live, and can take an expired one', async () => {
    const { sessionId } = await store.create({ organizationId: 'org1', sessionName: 'behind' });
    const grant = await withClockOff(-SKEW_MS, () => store.acquireLease(sessionId, 'A', TTL_MS));
    const renewed = await withClockOff(-SKEW_MS, () => store.renewLeases([grant!], 'A', TTL_MS));
    expect(renewed.map((g) => g.sessionId)).toEqual([sessionId]);
    expect(await acquire(sessionId, 'B')).toBe(false);
    expect((await leaseOf(sessionId)).expiresAt.getTime()).toBeGreaterThan(Date.now());

    // Run out by the database's clock (another instance died): free, also to a slow clock.
    await connection
      .collection('whatsapp_sessions')
      .updateOne({ sessionId }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1) } });
    expect(await withClockOff(-SKEW_MS, () => acquire(sessionId, 'C'))).toBe(true);
  });

  it('a renewal extends only the lease taken under its token: run out but untaken, or not at all once another instance held it', async () => {
    const { sessionId } = await store.create({ organizationId: 'org1', sessionName: 'token' });
    const runOut = () =>
      connection
        .collection('whatsapp_sessions')
        .updateOne({ sessionId }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1) } });
    const grant = (await store.acquireLease(sessionId, 'A', TTL_MS))!;
    await runOut(); // an outage outlasted it; nobody took it
    const [renewed] = await store.renewLeases([grant], 'A', TTL_MS);
    expect(renewed).toMatchObject({ sessionId, token: grant.token });
    expect(renewed.expiresAt.getTime()).toBeGreaterThan(Date.now());

    await runOut();
    expect(await acquire(sessionId, 'B')).toBe(true);
    await store.releaseLease(sessionId, (await leaseOf(sessionId)).token!);
    expect(await store.renewLeases([grant], 'A', TTL_MS)).toEqual([]);
    expect((await store.findBySessionId(sessionId))!.lease).toBeUndefined();
  });

  it('a status written or a delete under a lease token lands only while the lease is still that one: run out but untaken, not once another instance took it, nor after it let it go', async () => {
    const { sessionId } = await store.create({ organizationId: 'org1', sessionName: 'fenced' });
    const runOut = () =>
      connection
        .collection('whatsapp_sessions')
        .updateOne({ sessionId }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1) } });
    const a = (await store.acquireLease(sessionId, 'A', TTL_MS))!;
    await runOut(); // a stall outlasted it; nobody took it
    expect(await store.update(sessionId, { status: 'connected' }, a.token)).toMatchObject({
      status: 'connected',
    });

    expect(await acquire(sessionId, 'B')).toBe(true);
    const b = (await leaseOf(sessionId)).token!;
    expect(await store.update(sessionId, { status: 'disconnected' }, a.token)).toBeNull();
    expect(await store.delete(sessionId, a.token)).toBe(false);
    expect(await store.update(sessionId, { status: 'logged_out' }, b)).toMatchObject({
      status: 'logged_out',
    });
    await store.releaseLease(sessionId, b); // B let it go: still not A's
    expect(await store.update(sessionId, { status: 'connected' }, a.token)).toBeNull();
    expect(await store.delete(sessionId, a.token)).toBe(false);
    expect((await store.findBySessionId(sessionId))!.status).toBe('logged_out');

    const c = (await store.acquireLease(sessionId, 'C', TTL_MS))!;
    expect(await store.delete(sessionId, c.token)).toBe(true);
    expect(await store.findBySessionId(sessionId)).toBeNull();
  });

  it('a release lets go only of the lease taken under its token: not one taken since, also by the same owner (a restart under the same INSTANCE_ID)', async () => {
    const { sessionId } = await store.create({ organizationId: 'org1', sessionName: 'released' });
    const before = (await store.acquireLease(sessionId, 'A', TTL_MS))!;
    const again = (await store.acquireLease(sessionId, 'A', TTL_MS))!;
    await store.releaseLease(sessionId, before.token); // late, from the older tenure
    expect(await leaseOf(sessionId)).toMatchObject({ owner: 'A', token: again.token });
    await store.releaseLease(sessionId, again.token);
    expect((await store.findBySessionId(sessionId))!.lease).toBeUndefined();
  });

  it('the unfenced lastActivityAt write cannot harm a new holder: it leaves its status, lease and fence as they were, and writes nothing once the session is deleted', async () => {
    const { sessionId } = await store.create({ organizationId: 'org1', sessionName: 'active' });
    const sessions = new SessionQueryService(store);
    await store.acquireLease(sessionId, 'A', TTL_MS);
    await connection
      .collection('whatsapp_sessions')
      .updateOne({ sessionId }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1) } });
    const b = (await store.acquireLease(sessionId, 'B', TTL_MS))!; // B adopted the session
    await store.update(sessionId, { status: 'connected' }, b.token);
    const before = (await store.findBySessionId(sessionId))!;

    const at = new Date(Date.now() - 5_000); // a late one, from A's message effects
    await sessions.touchActivity(sessionId, at);
    const { updatedAt, ...after } = (await store.findBySessionId(sessionId))!;
    expect(after).toEqual({ ...before, updatedAt: undefined, lastActivityAt: at });
    expect(updatedAt).toEqual(expect.any(Date));
    expect(await store.update(sessionId, { status: 'logged_out' }, b.token)).not.toBeNull();

    expect(await store.delete(sessionId, b.token)).toBe(true);
    await sessions.touchActivity(sessionId, new Date());
    expect(await store.findBySessionId(sessionId)).toBeNull();
  });

  it('whether another instance holds a session is judged by the database clock, whatever the asker’s', async () => {
    const { sessionId } = await store.create({ organizationId: 'org1', sessionName: 'holder' });
    const heldElsewhere = (skewMs: number, asker: string) =>
      withClockOff(skewMs, () => store.isLeasedElsewhere(sessionId, asker));
    expect(await heldElsewhere(0, 'B')).toBe(false); // nobody's
    expect(await acquire(sessionId, 'A')).toBe(true);
    expect(await heldElsewhere(SKEW_MS, 'B')).toBe(true); // live, though run out by B's clock
    expect(await heldElsewhere(0, 'A')).toBe(false); // its own
    // Run out by the database's clock (A died): not held, though live by a clock running behind.
    await connection
      .collection('whatsapp_sessions')
      .updateOne({ sessionId }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1) } });
    expect(await heldElsewhere(-SKEW_MS, 'B')).toBe(false);
    expect(await store.isLeasedElsewhere('org1_gone', 'B')).toBe(false);
  });

  it('the sessions nobody holds are listed by the database clock, whatever the lister’s', async () => {
    const create = async (sessionName: string) =>
      (await store.create({ organizationId: 'org2', sessionName })).sessionId;
    const [free, live, expired, gone] = await Promise.all(
      ['free', 'live', 'expired', 'gone'].map(create),
    );
    await store.update(gone, { status: 'logged_out' });
    expect(await acquire(live, 'A')).toBe(true);
    expect(await acquire(expired, 'A')).toBe(true);
    await connection
      .collection('whatsapp_sessions')
      .updateOne({ sessionId: expired }, { $set: { 'lease.expiresAt': new Date(Date.now() - 1) } });
    for (const skewMs of [SKEW_MS, -SKEW_MS]) {
      const listed = await withClockOff(skewMs, () =>
        store.listUnleasedByStatusNotIn(['logged_out']),
      );
      const ids = listed.filter((d) => d.organizationId === 'org2').map((d) => d.sessionId);
      expect(ids.sort()).toEqual([expired, free].sort());
    }
  });

  it('an instance never takes a request it left itself: its poll may still list the session as held after it found out the session went elsewhere', async () => {
    const { sessionId } = await store.create({ organizationId: 'org3', sessionName: 'asked' });
    const ask = (id: string) =>
      store.askHolder({
        id,
        sessionId,
        request: { kind: 'destroy' },
        askedBy: 'A',
        expiresAt: new Date(Date.now() + 60_000),
      });
    await ask('asked-by-a');
    expect(await store.takeHolderRequests([sessionId], 'A', [sessionId])).toEqual([]);
    expect(await store.takeHolderRequests([sessionId], 'B', [])).toEqual([
      { id: 'asked-by-a', sessionId, request: { kind: 'destroy' } },
    ]);
  });

  it('a told request (nobody waits for its answer) is taken once its session is connected on a holder, also the instance that told it: one that adopted the session since', async () => {
    const { sessionId } = await store.create({ organizationId: 'org3', sessionName: 'told' });
    await store.askHolder({
      id: 'told-by-a',
      sessionId,
      request: { kind: 'resyncContacts' },
      askedBy: 'A',
      expiresAt: new Date(Date.now() + 60_000),
      told: true,
    });
    // Held, but still connecting (just adopted, reconnecting): left for a later poll, not refused.
    expect(await store.takeHolderRequests([sessionId], 'B', [])).toEqual([]);
    expect(await store.takeHolderRequests([sessionId], 'A', [])).toEqual([]);
    expect(await store.takeHolderRequests([sessionId], 'A', [sessionId])).toEqual([
      { id: 'told-by-a', sessionId, request: { kind: 'resyncContacts' } },
    ]);
    expect(await store.takeHolderRequests([sessionId], 'B', [sessionId])).toEqual([]); // once
  });
});

describe('MongoSessionStateStore deletion notes', () => {
  let thread: EmbeddedMongoThread;
  let connection: Connection;
  let store: MongoSessionStateStore;
  beforeAll(async () => {
    ({ thread, connection, store } = await storeOnItsThread('deletions'));
  });
  afterAll(async () => {
    await connection?.close();
    await thread?.close();
  });

  it('keeps one note per deletion (a session and its creation), listed by age, until dropped', async () => {
    const first = {
      sessionId: 'org1_main',
      organizationId: 'org1',
      sessionName: 'main',
      phone: '201001234567',
      sessionCreatedAt: new Date('2026-01-01T00:00:00.000Z'),
      at: new Date('2026-01-02T00:00:00.000Z'),
    };
    const again = { ...first, at: new Date('2026-01-02T00:00:01.000Z') };
    // The same name created again later, and deleted again.
    const later = {
      ...first,
      sessionCreatedAt: new Date('2026-01-03T00:00:00.000Z'),
      at: new Date('2026-01-04T00:00:00.000Z'),
    };
    await store.noteDeletion(first);
    await store.noteDeletion(again); // a retried delete notes the same deletion again
    await store.noteDeletion(later);
    expect(await store.listDeletionNotes(new Date('2026-01-05T00:00:00.000Z'))).toEqual([
      again,
      later,
    ]);
    expect(await store.listDeletionNotes(new Date('2026-01-03T00:00:00.000Z'))).toEqual([again]);
    await store.dropDeletionNote(first);
    expect(await store.listDeletionNotes(new Date('2026-01-05T00:00:00.000Z'))).toEqual([later]);
  });
});

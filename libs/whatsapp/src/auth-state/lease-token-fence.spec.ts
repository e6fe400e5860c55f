import { EmbeddedMongoThread } from '@app/embedded-mongo/worker/embedded-mongo-thread';
import mongoose, { type Connection } from 'mongoose';
import { LeaseKeeper } from '../registry/lease-keeper';
import { SessionHolderRequest } from '../session-state/holder-request.schema';
import { SessionHolderRequestSchema } from '../session-state/holder-request.schema';
import {
  SessionDeletionNote,
  SessionDeletionNoteSchema,
} from '../session-state/session-deletion-note.schema';
import { MongoSessionStateStore } from '../session-state/mongo-session-state.store';
import { WhatsAppSession, WhatsAppSessionSchema } from '../session-state/whatsapp-session.schema';
import { BatchedAuthStore, BatchedAuthStoreProvider } from './batched-auth-store';
import { MongoAuthRowBackend } from './mongo-auth-store.provider';
import { WaAuthKey, WaAuthKeySchema } from './wa-auth-key.schema';
import { AuthWritesFencedError } from './wa-auth-store';

const TTL_MS = 30_000;

/**
 * Two processes under one INSTANCE_ID (two pods given the same one, or a process that stalled
 * while its restart took the session back): the lease is taken anew, live, by the same owner.
 * Its expiry alone does not fence the first one out; its token does.
 */
describe('auth writes fenced by the lease token (one owner id, two processes)', () => {
  let thread: EmbeddedMongoThread;
  let connection: Connection;
  let sessions: MongoSessionStateStore;
  let backend: MongoAuthRowBackend;
  beforeAll(async () => {
    thread = await EmbeddedMongoThread.start({});
    connection = await mongoose
      .createConnection(`mongodb://127.0.0.1:${thread.port}/fencing`)
      .asPromise();
    sessions = new MongoSessionStateStore(
      connection.model(WhatsAppSession.name, WhatsAppSessionSchema),
      connection.model(SessionHolderRequest.name, SessionHolderRequestSchema),
      connection.model(SessionDeletionNote.name, SessionDeletionNoteSchema),
    );
    const keys = connection.model(WaAuthKey.name, WaAuthKeySchema);
    await keys.syncIndexes();
    backend = new MongoAuthRowBackend(keys);
  });
  afterAll(async () => {
    await connection?.close();
    await thread?.close();
  });

  /** One gateway process: its lease keeper (owner 'A') and its auth stores. */
  const processUnderA = () => {
    const onLost = vi.fn();
    const keeper = new LeaseKeeper(sessions, 'A', TTL_MS, onLost, vi.fn());
    const auth = new BatchedAuthStoreProvider(backend);
    const take = async (sessionId: string) => {
      expect(await keeper.acquire(sessionId)).toEqual(expect.any(String));
      keeper.track(sessionId);
      return auth.forSession(sessionId, keeper.fence(sessionId));
    };
    return { keeper, onLost, take };
  };
  /** What a fresh reader finds in the database. */
  const stored = (sessionId: string, type: string, ids: string[]) =>
    new BatchedAuthStore(sessionId, backend).keys.get(type, ids);

  it("the first process's key writes land nothing once the second took the lease, and it is told it lost it", async () => {
    const { sessionId } = await sessions.create({ organizationId: 'org1', sessionName: 'dup' });
    const first = processUnderA();
    const old = await first.take(sessionId);
    await old.keys.set({ session: { peer: 'v1' } });

    const second = processUnderA();
    const current = await second.take(sessionId);
    expect(await current.keys.get('session', ['peer'])).toEqual({ peer: 'v1' });
    await current.keys.set({ session: { peer: 'v2' } });

    // The first one's lease has not run out: only its token says it is not the holder any more.
    await expect(
      old.keys.set({ session: { peer: 'stale', fresh: 'stale' }, 'pre-key': { '9': 'stale' } }),
    ).rejects.toThrow(AuthWritesFencedError);
    await expect(old.writeCreds({ me: 'stale' })).rejects.toThrow(AuthWritesFencedError);
    expect(first.onLost).toHaveBeenCalledWith(sessionId);
    expect(await stored(sessionId, 'session', ['peer', 'fresh'])).toEqual({ peer: 'v2' });
    expect(await stored(sessionId, 'pre-key', ['9'])).toEqual({});
    expect(await stored(sessionId, 'creds', ['creds'])).toEqual({});

    // The second one goes on writing.
    await current.keys.set({ session: { peer: 'v3' } });
    expect(await stored(sessionId, 'session', ['peer'])).toEqual({ peer: 'v3' });
    first.keeper.stopTimer();
    second.keeper.stopTimer();
  });

  it("the first process's clear (a logout) deletes none of the second's keys", async () => {
    const { sessionId } = await sessions.create({ organizationId: 'org1', sessionName: 'dup-2' });
    const first = processUnderA();
    const old = await first.take(sessionId);
    await old.writeCreds({ me: 'linked' });

    const second = processUnderA();
    const current = await second.take(sessionId);
    await current.keys.set({ session: { peer: 'theirs' } });

    await expect(old.clear()).rejects.toThrow(AuthWritesFencedError);
    expect(await stored(sessionId, 'session', ['peer'])).toEqual({ peer: 'theirs' });
    expect(Object.keys(await stored(sessionId, 'creds', ['creds']))).toEqual(['creds']);

    // The holder's own clear still deletes every key.
    await current.clear();
    expect(await stored(sessionId, 'session', ['peer'])).toEqual({});
    expect(await stored(sessionId, 'creds', ['creds'])).toEqual({});
    first.keeper.stopTimer();
    second.keeper.stopTimer();
  });

  it('a restart under the same id (the old process gone) takes the session back and writes at once', async () => {
    const { sessionId } = await sessions.create({ organizationId: 'org1', sessionName: 'restart' });
    const crashed = processUnderA();
    await (await crashed.take(sessionId)).keys.set({ session: { peer: 'before' } });
    crashed.keeper.stopTimer();

    const restarted = processUnderA();
    const store = await restarted.take(sessionId);
    expect(await store.keys.get('session', ['peer'])).toEqual({ peer: 'before' });
    await store.keys.set({ session: { peer: 'after' } });
    expect(await stored(sessionId, 'session', ['peer'])).toEqual({ peer: 'after' });
    // Released and taken again in the same process: its writes still land.
    await restarted.keeper.release(
      sessionId,
      (await sessions.findBySessionId(sessionId))!.lease!.token!,
    );
    const again = await restarted.take(sessionId);
    await again.keys.set({ session: { peer: 'again' } });
    expect(await stored(sessionId, 'session', ['peer'])).toEqual({ peer: 'again' });
    restarted.keeper.stopTimer();
  });
});

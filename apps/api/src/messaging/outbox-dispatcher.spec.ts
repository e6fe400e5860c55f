import { Logger } from '@nestjs/common';
import { Query } from 'mingo';
import { MongoNetworkError } from 'mongodb';
import { loadConfig } from '@app/common';
import type { SessionQueryService, SessionRegistry } from '@app/whatsapp';
import type { MediaStorage } from './media/media-storage';
import type { MessageStatusService } from './message-status.service';
import type { MessageRecord } from './message.types';
import type { MessagesRepository } from './messages.repository';
import { OutboxDispatcher } from './outbox-dispatcher';

const INSTANCE = 'gw-0';
const SESSION = 'org_main';

/** A dispatcher over a repository that records its calls in order; one send is due. */
function dispatcherWith(release: () => Promise<number>) {
  const calls: string[] = [];
  let due = [{ _id: 'm1', sessionId: SESSION, chatJid: 'peer' } as MessageRecord];
  const messages = {
    releaseClaimsOf: async (owner: string) => {
      calls.push(`release ${owner}`);
      return release();
    },
    sessionsWithDuePending: async () => (due.length ? [SESSION] : []),
    pendingOf: async () => [],
    duePending: async () => due,
    chatsAwaitingRetry: async () => new Set<string>(),
    // Taken meanwhile by someone else: the drain reads again and finds nothing left.
    claim: async (_id: string, _now: Date, _ms: number, owner: string) => {
      calls.push(`claim ${owner}`);
      due = [];
      return null;
    },
  } as unknown as MessagesRepository;
  const registry = { isConnected: () => true } as unknown as SessionRegistry;
  const sessions = {
    findOne: async () => ({ sessionId: SESSION, createdAt: new Date(0) }),
  } as unknown as SessionQueryService;
  const dispatcher = new OutboxDispatcher(
    registry,
    sessions,
    messages,
    {} as MessageStatusService,
    {} as MediaStorage,
    loadConfig({ WHATSAPP_ENGINE: 'sandbox' }),
    INSTANCE,
  );
  return { dispatcher, calls };
}

describe('OutboxDispatcher after a restart', () => {
  let warn: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it("releases this instance's own claims once, before its first claim, however a drain starts", async () => {
    const { dispatcher, calls } = dispatcherWith(async () => 1);
    // A restored session's `connected` may kick a drain before the first sweep.
    dispatcher.kick(SESSION);
    await vi.waitFor(() => expect(calls).toContain(`claim ${INSTANCE}`));
    await dispatcher.sweep();
    dispatcher.kick(SESSION);
    await dispatcher.beforeApplicationShutdown();
    expect(calls).toEqual([`release ${INSTANCE}`, `claim ${INSTANCE}`]);
  });

  it('goes on when the release fails (those sends then wait for their claim), and does not try again', async () => {
    const { dispatcher, calls } = dispatcherWith(async () => {
      throw new Error('database down');
    });
    await dispatcher.sweep();
    await vi.waitFor(() => expect(calls).toContain(`claim ${INSTANCE}`));
    await dispatcher.sweep();
    await dispatcher.beforeApplicationShutdown();
    expect(calls).toEqual([`release ${INSTANCE}`, `claim ${INSTANCE}`]);
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ instanceId: INSTANCE }),
      expect.stringContaining('wait until their claim expires'),
    );
  });
});

describe('OutboxDispatcher once WhatsApp took a send', () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it('waits out a database outage to record it, and never sends it again', async () => {
    const message = {
      _id: 'm1',
      sessionId: SESSION,
      chatJid: 'peer',
      type: 'text',
      text: 'hi',
      attempts: 1,
    };
    let due = [message as MessageRecord];
    const messages = {
      releaseClaimsOf: async () => 0,
      duePending: async () => due,
      chatsAwaitingRetry: async () => new Set<string>(),
      claim: async () => {
        due = [];
        return message;
      },
      scheduleRetry: vi.fn(),
    };
    const send = vi.fn(async () => ({ waMessageId: 'WA1' }));
    const registry = { isConnected: () => true, send } as unknown as SessionRegistry;
    const sessions = {
      findOne: async () => ({ sessionId: SESSION, createdAt: new Date(0) }),
    } as unknown as SessionQueryService;
    // The connection breaks as the id is stored, then the database answers again.
    const markSent = vi
      .fn()
      .mockRejectedValueOnce(new MongoNetworkError('connection 7 closed'))
      .mockResolvedValueOnce(undefined);
    const fail = vi.fn();
    const dispatcher = new OutboxDispatcher(
      registry,
      sessions,
      messages as unknown as MessagesRepository,
      { markSent, fail } as unknown as MessageStatusService,
      {} as MediaStorage,
      loadConfig({ WHATSAPP_ENGINE: 'sandbox' }),
      INSTANCE,
    );
    dispatcher.kick(SESSION);
    await vi.waitFor(() => expect(markSent).toHaveBeenCalledTimes(2), { timeout: 5_000 });
    await dispatcher.beforeApplicationShutdown();
    expect(send).toHaveBeenCalledTimes(1);
    expect(markSent).toHaveBeenLastCalledWith(message, 'WA1', expect.any(Date));
    // WhatsApp's ack of it changes nothing its record does not say (ingest drops it).
    expect(dispatcher.sentHere(SESSION, 'WA1')).toBe(true);
    expect(dispatcher.sentHere(SESSION, 'WA2')).toBe(false);
    expect(messages.scheduleRetry).not.toHaveBeenCalled();
    expect(fail).not.toHaveBeenCalled();
  });
});

describe('OutboxDispatcher when a claim is cut off', () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it('gives back the claim whose answer a broken connection lost, so the send is due again instead of after the 60 s claim', async () => {
    const messages = {
      releaseClaimsOf: async () => 0,
      duePending: async () => [{ _id: 'm1', sessionId: SESSION, chatJid: 'peer' }],
      chatsAwaitingRetry: async () => new Set<string>(),
      // The database may have applied it: the message may now be claimed by us, unsent.
      claim: vi.fn().mockRejectedValue(new MongoNetworkError('connection 7 closed')),
      releaseClaim: vi
        .fn()
        .mockRejectedValueOnce(new MongoNetworkError('connection 8 closed'))
        .mockResolvedValue(undefined),
    };
    const send = vi.fn();
    const dispatcher = new OutboxDispatcher(
      { isConnected: () => true, send } as unknown as SessionRegistry,
      {
        findOne: async () => ({ sessionId: SESSION, createdAt: new Date(0) }),
      } as unknown as SessionQueryService,
      messages as unknown as MessagesRepository,
      {} as MessageStatusService,
      {} as MediaStorage,
      loadConfig({ WHATSAPP_ENGINE: 'sandbox' }),
      INSTANCE,
    );
    dispatcher.kick(SESSION);
    await vi.waitFor(() => expect(messages.releaseClaim).toHaveBeenCalledTimes(2), {
      timeout: 5_000,
    });
    await dispatcher.beforeApplicationShutdown();
    expect(messages.releaseClaim).toHaveBeenLastCalledWith('m1', INSTANCE, expect.any(Date));
    expect(send).not.toHaveBeenCalled();
  });
});

describe('OutboxDispatcher past the pending deadline', () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it('a drain leaves an overdue message to the send another instance took it for meanwhile', async () => {
    const now = Date.now();
    // Stored: pending two days (past the default one-day deadline), due.
    const stored: Record<string, unknown> = {
      _id: 'm1',
      sessionId: SESSION,
      chatJid: 'peer',
      status: 'pending',
      createdAt: new Date(now - 2 * 86_400_000),
      nextAttemptAt: new Date(now - 1_000),
    };
    let reads = 0;
    const messages = {
      releaseClaimsOf: async () => 0,
      duePending: async () => (reads++ === 0 ? [{ ...stored } as unknown as MessageRecord] : []),
      // The drain has read it; another instance (the session handed over to it) claims and sends it.
      chatsAwaitingRetry: async () => {
        Object.assign(stored, { claimedBy: 'gw-1', nextAttemptAt: new Date(now + 60_000) });
        return new Set<string>();
      },
    };
    // As the repository applies it: the filter decides whether the message moves to failed.
    const fail = vi.fn(async (filter: Record<string, unknown>) => {
      if (!new Query(filter).test(stored)) return null;
      stored.status = 'failed';
      return stored;
    });
    const dispatcher = new OutboxDispatcher(
      { isConnected: () => true } as unknown as SessionRegistry,
      {
        findOne: async () => ({ sessionId: SESSION, createdAt: new Date(0) }),
      } as unknown as SessionQueryService,
      messages as unknown as MessagesRepository,
      { fail } as unknown as MessageStatusService,
      {} as MediaStorage,
      loadConfig({ WHATSAPP_ENGINE: 'sandbox' }),
      INSTANCE,
    );
    dispatcher.kick(SESSION);
    await vi.waitFor(() => expect(fail).toHaveBeenCalledTimes(1), { timeout: 5_000 });
    await dispatcher.beforeApplicationShutdown();
    expect(stored.status).toBe('pending'); // the other instance's send decides it
  });
});

describe('OutboxDispatcher when a session is logged out', () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it('fails every message still queued, also when the database drops one of the writes', async () => {
    const queued = new Map(
      ['m1', 'm2', 'm3'].map((id) => [id, { _id: id, sessionId: SESSION, status: 'pending' }]),
    );
    const messages = {
      pendingOf: async () => [...queued.values()].filter((m) => m.status === 'pending'),
    };
    let blips = 1;
    // The first fail is written, but its status event is not (thrown since the event log's
    // write failures reach the producer): a connection reset.
    const fail = vi.fn(async (filter: { _id: string }) => {
      const m = queued.get(filter._id)!;
      if (m.status !== 'pending') return null;
      m.status = 'failed';
      if (blips-- > 0) throw new MongoNetworkError('connection reset while storing the event');
      return m;
    });
    const dispatcher = new OutboxDispatcher(
      { isConnected: () => false } as unknown as SessionRegistry,
      {} as SessionQueryService,
      messages as unknown as MessagesRepository,
      { fail } as unknown as MessageStatusService,
      {} as MediaStorage,
      loadConfig({ WHATSAPP_ENGINE: 'sandbox' }),
      INSTANCE,
    );
    await dispatcher
      .onSessionStatus({
        sessionId: SESSION,
        organizationId: 'o',
        sessionName: 'main',
        status: 'logged_out',
        previousStatus: 'connected',
        at: new Date(),
      })
      .catch(() => undefined); // Nest's emitter logs and drops it
    await dispatcher.beforeApplicationShutdown();
    expect([...queued.values()].map((m) => m.status)).toEqual(['failed', 'failed', 'failed']);
  });

  it('fails every message still queued when the effects of one fail, leaving those to recovery', async () => {
    const error = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const queued = new Map(
      ['m1', 'm2', 'm3'].map((id) => [id, { _id: id, sessionId: SESSION, status: 'pending' }]),
    );
    const messages = {
      pendingOf: async (filter: { _id?: { $nin: string[] } }) =>
        [...queued.values()].filter(
          (m) => m.status === 'pending' && !filter._id?.$nin.includes(m._id),
        ),
    };
    // m1's status is written (its statusEffectsAt noted for recovery), then an effect refuses it
    // (its media cannot be deleted); m2 is refused before its write.
    const fail = vi.fn(async (filter: { _id: string }) => {
      const m = queued.get(filter._id)!;
      if (m._id === 'm2') throw new Error('document failed validation');
      m.status = 'failed';
      if (m._id === 'm1') throw new Error('EACCES: permission denied, unlink media/m1');
      return m;
    });
    const dispatcher = new OutboxDispatcher(
      { isConnected: () => false } as unknown as SessionRegistry,
      {} as SessionQueryService,
      messages as unknown as MessagesRepository,
      { fail } as unknown as MessageStatusService,
      {} as MediaStorage,
      loadConfig({ WHATSAPP_ENGINE: 'sandbox' }),
      INSTANCE,
    );
    await dispatcher.onSessionStatus({
      sessionId: SESSION,
      organizationId: 'o',
      sessionName: 'main',
      status: 'logged_out',
      previousStatus: 'connected',
      at: new Date(),
    });
    await dispatcher.beforeApplicationShutdown();
    expect([...queued.values()].map((m) => m.status)).toEqual(['failed', 'pending', 'failed']);
    expect(fail).toHaveBeenCalledTimes(3); // m2 is tried once, not again and again
    expect(error).toHaveBeenCalledTimes(2);
  });

  it('never sends a message the logout could not fail through a later link of the session', async () => {
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const createdAt = new Date(0);
    // Accepted under the first link (no logout yet).
    const m1 = {
      _id: 'm1',
      sessionId: SESSION,
      sessionName: 'main',
      sessionCreatedAt: createdAt,
      chatJid: 'peer',
      type: 'text',
      text: 'hi',
      status: 'pending',
      attempts: 1,
    };
    const pending = () => (m1.status === 'pending' ? [m1 as unknown as MessageRecord] : []);
    const messages = {
      releaseClaimsOf: async () => 0,
      pendingOf: async (filter: { _id?: { $nin: string[] } }) =>
        pending().filter((m) => !filter._id?.$nin.includes(m._id)),
      duePending: async () => pending(),
      chatsAwaitingRetry: async () => new Set<string>(),
      claim: async () => m1,
      scheduleRetry: vi.fn(),
    };
    // The logout's fail is refused; a later one goes through.
    const fail = vi
      .fn()
      .mockRejectedValueOnce(new Error('document failed validation'))
      .mockImplementation(async () => {
        m1.status = 'failed';
        return m1;
      });
    let connected = false;
    const send = vi.fn(async () => ({ waMessageId: 'WA1' }));
    const markSent = vi.fn(async () => {
      m1.status = 'sent';
    });
    const session = { sessionId: SESSION, sessionName: 'main', createdAt, status: 'logged_out' };
    const dispatcher = new OutboxDispatcher(
      { isConnected: () => connected, send } as unknown as SessionRegistry,
      { findOne: async () => ({ ...session }) } as unknown as SessionQueryService,
      messages as unknown as MessagesRepository,
      { fail, markSent } as unknown as MessageStatusService,
      {} as MediaStorage,
      loadConfig({ WHATSAPP_ENGINE: 'sandbox' }),
      INSTANCE,
    );
    const loggedOutAt = new Date();
    Object.assign(session, { loggedOutAt });
    await dispatcher.onSessionStatus({
      sessionId: SESSION,
      organizationId: 'o',
      sessionName: 'main',
      status: 'logged_out',
      previousStatus: 'connected',
      at: loggedOutAt,
    });
    expect(m1.status).toBe('pending');
    // Linked again (maybe another number): the queue drains.
    Object.assign(session, { status: 'connected' });
    connected = true;
    dispatcher.kick(SESSION);
    await vi.waitFor(() => expect(m1.status).not.toBe('pending'), { timeout: 5_000 });
    await dispatcher.beforeApplicationShutdown();
    expect(send).not.toHaveBeenCalled();
    expect(m1.status).toBe('failed');
    expect(fail).toHaveBeenLastCalledWith({ _id: 'm1' }, "Session 'main' was logged out");
  });
});

describe('OutboxDispatcher retries', () => {
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => vi.restoreAllMocks());

  it('sends a retry once its backoff has passed, without waiting for a sweep', async () => {
    const message = {
      _id: 'm1',
      sessionId: SESSION,
      chatJid: 'peer',
      type: 'text',
      text: 'hi',
      attempts: 0,
      status: 'pending',
    };
    let retryAt = new Date(0);
    const messages = {
      releaseClaimsOf: async () => 0,
      duePending: async (_session: string, now: Date) =>
        message.status === 'pending' && retryAt <= now ? [message as MessageRecord] : [],
      chatsAwaitingRetry: async () => new Set<string>(),
      claim: async () => ({ ...message, attempts: ++message.attempts }),
      scheduleRetry: vi.fn(async (_id: string, at: Date) => void (retryAt = at)),
    };
    const send = vi
      .fn()
      .mockRejectedValueOnce(new Error('socket hiccup'))
      .mockResolvedValueOnce({ waMessageId: 'WA1' });
    const markSent = vi.fn(async () => void (message.status = 'sent'));
    const dispatcher = new OutboxDispatcher(
      { isConnected: () => true, send } as unknown as SessionRegistry,
      {
        findOne: async () => ({ sessionId: SESSION, createdAt: new Date(0) }),
      } as unknown as SessionQueryService,
      messages as unknown as MessagesRepository,
      { markSent } as unknown as MessageStatusService,
      {} as MediaStorage,
      loadConfig({ WHATSAPP_ENGINE: 'sandbox', MESSAGE_RETRY_BASE_MS: '50' }),
      INSTANCE,
    );
    // No sweep runs here (onApplicationBootstrap is not called): only the retry's own timer.
    dispatcher.kick(SESSION);
    await vi.waitFor(() => expect(markSent).toHaveBeenCalledTimes(1), { timeout: 5_000 });
    await dispatcher.beforeApplicationShutdown();
    expect(send).toHaveBeenCalledTimes(2);
    expect(messages.scheduleRetry).toHaveBeenCalledTimes(1);
  });
});

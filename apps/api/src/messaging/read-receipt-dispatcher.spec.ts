import type { SessionRegistry, WaReadKey, WaSessionStatusEvent } from '@app/whatsapp';
import type { MessageRecord } from './message.types';
import type { MessagesRepository } from './messages.repository';
import { MAX_RECEIPT_ATTEMPTS, ReadReceiptDispatcher, readKeyOf } from './read-receipt-dispatcher';

const SESSION = 'org_main';

/** The repository's receipt queries over an in-memory list of messages. */
function fakeMessages(pending: MessageRecord[]) {
  const isPending = new Set(pending.map((m) => m._id));
  const repo = {
    sessionsWithPendingReceipts: async () => (isPending.size ? [SESSION] : []),
    pendingReceiptsOf: async (_sessionId: string, limit: number) =>
      pending.filter((m) => isPending.has(m._id)).slice(0, limit),
    clearPendingReceipts: async (filter: { ids: string[] } | { sessionId: string }) => {
      if ('ids' in filter) filter.ids.forEach((id) => isPending.delete(id));
      else isPending.clear();
    },
  };
  return { repo: repo as unknown as MessagesRepository, isPending };
}

function fakeRegistry() {
  const calls: WaReadKey[][] = [];
  const registry = {
    connected: true,
    /** How many of the next calls fail; `disconnects` makes a failure a lost connection. */
    failures: 0,
    disconnects: false,
    isConnected: () => registry.connected,
    markRead: async (_sessionId: string, keys: WaReadKey[]) => {
      if (registry.failures > 0) {
        registry.failures -= 1;
        if (registry.disconnects) registry.connected = false;
        throw new Error('refused');
      }
      calls.push(keys);
    },
  };
  return { registry, calls, asRegistry: registry as unknown as SessionRegistry };
}

const received = (n: number): MessageRecord[] =>
  Array.from(
    { length: n },
    (_, i) =>
      ({
        _id: `m${String(i).padStart(5, '0')}`,
        waMessageId: `WA${i}`,
        chatJid: '201001234567@s.whatsapp.net',
      }) as MessageRecord,
  );

describe('readKeyOf', () => {
  it('answers to the address WhatsApp used, else to the stored chat and participant', () => {
    const base = { waMessageId: 'W1', chatJid: '201001234567@s.whatsapp.net' } as MessageRecord;
    expect(readKeyOf({ ...base, waAddress: { remoteJid: '42@lid' } })).toEqual({
      waMessageId: 'W1',
      remoteJid: '42@lid',
    });
    expect(
      readKeyOf({ ...base, chatJid: '1203@g.us', participant: '201001234567@s.whatsapp.net' }),
    ).toEqual({
      waMessageId: 'W1',
      remoteJid: '1203@g.us',
      participant: '201001234567@s.whatsapp.net',
    });
  });
});

describe('ReadReceiptDispatcher', () => {
  it('sends nothing while the session is not connected here, everything once it is', async () => {
    const { repo, isPending } = fakeMessages(received(3));
    const { registry, calls, asRegistry } = fakeRegistry();
    const dispatcher = new ReadReceiptDispatcher(asRegistry, repo);
    registry.connected = false;
    await dispatcher.sweep();
    await dispatcher.idle(SESSION);
    expect(calls).toEqual([]);
    expect(isPending.size).toBe(3);

    registry.connected = true;
    await dispatcher.onSessionStatus({
      sessionId: SESSION,
      status: 'connected',
    } as WaSessionStatusEvent);
    await dispatcher.idle(SESSION);
    expect(calls.map((keys) => keys.map((k) => k.waMessageId))).toEqual([['WA0', 'WA1', 'WA2']]);
    expect(isPending.size).toBe(0);
  });

  describe('when the engine refuses', () => {
    beforeEach(() => vi.useFakeTimers({ now: new Date('2026-12-06T00:00:00Z'), toFake: ['Date'] }));
    afterEach(() => vi.useRealTimers());
    /** Past the longest (jittered) delay after `attempts` refusals. */
    const waitOut = (attempts: number) => vi.setSystemTime(Date.now() + 1_200 * 2 ** attempts);

    it('sends in batches of 500 and keeps a refused batch for a later pass, after a delay', async () => {
      const { repo, isPending } = fakeMessages(received(1_200));
      const { registry, calls, asRegistry } = fakeRegistry();
      const dispatcher = new ReadReceiptDispatcher(asRegistry, repo);
      registry.failures = 1;
      dispatcher.kick(SESSION);
      await dispatcher.idle(SESSION);
      expect(calls).toEqual([]);
      expect(isPending.size).toBe(1_200);

      await dispatcher.sweep(); // too early: backing off
      await dispatcher.idle(SESSION);
      expect(calls).toEqual([]);

      waitOut(1);
      await dispatcher.sweep();
      await dispatcher.idle(SESSION);
      expect(calls.map((keys) => keys.length)).toEqual([500, 500, 200]);
      expect(new Set(calls.flat().map((k) => k.waMessageId)).size).toBe(1_200);
      expect(isPending.size).toBe(0);
    });

    it('tries a refused batch again once its backoff ends, without waiting for a sweep', async () => {
      vi.useFakeTimers({ now: new Date('2026-12-06T00:00:00Z'), toFake: ['Date', 'setTimeout'] });
      const { repo, isPending } = fakeMessages(received(3));
      const { registry, calls, asRegistry } = fakeRegistry();
      const dispatcher = new ReadReceiptDispatcher(asRegistry, repo);
      registry.failures = 1;
      dispatcher.kick(SESSION);
      await dispatcher.idle(SESSION);
      expect(calls).toEqual([]);
      await vi.advanceTimersByTimeAsync(1_200); // past the first (jittered) delay; no sweep runs
      await dispatcher.idle(SESSION);
      expect(calls.map((keys) => keys.length)).toEqual([3]);
      expect(isPending.size).toBe(0);
      await dispatcher.beforeApplicationShutdown();
    });

    it('drops a batch refused again and again while connected, and goes on with the rest', async () => {
      const { repo, isPending } = fakeMessages(received(600));
      const { registry, calls, asRegistry } = fakeRegistry();
      const dispatcher = new ReadReceiptDispatcher(asRegistry, repo);
      registry.failures = MAX_RECEIPT_ATTEMPTS;
      for (let attempt = 1; attempt <= MAX_RECEIPT_ATTEMPTS; attempt++) {
        await dispatcher.sweep();
        await dispatcher.idle(SESSION);
        waitOut(attempt);
      }
      // The first 500 were given up; the other 100 went in the same pass.
      expect(calls.map((keys) => keys.map((k) => k.waMessageId))).toEqual([
        received(600)
          .slice(500)
          .map((m) => m.waMessageId),
      ]);
      expect(isPending.size).toBe(0);
    });

    it('does not count a lost connection as a refusal, and starts afresh on reconnect', async () => {
      const { repo, isPending } = fakeMessages(received(3));
      const { registry, calls, asRegistry } = fakeRegistry();
      const dispatcher = new ReadReceiptDispatcher(asRegistry, repo);
      registry.failures = MAX_RECEIPT_ATTEMPTS + 2;
      registry.disconnects = true;
      for (let i = 0; i < MAX_RECEIPT_ATTEMPTS + 2; i++) {
        registry.connected = true;
        await dispatcher.onSessionStatus({
          sessionId: SESSION,
          status: 'connected',
        } as WaSessionStatusEvent);
        await dispatcher.idle(SESSION);
      }
      expect(isPending.size).toBe(3); // never dropped

      registry.connected = true;
      await dispatcher.onSessionStatus({
        sessionId: SESSION,
        status: 'connected',
      } as WaSessionStatusEvent);
      await dispatcher.idle(SESSION);
      expect(calls.flat().map((k) => k.waMessageId)).toEqual(['WA0', 'WA1', 'WA2']);
      expect(isPending.size).toBe(0);
    });
  });

  it('drops the receipts of a session that was logged out', async () => {
    const { repo, isPending } = fakeMessages(received(2));
    const { asRegistry } = fakeRegistry();
    const dispatcher = new ReadReceiptDispatcher(asRegistry, repo);
    await dispatcher.onSessionStatus({
      sessionId: SESSION,
      status: 'logged_out',
    } as WaSessionStatusEvent);
    expect(isPending.size).toBe(0);
  });
});

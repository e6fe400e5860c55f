import type { SessionRegistry, WaReadKey, WaSessionStatusEvent } from '@app/whatsapp';
import type { MessageRecord } from './message.types';
import type { MessagesRepository } from './messages.repository';
import { ReadReceiptDispatcher, readKeyOf } from './read-receipt-dispatcher';

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
    failNext: false,
    isConnected: () => registry.connected,
    markRead: async (_sessionId: string, keys: WaReadKey[]) => {
      if (registry.failNext) {
        registry.failNext = false;
        throw new Error('socket closed');
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

  it('sends in batches of 500 and keeps a batch the engine refused for the next pass', async () => {
    const { repo, isPending } = fakeMessages(received(1_200));
    const { registry, calls, asRegistry } = fakeRegistry();
    const dispatcher = new ReadReceiptDispatcher(asRegistry, repo);
    registry.failNext = true;
    dispatcher.kick(SESSION);
    await dispatcher.idle(SESSION);
    expect(calls).toEqual([]);
    expect(isPending.size).toBe(1_200);

    await dispatcher.sweep();
    await dispatcher.idle(SESSION);
    expect(calls.map((keys) => keys.length)).toEqual([500, 500, 200]);
    expect(new Set(calls.flat().map((k) => k.waMessageId)).size).toBe(1_200);
    expect(isPending.size).toBe(0);
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

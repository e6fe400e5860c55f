import type { EventEmitter2 } from '@nestjs/event-emitter';
import type { ChatCountsService } from './chat-counts.service';
import type { EarlyReceiptRecord, EarlyReceiptsRepository } from './early-receipts.repository';
import { foldReceipt, type HeldReceipt } from './held-receipts';
import type { MediaStorage } from './media/media-storage';
import { MessageStatusService } from './message-status.service';
import type { MessagesRepository } from './messages.repository';
import { type MessageRecord, type MessageStatus, statusRank } from './message.types';
import { MESSAGING_EVENTS } from './messaging.events';

function message(status: MessageStatus, extra: Partial<MessageRecord> = {}): MessageRecord {
  return {
    _id: 'm1',
    sessionId: 's1',
    status,
    direction: 'out',
    chatJid: 'c',
    organizationId: 'o',
    sessionName: 'n',
    fromMe: true,
    type: 'text',
    attempts: 1,
    timestamp: new Date(0),
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...extra,
  };
}

/** The `early_receipts` collection as EarlyReceiptsRepository keeps it (folded per message). */
function earlyReceiptsInMemory(): EarlyReceiptsRepository {
  const held = new Map<string, HeldReceipt[]>();
  const key = (sessionId: string, waMessageId: string) => `${sessionId}|${waMessageId}`;
  const record = (waMessageId: string, receipts: HeldReceipt[]): EarlyReceiptRecord => ({
    waMessageId,
    receipts: receipts.map((r) => ({ status: r.status as MessageStatus, at: r.at })),
    furthest: statusRank(receipts.at(-1)!.status as MessageStatus),
  });
  return {
    hold: async (sessionId: string, waMessageId: string, receipt: HeldReceipt) => {
      held.set(
        key(sessionId, waMessageId),
        foldReceipt(held.get(key(sessionId, waMessageId)), receipt),
      );
    },
    findOf: async (sessionId: string, waMessageIds: string[]) =>
      waMessageIds.flatMap((id) => {
        const receipts = held.get(key(sessionId, id));
        return receipts ? [record(id, [...receipts])] : [];
      }),
    remove: async (sessionId: string, applied: EarlyReceiptRecord) => {
      const receipts = held.get(key(sessionId, applied.waMessageId));
      if (receipts && record(applied.waMessageId, receipts).furthest === applied.furthest)
        held.delete(key(sessionId, applied.waMessageId));
    },
  } as unknown as EarlyReceiptsRepository;
}

describe('MessageStatusService', () => {
  const emitAsync = vi.fn().mockResolvedValue([]);
  const repo = {
    advanceStatus: vi.fn(),
    findByWaId: vi.fn(),
    markSent: vi.fn(),
    clearStatusEffects: vi.fn(),
    markMediaDiscarded: vi.fn(),
    forgetDiscardedMedia: vi.fn(),
  };
  const counts = { countWentOut: vi.fn() };
  const media = { delete: vi.fn() };
  const early = earlyReceiptsInMemory();
  const service = new MessageStatusService(
    repo as unknown as MessagesRepository,
    early,
    counts as unknown as ChatCountsService,
    { emitAsync } as unknown as EventEmitter2,
    media as unknown as MediaStorage,
  );

  beforeEach(() => vi.clearAllMocks());

  it('emits one status event per real transition, then clears the note of its effects', async () => {
    const noted = new Date(9);
    repo.advanceStatus.mockResolvedValueOnce({
      before: message('sent'),
      after: message('read', { statusEffectsAt: noted }),
    });
    await service.applyReceipt('s1', 'WA1', 'read', new Date(5));
    expect(emitAsync).toHaveBeenCalledWith(
      MESSAGING_EVENTS.statusChanged,
      expect.objectContaining({ status: 'read', at: new Date(5) }),
    );
    expect(repo.clearStatusEffects).toHaveBeenCalledWith('m1', noted);
    expect(emitAsync.mock.invocationCallOrder[0]).toBeLessThan(
      repo.clearStatusEffects.mock.invocationCallOrder[0],
    );
    // The chat first (our message went out: it clears the unread count), then the listeners.
    expect(counts.countWentOut).toHaveBeenCalledWith(expect.objectContaining({ status: 'read' }));
    expect(counts.countWentOut.mock.invocationCallOrder[0]).toBeLessThan(
      emitAsync.mock.invocationCallOrder[0],
    );
  });

  it('marks the stored media of a send that failed discarded, then deletes it, then drops its key, before announcing it', async () => {
    const stored = { mimetype: 'image/png', size: 3, storageKey: 'k1', downloadStatus: 'stored' };
    repo.advanceStatus.mockResolvedValueOnce({
      before: message('pending', { type: 'image', media: stored as never }),
      after: message('failed', { type: 'image', media: stored as never }),
    });
    await service.fail({ _id: 'm1' }, 'Session not connected within 1 s');
    expect(repo.markMediaDiscarded).toHaveBeenCalledWith('m1');
    expect(media.delete).toHaveBeenCalledWith('k1');
    expect(repo.forgetDiscardedMedia).toHaveBeenCalledWith('m1', 'k1');
    // Marked first: a reader sees the media until it reads discarded (410), never bytes gone (404).
    expect(repo.markMediaDiscarded.mock.invocationCallOrder[0]).toBeLessThan(
      media.delete.mock.invocationCallOrder[0],
    );
    expect(media.delete.mock.invocationCallOrder[0]).toBeLessThan(
      repo.forgetDiscardedMedia.mock.invocationCallOrder[0],
    );
    expect(emitAsync).toHaveBeenCalledWith(
      MESSAGING_EVENTS.statusChanged,
      expect.objectContaining({
        message: expect.objectContaining({
          media: { mimetype: 'image/png', size: 3, downloadStatus: 'discarded' },
        }),
      }),
    );
  });

  it('keeps the media of a message that did not fail; a failed one whose delete failed keeps its key and its note', async () => {
    const stored = { mimetype: 'image/png', storageKey: 'k1', downloadStatus: 'stored' };
    repo.advanceStatus.mockResolvedValueOnce({
      before: message('sent', { type: 'image', media: stored as never }),
      after: message('delivered', { type: 'image', media: stored as never }),
    });
    await service.applyReceipt('s1', 'WA1', 'delivered', new Date(5));
    expect(media.delete).not.toHaveBeenCalled();
    expect(repo.markMediaDiscarded).not.toHaveBeenCalled();

    repo.advanceStatus.mockResolvedValueOnce({
      before: message('pending', { type: 'image', media: stored as never }),
      after: message('failed', {
        type: 'image',
        media: stored as never,
        statusEffectsAt: new Date(9),
      }),
    });
    media.delete.mockRejectedValueOnce(new Error('storage down'));
    await expect(service.fail({ _id: 'm1' }, 'gave up')).rejects.toThrow('storage down');
    expect(repo.markMediaDiscarded).toHaveBeenCalledWith('m1');
    // The key stays on the message, the note with it: the recovery deletes the bytes.
    expect(repo.forgetDiscardedMedia).not.toHaveBeenCalled();
    expect(repo.clearStatusEffects).not.toHaveBeenCalled();
  });

  it('finishes, on replay, the discard a crash cut off after the mark: deletes the bytes and drops the key', async () => {
    const marked = { mimetype: 'image/png', storageKey: 'k2', downloadStatus: 'discarded' };
    await service.replayEffects(
      message('failed', {
        type: 'image',
        media: marked as never,
        failedAt: new Date(7),
        statusEffectsAt: new Date(9),
      }),
    );
    expect(media.delete).toHaveBeenCalledWith('k2');
    expect(repo.forgetDiscardedMedia).toHaveBeenCalledWith('m1', 'k2');
    expect(emitAsync).toHaveBeenCalledWith(
      MESSAGING_EVENTS.statusChanged,
      expect.objectContaining({
        message: expect.objectContaining({
          media: { mimetype: 'image/png', downloadStatus: 'discarded' },
        }),
      }),
    );
    expect(repo.clearStatusEffects).toHaveBeenCalledWith('m1', new Date(9));

    // Discarded long ago (its key dropped): nothing left to delete.
    vi.clearAllMocks();
    await service.replayEffects(
      message('failed', {
        type: 'image',
        media: { mimetype: 'image/png', downloadStatus: 'discarded' } as never,
      }),
    );
    expect(media.delete).not.toHaveBeenCalled();
  });

  it('keeps the note when an effect throws, for the recovery to replay', async () => {
    repo.advanceStatus.mockResolvedValueOnce({
      before: message('sent'),
      after: message('delivered', { statusEffectsAt: new Date(9) }),
    });
    emitAsync.mockRejectedValueOnce(new Error('stats down'));
    await expect(service.applyReceipt('s1', 'WA1', 'delivered', new Date(5))).rejects.toThrow();
    expect(repo.clearStatusEffects).not.toHaveBeenCalled();
  });

  it('replays the effects of the status a message has, at the time it reached it', async () => {
    const readAt = new Date(42);
    await service.replayEffects(message('read', { readAt, statusEffectsAt: new Date(50) }));
    expect(emitAsync).toHaveBeenCalledWith(
      MESSAGING_EVENTS.statusChanged,
      expect.objectContaining({ status: 'read', at: readAt }),
    );
    expect(repo.clearStatusEffects).toHaveBeenCalledWith('m1', new Date(50));
  });

  it('moves only our own messages by receipts (one naming a received message changes nothing)', async () => {
    repo.advanceStatus.mockResolvedValue(null);
    repo.findByWaId.mockResolvedValue(message('delivered', { direction: 'in', fromMe: false }));
    await service.applyReceipt('s1', 'WA9', 'read', new Date(5));
    await service.applyReceipt('s1', 'WA9', 'played', new Date(5));
    for (const [filter] of repo.advanceStatus.mock.calls)
      expect(filter).toMatchObject({ sessionId: 's1', waMessageId: 'WA9', direction: 'out' });
    expect(repo.advanceStatus).toHaveBeenCalledTimes(3); // read; played, then read for a text
    expect(emitAsync).not.toHaveBeenCalled();
    repo.advanceStatus.mockReset();
    repo.findByWaId.mockReset();
  });

  it('ignores a late receipt for a message that is already further along', async () => {
    repo.advanceStatus.mockResolvedValueOnce(null);
    repo.findByWaId.mockResolvedValueOnce(message('read', { waMessageId: 'WA1' }));
    await service.applyReceipt('s1', 'WA1', 'delivered', new Date(5));
    expect(emitAsync).not.toHaveBeenCalled();
  });

  it('applies a receipt whose message was marked sent between its update and the look-up', async () => {
    // The update found no message with that id; the send's bookkeeping landed right after.
    repo.advanceStatus.mockResolvedValueOnce(null).mockResolvedValueOnce({
      before: message('sent', { waMessageId: 'WA3' }),
      after: message('delivered', { waMessageId: 'WA3' }),
    });
    repo.findByWaId.mockResolvedValueOnce(message('sent', { waMessageId: 'WA3' }));
    await service.applyReceipt('s1', 'WA3', 'delivered', new Date(8));
    expect(repo.advanceStatus).toHaveBeenCalledTimes(2);
    expect(emitAsync.mock.calls.map((c) => c[1].status)).toEqual(['delivered']);
  });

  it('keeps a receipt that beats the send bookkeeping and applies it once the id is known', async () => {
    repo.advanceStatus.mockResolvedValueOnce(null);
    repo.findByWaId.mockResolvedValueOnce(null);
    await service.applyReceipt('s1', 'WA2', 'delivered', new Date(7));
    expect(emitAsync).not.toHaveBeenCalled();

    repo.markSent.mockResolvedValueOnce({
      before: message('pending'),
      after: message('sent', { waMessageId: 'WA2' }),
    });
    repo.advanceStatus.mockResolvedValueOnce({
      before: message('sent'),
      after: message('delivered'),
    });
    await service.markSent(message('pending'), 'WA2', new Date(6));
    expect(repo.advanceStatus).toHaveBeenLastCalledWith(
      { sessionId: 's1', waMessageId: 'WA2', direction: 'out' },
      'delivered',
      new Date(7),
      {},
    );
    expect(emitAsync.mock.calls.map((c) => c[1].status)).toEqual(['sent', 'delivered']);
  });

  it('leaves a receipt that beats its message to whichever instance stores the message (a restart, recovery elsewhere)', async () => {
    repo.advanceStatus.mockResolvedValueOnce(null);
    repo.findByWaId.mockResolvedValueOnce(null);
    await service.applyReceipt('s1', 'WA4', 'read', new Date(9));

    // Another process over the same database stores the message typed on the phone.
    const elsewhere = new MessageStatusService(
      repo as unknown as MessagesRepository,
      early,
      counts as unknown as ChatCountsService,
      { emitAsync } as unknown as EventEmitter2,
      media as unknown as MediaStorage,
    );
    repo.advanceStatus.mockResolvedValueOnce({
      before: message('sent'),
      after: message('read', { waMessageId: 'WA4' }),
    });
    await elsewhere.applyEarlyReceipts('s1', ['WA4']);
    expect(repo.advanceStatus).toHaveBeenLastCalledWith(
      { sessionId: 's1', waMessageId: 'WA4', direction: 'out' },
      'read',
      new Date(9),
      {},
    );
    // Applied once: forgotten.
    await elsewhere.applyEarlyReceipts('s1', ['WA4']);
    expect(repo.advanceStatus).toHaveBeenCalledTimes(2);
  });

  it('applies a receipt at once whose message was stored between its look-up and its hold', async () => {
    repo.advanceStatus.mockResolvedValueOnce(null).mockResolvedValueOnce({
      before: message('sent'),
      after: message('delivered', { waMessageId: 'WA5' }),
    });
    // Not there at the look-up; stored (its early receipts looked for) before the hold landed.
    repo.findByWaId
      .mockResolvedValueOnce(null)
      .mockResolvedValueOnce(message('sent', { waMessageId: 'WA5' }));
    await service.applyReceipt('s1', 'WA5', 'delivered', new Date(10));
    expect(emitAsync.mock.calls.map((c) => c[1].status)).toEqual(['delivered']);
    expect(await early.findOf('s1', ['WA5'])).toEqual([]);
  });

  it('keeps the early receipts not applied yet when one of them fails, for the retry of the bookkeeping', async () => {
    try {
      // Delivered, then read, both before the send's id was stored.
      repo.advanceStatus.mockResolvedValue(null);
      repo.findByWaId.mockResolvedValue(null);
      await service.applyReceipt('s1', 'WA3', 'delivered', new Date(7));
      await service.applyReceipt('s1', 'WA3', 'read', new Date(8));

      // The message as stored: receipts move it forward only.
      let stored: MessageStatus = 'pending';
      const order: MessageStatus[] = ['pending', 'sent', 'delivered', 'read'];
      repo.markSent.mockImplementation(async () => {
        if (stored !== 'pending') return null;
        stored = 'sent';
        return { before: message('pending'), after: message('sent', { waMessageId: 'WA3' }) };
      });
      repo.advanceStatus.mockImplementation(async (_filter, status: MessageStatus) => {
        if (order.indexOf(status) <= order.indexOf(stored)) return null;
        const before = message(stored);
        stored = status;
        return { before, after: message(status, { waMessageId: 'WA3' }) };
      });
      // The event of `delivered` is not written (a database blip): the bookkeeping fails.
      emitAsync
        .mockResolvedValueOnce([])
        .mockRejectedValueOnce(new Error('connection reset while storing the event'));
      await expect(service.markSent(message('pending'), 'WA3', new Date(6))).rejects.toThrow();
      expect(stored).toBe('delivered');

      // The outbox records the sent message again once the database answers.
      await service.markSent(message('pending'), 'WA3', new Date(6));
      expect(stored).toBe('read');
    } finally {
      repo.markSent.mockReset();
      repo.advanceStatus.mockReset();
      repo.findByWaId.mockReset();
    }
  });
});

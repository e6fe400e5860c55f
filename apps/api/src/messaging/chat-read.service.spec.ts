import type { EventEmitter2 } from '@nestjs/event-emitter';
import { MongoNetworkError } from 'mongodb';
import type { WaMessagesReadElsewhereEvent } from '@app/whatsapp';
import type { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import type { ChatCountsService } from './chat-counts.service';
import { ChatReadService } from './chat-read.service';
import type { ChatsRepository } from './chats.repository';
import type { InboundIngestService } from './inbound-ingest.service';
import type { MessagesRepository } from './messages.repository';
import type { ReadReceiptDispatcher } from './read-receipt-dispatcher';

describe('ChatReadService.markRead', () => {
  it('marks every unread message of a chat in one request, a page at a time', async () => {
    let unread = Array.from({ length: 10_010 }, (_, i) => `m${i}`);
    const pages: number[] = [];
    const messages = {
      unreadIdsOf: async (_scope: unknown, limit: number) => unread.slice(0, limit),
      markReadByUs: async (ids: string[]) => {
        pages.push(ids.length);
        unread = unread.filter((id) => !ids.includes(id));
        return ids.length;
      },
    } as unknown as MessagesRepository;
    const chat = { chatJid: '201@s.whatsapp.net', unreadCount: 10_010 };
    const service = new ChatReadService(
      {
        getOwned: async () => ({ sessionId: 's1', status: 'connected' }),
      } as unknown as WhatsAppSessionsService,
      messages,
      { findOne: async () => chat } as unknown as ChatsRepository,
      {
        recount: async () => ({ ...chat, unreadCount: unread.length }),
      } as unknown as ChatCountsService,
      { kick: () => undefined } as unknown as ReadReceiptDispatcher,
      {} as InboundIngestService,
      { emitAsync: async () => [] } as unknown as EventEmitter2,
    );
    const result = await service.markRead('org', 'main', '201');
    expect(result.marked).toBe(10_010);
    expect(pages).toEqual([5_000, 5_000, 10]);
    expect(result.chat.unreadCount).toBe(0);
  });
});

/** The service as the phone's reads use it: one chat of 201, with `unread` before the read. */
function phoneReadService(messages: MessagesRepository, unread: number): ChatReadService {
  const chat = { chatJid: '201@s.whatsapp.net', unreadCount: 0 };
  return new ChatReadService(
    {} as WhatsAppSessionsService,
    messages,
    { findOfSession: async () => ({ ...chat, unreadCount: unread }) } as unknown as ChatsRepository,
    { recount: async () => chat } as unknown as ChatCountsService,
    {} as ReadReceiptDispatcher,
    { settled: async () => undefined } as unknown as InboundIngestService,
    { emitAsync: async () => [] } as unknown as EventEmitter2,
  );
}

describe('ChatReadService.onReadElsewhere', () => {
  it('waits out a database outage instead of losing what the phone read (WhatsApp does not tell again)', async () => {
    const marked: string[][] = [];
    const messages = {
      chatsWithUnread: vi
        .fn()
        .mockRejectedValueOnce(new MongoNetworkError('connection 7 closed'))
        .mockResolvedValue(['201@s.whatsapp.net']),
      markReadElsewhere: async (_scope: unknown, ids: string[]) => {
        marked.push(ids);
        return ids.length;
      },
    } as unknown as MessagesRepository;
    const service = phoneReadService(messages, 2);
    await service.onReadElsewhere({
      sessionId: 's1',
      chatJid: '201@s.whatsapp.net',
      waMessageIds: ['w1', 'w2'],
      at: new Date(),
    } as WaMessagesReadElsewhereEvent);
    expect(messages.chatsWithUnread).toHaveBeenCalledTimes(2);
    expect(marked).toEqual([['w1', 'w2']]);
  });
});

describe('ChatReadService.onReadElsewhere during an outage', () => {
  it('holds what the phone read as one pending write per session, each message with the time of its first read', async () => {
    // The database does not answer: a read waits until it does (the driver's server selection).
    let answer!: () => void;
    const back = new Promise<void>((resolve) => (answer = resolve));
    let waiting = 0;
    let mostWaiting = 0;
    const readAt = new Map<string, number>();
    const messages = {
      chatsWithUnread: async () => {
        mostWaiting = Math.max(mostWaiting, ++waiting);
        await back;
        waiting--;
        return ['201@s.whatsapp.net'];
      },
      // Only messages still unread move (a message read once keeps its time).
      markReadElsewhere: async (_scope: unknown, ids: string[], at: Date) => {
        const fresh = ids.filter((id) => !readAt.has(id));
        for (const id of fresh) readAt.set(id, at.getTime());
        return fresh.length;
      },
    } as unknown as MessagesRepository;
    const service = phoneReadService(messages, 0);
    // The phone reads a busy chat message by message, each receipt naming the previous one again.
    const read = (i: number) =>
      service.onReadElsewhere({
        sessionId: 's1',
        chatJid: '201@s.whatsapp.net',
        waMessageIds: i ? [`w${i}`, `w${i - 1}`] : ['w0'],
        at: new Date(1_000 + i),
      } as WaMessagesReadElsewhereEvent);
    const reads = Array.from({ length: 300 }, (_, i) => read(i));
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(mostWaiting).toBeLessThanOrEqual(1);

    answer();
    await Promise.all(reads);
    // What applying the receipts one by one would store: each message read when first named.
    expect([...readAt]).toEqual(Array.from({ length: 300 }, (_, i) => [`w${i}`, 1_000 + i]));
  });
});

describe('ChatReadService at shutdown', () => {
  it('lets what the phone read, held through an outage, land before the connection closes when the database is back', async () => {
    const marked: string[][] = [];
    let failed!: () => void;
    const firstTry = new Promise<void>((resolve) => (failed = resolve));
    const messages = {
      // The outage, then the database answers again (while the read waits out its backoff).
      chatsWithUnread: vi
        .fn()
        .mockImplementationOnce(async () => {
          failed();
          throw new MongoNetworkError('connection 7 closed');
        })
        .mockResolvedValue(['201@s.whatsapp.net']),
      markReadElsewhere: async (_scope: unknown, ids: string[]) => {
        marked.push(ids);
        return ids.length;
      },
    } as unknown as MessagesRepository;
    const service = phoneReadService(messages, 1);
    void service.onReadElsewhere({
      sessionId: 's1',
      chatJid: '201@s.whatsapp.net',
      waMessageIds: ['w1'],
      at: new Date(),
    } as WaMessagesReadElsewhereEvent);
    await firstTry;
    // Its failure handled: the read waits out its backoff.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));

    await service.beforeApplicationShutdown();
    expect(marked).toEqual([['w1']]);
  });
});

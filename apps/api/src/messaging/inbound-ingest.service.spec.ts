import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MongoNetworkError } from 'mongodb';
import type { WaMessageReceivedEvent, WaMessageStatusEvent } from '@app/whatsapp';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import { ChatCountsService } from './chat-counts.service';
import { ChatsRepository } from './chats.repository';
import { InboundIngestService } from './inbound-ingest.service';
import { MediaDownloadService } from './media-download.service';
import { MessageCreationService } from './message-creation.service';
import { MessageCreationsRepository } from './message-creations.repository';
import { MessageStatusService } from './message-status.service';
import { MessagesRepository, newMessageId, type NewMessage } from './messages.repository';
import { OutboxDispatcher } from './outbox-dispatcher';

const event = (waMessageId: string, over: Partial<WaMessageReceivedEvent['message']> = {}) =>
  ({
    organizationId: 'org1',
    sessionId: 'org1_main',
    sessionName: 'main',
    message: {
      waMessageId,
      chatJid: '201001234567@s.whatsapp.net',
      senderJid: '201001234567@s.whatsapp.net',
      fromMe: false,
      timestamp: new Date('2026-01-05T10:00:00Z'),
      type: 'text',
      text: waMessageId,
      ...over,
    },
  }) as WaMessageReceivedEvent;

const receipt = (waMessageId: string, status: WaMessageStatusEvent['status'], at: number) =>
  ({
    organizationId: 'org1',
    sessionId: 'org1_main',
    sessionName: 'main',
    waMessageId,
    chatJid: '201001234567@s.whatsapp.net',
    status,
    at: new Date(at),
  }) as WaMessageStatusEvent;

const record = (doc: NewMessage) => ({ ...doc, _id: `id-${doc.waMessageId}` });

describe('InboundIngestService', () => {
  const messages = {
    insertManyOnce: vi.fn(),
    insertOnce: vi.fn(),
    setFields: vi.fn(),
    applyEdit: vi.fn(),
    findByIds: vi.fn(),
    findChangesOf: vi.fn(),
    findByWaId: vi.fn(),
    findOne: vi.fn(),
  };
  const notes = { open: vi.fn(), close: vi.fn(), hold: vi.fn() };
  const chats = { refreshSnapshot: vi.fn() };
  const counts = { record: vi.fn(), recount: vi.fn() };
  const status = { emitCreated: vi.fn(), applyReceipt: vi.fn(), applyEarlyReceipts: vi.fn() };
  const sessions = { touchActivity: vi.fn() };
  const dispatcher = { sendsSettled: vi.fn(), sentHere: vi.fn() };
  let ingest: InboundIngestService;
  let creation: MessageCreationService;

  /** Notes are opened as note1, note2… (one per stored batch). */
  function numberNotes() {
    let n = 0;
    notes.open.mockImplementation(async (sessionId: string, messageIds: string[]) => ({
      id: `note${++n}`,
      sessionId,
      messageIds,
    }));
  }

  /** Stores a message whose effects then wait at their chat write until `release`. */
  async function storeWithEffectsHeld(id: string) {
    messages.insertManyOnce.mockImplementation(async (docs: NewMessage[]) => docs.map(record));
    let release!: () => void;
    counts.record.mockImplementationOnce(() => new Promise<void>((r) => (release = r)));
    const first = ingest.onMessage(event(id));
    await vi.waitFor(() => expect(counts.record).toHaveBeenCalledTimes(1));
    return { first, release };
  }

  beforeEach(async () => {
    vi.resetAllMocks();
    notes.open.mockImplementation(async (sessionId: string, messageIds: string[]) => ({
      id: 'note1',
      sessionId,
      messageIds,
    }));
    notes.close.mockResolvedValue(undefined);
    notes.hold.mockResolvedValue(undefined);
    messages.findChangesOf.mockResolvedValue([]);
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const moduleRef = await Test.createTestingModule({
      providers: [
        InboundIngestService,
        MessageCreationService,
        { provide: MessageCreationsRepository, useValue: notes },
        { provide: MessagesRepository, useValue: messages },
        { provide: ChatsRepository, useValue: chats },
        { provide: ChatCountsService, useValue: counts },
        { provide: MessageStatusService, useValue: status },
        { provide: MediaDownloadService, useValue: { schedule: vi.fn() } },
        { provide: WhatsAppSessionsService, useValue: sessions },
        { provide: OutboxDispatcher, useValue: dispatcher },
      ],
    }).compile();
    ingest = moduleRef.get(InboundIngestService);
    creation = moduleRef.get(MessageCreationService);
  });

  it('dates a message from a sender whose clock is ahead no later than its arrival', async () => {
    messages.insertManyOnce.mockImplementation(async (docs: NewMessage[]) => docs.map(record));
    const before = Date.now();
    await ingest.onMessage(event('future', { timestamp: new Date('2030-01-01T00:00:00Z') }));
    await ingest.onMessage(event('past', { timestamp: new Date('2026-01-05T10:00:00Z') }));
    const [[[future]], [[past]]] = messages.insertManyOnce.mock.calls;
    expect(future.timestamp.getTime()).toBeGreaterThanOrEqual(before);
    expect(future.timestamp.getTime()).toBeLessThanOrEqual(Date.now());
    // Long after its second (offline queue, history): that second's last millisecond.
    expect(past.timestamp).toEqual(new Date('2026-01-05T10:00:00.999Z'));
  });

  it('dates a message that arrives within the second WhatsApp stamped at its arrival', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      messages.insertManyOnce.mockImplementation(async (docs: NewMessage[]) => docs.map(record));
      // Our "Question?" was accepted at :35.035; the customer's answer is stamped :35 by WhatsApp.
      vi.setSystemTime(new Date('2026-01-05T10:00:35.420Z'));
      await ingest.onMessage(event('answer', { timestamp: new Date('2026-01-05T10:00:35Z') }));
      const [[[answer]]] = messages.insertManyOnce.mock.calls;
      expect(answer.timestamp).toEqual(new Date('2026-01-05T10:00:35.420Z'));
    } finally {
      vi.useRealTimers();
    }
  });

  /** The first insert waits until `release()`: later messages queue behind a busy store. */
  const storeBusyOnce = () => {
    let release!: () => void;
    const busy = new Promise<void>((resolve) => (release = resolve));
    messages.insertManyOnce
      .mockImplementationOnce(async (docs: NewMessage[]) => {
        await busy;
        return docs.map(record);
      })
      .mockImplementation(async (docs: NewMessage[]) => docs.map(record));
    return release;
  };

  it('dates a message by its arrival, not by when a busy store gets to it', async () => {
    const release = storeBusyOnce();
    // Stamped ahead of our clock, so only the arrival dates it.
    const ahead = new Date(Date.now() + 60_000);
    const first = ingest.onMessage(event('first', { timestamp: ahead }));
    await new Promise((r) => setTimeout(r, 5));
    const arrived = Date.now();
    const second = ingest.onMessage(event('second', { timestamp: ahead }));
    await new Promise((r) => setTimeout(r, 50));
    release();
    await Promise.all([first, second]);
    const [, [[late]]] = messages.insertManyOnce.mock.calls;
    expect(late.timestamp.getTime()).toBeGreaterThanOrEqual(arrived);
    expect(late.timestamp.getTime()).toBeLessThan(arrived + 40);
  });

  it('gives a message its id on arrival: a send accepted while it waits for a busy store sorts after it', async () => {
    const release = storeBusyOnce();
    const first = ingest.onMessage(event('first'));
    await new Promise((r) => setTimeout(r, 5));
    const second = ingest.onMessage(event('question')); // waits behind the busy batch
    const sendAcceptedMeanwhile = newMessageId();
    release();
    await Promise.all([first, second]);
    const [, [[question]]] = messages.insertManyOnce.mock.calls;
    expect(question._id! < sendAcceptedMeanwhile).toBe(true);
  });

  it('stores a synchronous burst in one batch and announces only the new messages', async () => {
    messages.insertManyOnce.mockImplementation(async (docs: NewMessage[]) =>
      docs.filter((d) => d.waMessageId !== 'dup').map(record),
    );
    await Promise.all(['a', 'dup', 'b'].map((id) => ingest.onMessage(event(id))));
    expect(messages.insertManyOnce).toHaveBeenCalledTimes(1);
    const created = status.emitCreated.mock.calls[0][1];
    expect(created.map((m: { waMessageId: string }) => m.waMessageId)).toEqual(['a', 'b']);
    expect(counts.record).toHaveBeenCalledWith(created);
    expect(sessions.touchActivity).toHaveBeenCalledTimes(1);
    expect(dispatcher.sendsSettled).not.toHaveBeenCalled(); // no fromMe in the batch
  });

  it('falls back to one by one when the bulk insert fails, so one bad message loses no other', async () => {
    messages.insertManyOnce.mockRejectedValue(new Error('validation failed'));
    messages.insertOnce.mockImplementation(async (doc: NewMessage) => {
      if (doc.waMessageId === 'bad') throw new Error('bad document');
      return { record: record(doc), created: doc.waMessageId !== 'old' };
    });
    await Promise.all(['a', 'bad', 'old', 'b'].map((id) => ingest.onMessage(event(id))));
    expect(messages.insertOnce).toHaveBeenCalledTimes(4);
    const created = status.emitCreated.mock.calls[0][1];
    expect(created.map((m: { waMessageId: string }) => m.waMessageId)).toEqual(['a', 'b']);
  });

  it('one by one, waits out an insert whose answer the connection lost: the message stored is not dropped and gets its effects', async () => {
    messages.insertManyOnce.mockRejectedValue(new Error('validation failed'));
    const stored = new Map<string, NewMessage>();
    let answerLost = true;
    messages.insertOnce.mockImplementation(async (doc: NewMessage) => {
      if (doc.waMessageId === 'bad') throw new Error('bad document');
      const earlier = stored.get(doc.waMessageId!);
      if (earlier) return { record: { ...earlier }, created: false };
      stored.set(doc.waMessageId!, doc);
      if (doc.waMessageId === 'b' && answerLost) {
        answerLost = false;
        throw new MongoNetworkError('connection reset');
      }
      return { record: { ...doc }, created: true };
    });
    await Promise.all(['a', 'bad', 'b'].map((id) => ingest.onMessage(event(id))));
    const created = status.emitCreated.mock.calls[0][1];
    expect(created.map((m: { waMessageId: string }) => m.waMessageId)).toEqual(['a', 'b']);
    expect(notes.close).toHaveBeenCalledWith(['note1']);
  });

  it('counts as new a message the failed bulk insert had stored before failing (same id)', async () => {
    const storedByBulk = new Map<string, NewMessage>();
    messages.insertManyOnce.mockImplementation(async (docs: NewMessage[]) => {
      storedByBulk.set(docs[0].waMessageId!, docs[0]); // the first landed, then the connection dropped
      throw new Error('connection reset');
    });
    // Stored as given, id included (the id the ingest assigned before the bulk attempt).
    const asStored = (doc: NewMessage) => ({ ...doc });
    messages.insertOnce.mockImplementation(async (doc: NewMessage) => {
      const earlier = storedByBulk.get(doc.waMessageId!);
      return earlier
        ? { record: asStored(earlier), created: false }
        : { record: asStored(doc), created: true };
    });
    await Promise.all(['a', 'b'].map((id) => ingest.onMessage(event(id))));
    const created = status.emitCreated.mock.calls[0][1];
    expect(created.map((m: { waMessageId: string }) => m.waMessageId)).toEqual(['a', 'b']);
  });

  it('waits for in-flight sends before a batch holding an echo of our own message', async () => {
    messages.insertManyOnce.mockImplementation(async (docs: NewMessage[]) => docs.map(record));
    await ingest.onMessage(event('echo', { fromMe: true }));
    expect(dispatcher.sendsSettled).toHaveBeenCalledWith('org1_main');
    expect(messages.insertManyOnce.mock.calls[0][0][0]).toMatchObject({
      direction: 'out',
      status: 'sent',
    });
  });

  it('applies an edit in the batch to its target and logs a failed batch once', async () => {
    messages.insertManyOnce.mockImplementation(async (docs: NewMessage[]) => docs.map(record));
    const target = { _id: 'id-a', waMessageId: 'a', editedText: 'fixed' };
    messages.findOne.mockResolvedValue(target);
    await ingest.onMessage(event('e1', { type: 'edit', targetId: 'a', editedText: 'fixed' }));
    // Only the peer's own message in this chat: nobody edits another's message.
    const theirs = {
      sessionId: 'org1_main',
      waMessageId: 'a',
      chatJid: { $in: ['201001234567@s.whatsapp.net'] },
      fromMe: false,
    };
    // Its time as stored: it came long after WhatsApp's second, so that second's end.
    expect(messages.applyEdit).toHaveBeenCalledWith(
      theirs,
      'fixed',
      new Date('2026-01-05T10:00:00.999Z'),
    );
    expect(messages.findOne).toHaveBeenCalledWith(theirs);
    // The target as stored after the edit is what its chat's last message shows.
    expect(chats.refreshSnapshot).toHaveBeenCalledWith(target);

    counts.record.mockRejectedValue(new Error('db down'));
    const error = vi.spyOn(Logger.prototype, 'error');
    await Promise.all(['x', 'y'].map((id) => ingest.onMessage(event(id))));
    expect(error).toHaveBeenCalledTimes(1);
  });

  it('applies the edits of the batch and the stored ones that came before their target, each with its time', async () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 5, 10, 0, s));
    messages.insertManyOnce.mockImplementation(async (docs: NewMessage[]) => docs);
    // An edit stored earlier (it arrived before the message), and a later one in this batch.
    messages.findChangesOf.mockResolvedValue([
      {
        ...event('e1').message,
        _id: 'e1',
        sessionId: 'org1_main',
        type: 'edit',
        targetId: 'orig',
        editedText: 'first',
        timestamp: at(1),
      },
    ]);
    await Promise.all([
      ingest.onMessage(
        event('e2', { type: 'edit', targetId: 'orig', editedText: 'second', timestamp: at(2) }),
      ),
      ingest.onMessage(event('orig', { timestamp: at(0) })),
    ]);
    expect(messages.findChangesOf).toHaveBeenCalledWith('org1_main', ['orig']);
    // The store keeps the newest (applyEdit is conditional on editedAt), whatever the order here.
    expect(messages.applyEdit.mock.calls).toEqual(
      expect.arrayContaining([
        [expect.objectContaining({ waMessageId: 'orig' }), 'first', at(1)],
        // Stored now (long after its second): dated at that second's end.
        [
          expect.objectContaining({ waMessageId: 'orig' }),
          'second',
          new Date(at(2).getTime() + 999),
        ],
      ]),
    );
    expect(messages.applyEdit).toHaveBeenCalledTimes(2);
  });

  it('holds the receipts of a database outage as one write per message and status, not one per receipt', async () => {
    // The database does not answer: a write waits until it does (the driver's server selection).
    let answer!: () => void;
    const back = new Promise<void>((resolve) => (answer = resolve));
    let waiting = 0;
    let mostWaiting = 0;
    const applied: Array<[string, string, number]> = [];
    status.applyReceipt.mockImplementation(
      async (_sessionId: string, waMessageId: string, to: string, at: Date) => {
        mostWaiting = Math.max(mostWaiting, ++waiting);
        await back;
        waiting--;
        applied.push([waMessageId, to, at.getTime()]);
      },
    );
    // A busy number: 3 messages, each delivered to, then read by, many group members (or
    // WhatsApp repeating itself), 300 receipts in all.
    const steps = ['delivered', 'read', 'delivered', 'played', 'read'] as const;
    for (let i = 0; i < 300; i++)
      void ingest.onStatus(receipt(`WA${i % 3}`, steps[Math.min(Math.floor(i / 3), 4) % 5], i));
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(mostWaiting).toBeLessThanOrEqual(3);

    answer();
    await ingest.receiptsSettled('org1_main');
    // What applying them one by one, in order, would change: the first delivered, the first read
    // after it, then the first played (each with its own time); the rest changes nothing.
    const byMessage = [...applied].sort(([a], [b]) => a.localeCompare(b)); // stable
    expect(byMessage).toEqual(
      [0, 1, 2].flatMap((m) => [
        [`WA${m}`, 'delivered', m],
        [`WA${m}`, 'read', 3 + m],
        [`WA${m}`, 'played', 9 + m],
      ]),
    );
  });

  it("drops WhatsApp's ack of a send made here (its record says sent), not its later receipts nor other acks", async () => {
    dispatcher.sentHere.mockImplementation((_sessionId: string, id: string) => id === 'WA-OURS');
    await ingest.onStatus(receipt('WA-OURS', 'sent', 1));
    await ingest.onStatus(receipt('WA-OURS', 'delivered', 2));
    // A message typed on the phone is acknowledged too, and only the ack says it went out.
    await ingest.onStatus(receipt('WA-PHONE', 'sent', 3));
    await ingest.receiptsSettled('org1_main');
    expect(status.applyReceipt.mock.calls.map(([, id, to]) => `${id} ${to}`).sort()).toEqual([
      'WA-OURS delivered',
      'WA-PHONE sent',
    ]);
  });

  it('notes the ids before the insert and closes the note after every effect ran', async () => {
    const order: string[] = [];
    notes.open.mockImplementation(async (sessionId: string, messageIds: string[]) => {
      order.push('open');
      return { id: 'note1', sessionId, messageIds };
    });
    messages.insertManyOnce.mockImplementation(
      async (docs: Array<NewMessage & { _id: string }>) => {
        order.push('insert');
        expect(docs.map((d) => d._id)).toEqual(notes.open.mock.calls[0][1]);
        return docs;
      },
    );
    status.emitCreated.mockImplementation(async () => order.push('announce'));
    notes.close.mockImplementation(async () => order.push('close'));
    await ingest.onMessage(event('a'));
    expect(order).toEqual(['open', 'insert', 'announce', 'close']);
    expect(notes.close).toHaveBeenCalledWith(['note1']);
  });

  it('stores later messages while the effects of earlier ones still run, and holds their notes', async () => {
    numberNotes();
    const { first, release } = await storeWithEffectsHeld('a');
    // The effects of 'a' are stuck; 'b' and 'c' are stored all the same (a crash now loses neither).
    const later = [ingest.onMessage(event('b')), ingest.onMessage(event('c'))];
    await vi.waitFor(() => expect(messages.insertManyOnce).toHaveBeenCalledTimes(2));
    expect(messages.insertManyOnce.mock.calls[1][0].map((d: NewMessage) => d.waMessageId)).toEqual([
      'b',
      'c',
    ]);
    // Their notes wait for the effects: recovery must not take them for a crash's meanwhile.
    await ingest['holdWaitingNotes']();
    expect(notes.hold).toHaveBeenCalledWith(['note1', 'note2'], 30_000);
    release();
    await Promise.all([first, ...later]);
    expect(counts.record.mock.calls[1][0].map((m: NewMessage) => m.waMessageId)).toEqual([
      'b',
      'c',
    ]);
    expect(notes.close.mock.calls).toEqual([[['note1']], [['note2']]]);
    notes.hold.mockClear();
    await ingest['holdWaitingNotes']();
    expect(notes.hold).not.toHaveBeenCalled();
  });

  it('looks up the changes stored before their targets while the chat is written', async () => {
    const { first: done, release } = await storeWithEffectsHeld('a');
    // The chat write is still under way: the read for earlier edits and revokes is not behind it.
    await vi.waitFor(() => expect(messages.findChangesOf).toHaveBeenCalledWith('org1_main', ['a']));
    expect(status.emitCreated).not.toHaveBeenCalled();
    release();
    await done;
    expect(status.emitCreated).toHaveBeenCalledTimes(1);
  });

  it('closes the notes of the batches one run of the effects took in one write', async () => {
    numberNotes();
    const { first, release } = await storeWithEffectsHeld('a');
    // Two more batches are stored while the effects of 'a' are stuck: one run takes both.
    const b = ingest.onMessage(event('b'));
    await vi.waitFor(() => expect(messages.insertManyOnce).toHaveBeenCalledTimes(2));
    const c = ingest.onMessage(event('c'));
    await vi.waitFor(() => expect(messages.insertManyOnce).toHaveBeenCalledTimes(3));
    release();
    await Promise.all([first, b, c]);
    expect(counts.record).toHaveBeenCalledTimes(2);
    expect(notes.close.mock.calls).toEqual([[['note1']], [['note2', 'note3']]]);
  });

  it('leaves the note open when an effect fails, for recovery to replay', async () => {
    messages.insertManyOnce.mockImplementation(async (docs: NewMessage[]) => docs);
    status.emitCreated.mockRejectedValue(new Error('db down'));
    await ingest.onMessage(event('a'));
    expect(notes.close).not.toHaveBeenCalled();
  });

  it('applies the early receipts of our message typed on the phone once recovery replays its failed effects', async () => {
    // WhatsApp said delivered before Baileys handed the message over: held by MessageStatusService.
    messages.insertManyOnce.mockImplementation(async (docs: NewMessage[]) => docs.map(record));
    status.emitCreated.mockRejectedValueOnce(new Error('db down'));
    await ingest.onMessage(event('A1', { fromMe: true }));
    // Not announced yet, so neither is its status change: the note stays open for recovery.
    expect(status.applyEarlyReceipts).not.toHaveBeenCalled();
    expect(notes.close).not.toHaveBeenCalled();

    const [[[stored]]] = messages.insertManyOnce.mock.calls;
    messages.findByIds.mockResolvedValue([stored]);
    const note = await notes.open.mock.results[0].value;
    // The receipts fail too (the database is still away): the note stays open for the next pass.
    status.applyEarlyReceipts.mockRejectedValueOnce(new Error('db down'));
    await expect(creation.replay(note)).rejects.toThrow('db down');
    expect(notes.close).not.toHaveBeenCalled();

    await creation.replay(note);
    expect(status.applyEarlyReceipts).toHaveBeenLastCalledWith('org1_main', ['A1']);
    // Announced in order: the message's creation, then its status change, then the note closes.
    expect(status.emitCreated.mock.invocationCallOrder[2]).toBeLessThan(
      status.applyEarlyReceipts.mock.invocationCallOrder[1],
    );
    expect(status.applyEarlyReceipts.mock.invocationCallOrder[1]).toBeLessThan(
      notes.close.mock.invocationCallOrder[0],
    );
  });

  it('closes the note when the insert stored nothing', async () => {
    messages.insertManyOnce.mockRejectedValue(new Error('db down'));
    messages.insertOnce.mockRejectedValue(new Error('db down'));
    await ingest.onMessage(event('a'));
    expect(status.emitCreated).not.toHaveBeenCalled();
    expect(notes.close).toHaveBeenCalledWith(['note1']);
  });

  it('replays a note: the noted messages that were stored get their effects, then it closes', async () => {
    const stored = { ...event('a').message, _id: 'm1', sessionId: 'org1_main' };
    messages.findByIds.mockResolvedValue([stored]);
    const note = { id: 'note9', sessionId: 'org1_main', messageIds: ['m1', 'm2'] };
    const replayed = await creation.replay(note);
    expect(replayed).toBe(1);
    expect(messages.findByIds).toHaveBeenCalledWith(['m1', 'm2']);
    expect(counts.record).toHaveBeenCalledWith([stored]);
    // Announced as a replay under its note, so counting listeners recount or skip what they claimed.
    expect(status.emitCreated).toHaveBeenCalledWith('org1_main', [stored], [note], true);
    expect(notes.close).toHaveBeenCalledWith(['note9']);
    // The chat's counts, which the crash may have taken already, recounted from the messages.
    expect(counts.recount).toHaveBeenCalledWith('org1_main', stored.chatJid, { messages: true });
  });
});

import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  OutageRetries,
  isTransientDatabaseError,
  KeyedBatchQueue,
  KeyedCoalescingQueue,
  logTooManyWaiting,
  normalizeJid,
} from '@app/common';
import {
  type InboundMessage,
  WA_EVENTS,
  type WaMessageStatusEvent,
  type WaMessageReceivedEvent,
} from '@app/whatsapp';
import { foldReceipt, type HeldReceipt } from './held-receipts';
import { MessageCreationService } from './message-creation.service';
import type { OpenCreation } from './message-creations.repository';
import { MessageStatusService } from './message-status.service';
import { type MessageRecord, whatsAppMessageTime } from './message.types';
import { MessagesRepository, newMessageId, type NewMessage } from './messages.repository';
import { OutboxDispatcher } from './outbox-dispatcher';

/** Largest batch of one session's messages stored in one round trip per collection. */
const MAX_INGEST_BATCH = 500;
/** Stored batches whose effects run together (small ones pile up while effects run). */
const MAX_EFFECTS_BATCHES = 8;
/** Messages of one session whose receipts are applied at the same time. */
const RECEIPT_WRITERS = 8;
/**
 * Most messages of one session with receipts waiting for the database (a 10-minute outage of a
 * busy number): a few hundred bytes each. The receipts of further messages are dropped (logged).
 */
export const MAX_HELD_RECEIPT_MESSAGES = 50_000;
/** How often the creation notes of stored batches still waiting for their effects are held. */
const HOLD_NOTES_MS = 10_000;

/**
 * A message the engine reported, when it did (its arrival dates it, see whatsAppMessageTime), and
 * its id, made then too: ids order messages within a second (chats, unread counts), so a send
 * accepted while this one waits for its batch must get a later id, as it gets a later time.
 */
interface Arrival {
  event: WaMessageReceivedEvent;
  arrivedAt: Date;
  id: string;
}

/** Messages stored by one insert, under their creation note, waiting for their effects. */
interface StoredBatch {
  note: OpenCreation;
  created: MessageRecord[];
}

/**
 * Stores every message the engine reports (received, or sent from the phone) exactly once, and
 * applies receipts. Idempotent: a redelivered event finds the unique (sessionId, waMessageId) row.
 *
 * Two stages per session, each a group commit (what arrives while a batch is in hand becomes the
 * next batch): the store (creation note, then one bulk insert) and the effects (chat, listeners,
 * activity). A message is only in memory until its store, which is quick, not until the slower
 * effects of a burst's backlog ran: a crash loses nothing the engine handed over more than one
 * insert ago, and what was stored gets its effects from the note (MessageEffectsRecovery). The
 * stages overlap, so a burst also flows faster.
 */
@Injectable()
export class InboundIngestService implements BeforeApplicationShutdown {
  private readonly log = new Logger(InboundIngestService.name);
  private readonly stores = new KeyedBatchQueue<Arrival, { effects: Promise<void> }>({
    maxBatch: MAX_INGEST_BATCH,
    process: async (sessionId, arrivals) => {
      let effects = Promise.resolve();
      try {
        const stored = await this.store(sessionId, arrivals);
        if (stored) effects = this.effects.push(sessionId, stored);
      } catch (err) {
        // Logged once per batch; the engine's events are not retried from here (see insertNew).
        this.log.error({ err, sessionId, count: arrivals.length }, 'Failed to ingest messages');
      }
      return arrivals.map(() => ({ effects }));
    },
  });
  private readonly effects = new KeyedBatchQueue<StoredBatch>({
    maxBatch: MAX_EFFECTS_BATCHES,
    process: async (sessionId, batches) => {
      try {
        const created = batches.flatMap((b) => b.created);
        // Their early receipts too: a failure leaves them, with the effects, to recovery.
        await this.creation.completeAll(
          batches.map((b) => b.note),
          created,
        );
      } catch (err) {
        // The notes stay open: recovery replays these effects.
        const count = batches.reduce((n, b) => n + b.created.length, 0);
        this.log.error({ err, sessionId, count }, 'Failed to run the effects of stored messages');
      } finally {
        for (const b of batches) this.waiting.delete(b.note);
      }
      return batches.map(() => undefined);
    },
  });
  /**
   * Receipts per session, folded per message while they wait for their round (a database outage
   * holds a round): what waits is a few receipts per message, however many came.
   */
  private readonly receipts = new KeyedCoalescingQueue<HeldReceipt, HeldReceipt[]>({
    fold: foldReceipt,
    process: (sessionId, round) => this.applyReceipts(sessionId, round),
    maxHeld: MAX_HELD_RECEIPT_MESSAGES,
    onFull: logTooManyWaiting(this.log, {
      limit: MAX_HELD_RECEIPT_MESSAGES,
      waiting: 'messages with receipts',
      dropped: 'the receipts of further messages',
    }),
  });
  /** Notes of stored batches whose effects have not run yet: held off recovery while they wait. */
  private readonly waiting = new Set<OpenCreation>();
  private readonly holdTimer = setInterval(() => void this.holdWaitingNotes(), HOLD_NOTES_MS);
  /** Stopped at shutdown: what waits is tried once more; with the database away it gives up then. */
  private readonly outage = new OutageRetries(this.log);

  constructor(
    private readonly messages: MessagesRepository,
    private readonly creation: MessageCreationService,
    private readonly status: MessageStatusService,
    private readonly dispatcher: OutboxDispatcher,
  ) {
    this.holdTimer.unref();
  }

  /** Let queued messages reach the database, and their effects run, before the connection closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.outage.stop();
    await this.stores.idle();
    await this.effects.idle();
    await this.receipts.idle();
    clearInterval(this.holdTimer);
  }

  /** Resolves once the session's messages reported so far were ingested (or their failure logged). */
  async settled(sessionId: string): Promise<void> {
    // A stored batch is handed to the effects stage before its store settles.
    await this.stores.settled(sessionId);
    await this.effects.settled(sessionId);
  }

  /** Resolves once the message was stored and its effects ran (or a failure was logged). */
  @OnEvent(WA_EVENTS.messageReceived, { async: true, promisify: true })
  async onMessage(event: WaMessageReceivedEvent): Promise<void> {
    // Dated by its arrival here, not by when its batch is written (a burst's backlog waits).
    const arrival = { event, arrivedAt: new Date(), id: newMessageId() };
    const { effects } = await this.stores.push(event.sessionId, arrival);
    await effects;
  }

  /**
   * Hands a receipt over to the session's next round of receipts (see applyReceipts), where it is
   * folded with the other receipts of its message; it holds nothing of the event. WhatsApp's ack
   * of a send made here is not: the send records `sent` itself.
   */
  @OnEvent(WA_EVENTS.messageStatus, { async: true, promisify: true })
  onStatus(event: WaMessageStatusEvent): void {
    if (event.status === 'sent' && this.dispatcher.sentHere(event.sessionId, event.waMessageId))
      return;
    this.receipts.push(event.sessionId, event.waMessageId, {
      status: event.status,
      at: new Date(event.at),
    });
  }

  /** Resolves once the session's receipts handed over so far were applied (or given up, logged). */
  receiptsSettled(sessionId: string): Promise<void> {
    return this.receipts.settled(sessionId);
  }

  /**
   * One round of a session's receipts, a few messages at a time, each message's in order. It waits
   * for the messages handed over before it: a receipt can name one (typed on the phone) whose
   * insert has not landed yet, and would find nothing. A database outage is waited out (the
   * session's next receipts are folded meanwhile); safe to run again: statuses only move forward,
   * and a change whose effects a failure cut off is replayed by MessageEffectsRecovery.
   */
  private async applyReceipts(sessionId: string, round: Map<string, HeldReceipt[]>) {
    await this.stores.settled(sessionId);
    const waiting = [...round];
    let givenUp: unknown;
    let cutOff = 0;
    const writer = async () => {
      while (!givenUp && waiting.length) {
        const [waMessageId, receipts] = waiting.shift()!;
        for (const { status, at } of receipts) {
          try {
            await this.throughOutage(
              () => this.status.applyReceipt(sessionId, waMessageId, status, at),
              sessionId,
              round.size,
            );
          } catch (err) {
            if (!isTransientDatabaseError(err)) {
              this.log.error({ err, sessionId, waMessageId }, 'Failed to apply a receipt');
              continue;
            }
            // Given up during an outage (shutdown): the rest of the round too, logged once below.
            givenUp ??= err;
            cutOff++;
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(RECEIPT_WRITERS, round.size) }, writer));
    if (givenUp)
      this.log.error(
        { err: givenUp, sessionId, count: waiting.length + cutOff },
        'Database unreachable at shutdown: giving up the receipts of messages not written',
      );
  }

  /** Stores one session's messages under a creation note; returns the ones that are new. */
  private async store(sessionId: string, arrivals: Arrival[]): Promise<StoredBatch | undefined> {
    // Our own sends come back as fromMe events: let the send store WhatsApp's id first, so the echo
    // is recognised as the same message (unique sessionId + waMessageId) rather than stored twice.
    if (arrivals.some((a) => a.event.message.fromMe)) await this.dispatcher.sendsSettled(sessionId);
    const docs = arrivals.map(({ event, arrivedAt, id }) =>
      this.toNewMessage(event, event.message, arrivedAt, id),
    );
    const note = await this.throughOutage(
      () =>
        this.creation.begin(
          sessionId,
          docs.map((d) => d._id),
        ),
      sessionId,
      docs.length,
    );
    let created: MessageRecord[];
    try {
      created = await this.insertNew(docs);
    } catch (err) {
      // Given up during an outage (shutdown): some may be stored, and the note replays them.
      if (!isTransientDatabaseError(err)) await this.creation.abandon(note);
      throw err;
    }
    this.waiting.add(note);
    return { note, created };
  }

  /** A backlog of effects can outlast recovery's grace period: its notes are not a crash's. */
  private async holdWaitingNotes(): Promise<void> {
    if (!this.waiting.size) return;
    await this.creation.hold([...this.waiting]).catch((err: unknown) => {
      this.log.warn({ err, count: this.waiting.size }, 'Could not hold creation notes');
    });
  }

  /**
   * What the engine handed over exists only here (Baileys acknowledged it to WhatsApp): while the
   * database is unreachable, the operation is tried again with backoff (the session's next
   * messages queue behind it), until it succeeds or the gateway stops.
   */
  private throughOutage<T>(
    operation: (attempt: number) => Promise<T>,
    sessionId: string,
    count: number,
  ) {
    return this.outage.run(
      operation,
      'Database unreachable: holding messages or receipts, trying again',
      { sessionId, count },
    );
  }

  /**
   * One bulk insert (waiting out an outage); if it fails for another reason than duplicates,
   * message by message, so one bad message loses no other. Ids are given up front: a message the
   * failed (unordered) bulk insert did store is then recognised as ours, not as an earlier copy,
   * and still gets its side effects.
   */
  private async insertNew(docs: Array<NewMessage & { _id: string }>): Promise<MessageRecord[]> {
    let retried = false;
    try {
      const created = await this.throughOutage(
        (attempt) => {
          retried = attempt > 1;
          return this.messages.insertManyOnce(docs);
        },
        docs[0].sessionId,
        docs.length,
      );
      if (!retried) return created;
      // An attempt the outage cut off may have stored some: those with our ids are ours.
      return await this.throughOutage(
        () => this.messages.findByIds(docs.map((d) => d._id)),
        docs[0].sessionId,
        docs.length,
      );
    } catch (err) {
      if (docs.length === 1 || isTransientDatabaseError(err)) throw err;
      this.log.warn({ err, count: docs.length }, 'Bulk insert failed; storing one by one');
      const created: MessageRecord[] = [];
      for (const doc of docs) {
        try {
          // An insert whose answer the connection lost may have stored it: tried again, it is
          // found by its id (and dropped it would be lost, or stored without its effects).
          const { record, created: isNew } = await this.throughOutage(
            () => this.messages.insertOnce(doc),
            doc.sessionId,
            1,
          );
          if (isNew || record._id === doc._id) created.push(record);
        } catch (error) {
          // Given up during an outage (shutdown): it may be stored, and the note replays it.
          if (isTransientDatabaseError(error)) throw error;
          this.log.error(
            { err: error, sessionId: doc.sessionId, waMessageId: doc.waMessageId },
            'Failed to store a message',
          );
        }
      }
      return created;
    }
  }

  private toNewMessage(
    event: WaMessageReceivedEvent,
    m: InboundMessage,
    arrivedAt: Date,
    id: string,
  ): NewMessage & { _id: string } {
    const doc: NewMessage & { _id: string } = {
      _id: id,
      organizationId: event.organizationId,
      sessionId: event.sessionId,
      sessionName: event.sessionName,
      direction: m.fromMe ? 'out' : 'in',
      chatJid: normalizeJid(m.chatJid),
      senderJid: m.senderJid ? normalizeJid(m.senderJid) : undefined,
      senderPhone: m.senderPhone,
      senderLid: m.senderLid,
      participant: m.participant,
      pushName: m.pushName,
      fromMe: m.fromMe,
      waMessageId: m.waMessageId,
      type: m.type,
      text: m.text,
      caption: m.caption,
      quotedId: m.quotedId,
      location: m.location,
      contact: m.contact,
      reaction: m.reaction,
      poll: m.poll,
      editedText: m.editedText,
      targetId: m.targetId,
      // Received messages are delivered to us; our own from the phone were sent.
      status: m.fromMe ? 'sent' : 'delivered',
      // WhatsApp's whole second, made comparable with our millisecond send times; never in the
      // future (it would stay the newest for good: chat order, contact names, stats buckets).
      // A redelivery finds the stored row and leaves its time as it is (insertManyOnce).
      timestamp: whatsAppMessageTime(m.timestamp, arrivedAt),
      waAddress: m.address,
      ...(m.isHistory ? { history: true as const } : {}),
    };
    if (m.media) {
      doc.media = {
        mimetype: m.media.mimetype,
        fileName: m.media.fileName,
        size: m.media.size,
        seconds: m.media.seconds,
        downloadStatus: 'pending',
        downloadAttempts: 0,
      };
      doc.mediaRef = m.media.ref;
    }
    return doc;
  }
}

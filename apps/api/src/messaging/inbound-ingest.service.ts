import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { KeyedBatchQueue, normalizeJid } from '@app/common';
import {
  type InboundMessage,
  WA_EVENTS,
  type WaMessageStatusEvent,
  type WaMessageReceivedEvent,
} from '@app/whatsapp';
import { MessageCreationService } from './message-creation.service';
import { MessageStatusService } from './message-status.service';
import type { MessageRecord } from './message.types';
import { MessagesRepository, newMessageId, type NewMessage } from './messages.repository';
import { OutboxDispatcher } from './outbox-dispatcher';

/** Largest batch of one session's messages stored in one round trip per collection. */
const MAX_INGEST_BATCH = 500;

/**
 * Stores every message the engine reports (received, or sent from the phone) exactly once, and
 * applies receipts. Idempotent: a redelivered event finds the unique (sessionId, waMessageId) row.
 *
 * Messages are ingested in per-session batches (group commit): what arrives while a batch is being
 * written becomes the next batch, so a burst (reconnect, offline queue) costs a few bulk writes per
 * collection instead of a dozen round trips per message, and a lone message is written at once.
 */
@Injectable()
export class InboundIngestService implements BeforeApplicationShutdown {
  private readonly log = new Logger(InboundIngestService.name);
  private readonly batches = new KeyedBatchQueue<WaMessageReceivedEvent>({
    maxBatch: MAX_INGEST_BATCH,
    process: async (sessionId, events) => {
      try {
        await this.ingestBatch(sessionId, events);
      } catch (err) {
        // Logged once per batch; the engine's events are not retried from here (see insertNew).
        this.log.error({ err, sessionId, count: events.length }, 'Failed to ingest messages');
      }
      return events.map(() => undefined);
    },
  });

  constructor(
    private readonly messages: MessagesRepository,
    private readonly creation: MessageCreationService,
    private readonly status: MessageStatusService,
    private readonly dispatcher: OutboxDispatcher,
  ) {}

  /** Let queued messages reach the database before the connection closes. */
  beforeApplicationShutdown(): Promise<void> {
    return this.batches.idle();
  }

  /** Resolves once the session's messages reported so far were ingested (or their failure logged). */
  settled(sessionId: string): Promise<void> {
    return this.batches.settled(sessionId);
  }

  /** Resolves once the message's batch was ingested (or its failure logged). */
  @OnEvent(WA_EVENTS.messageReceived, { async: true, promisify: true })
  onMessage(event: WaMessageReceivedEvent): Promise<void> {
    return this.batches.push(event.sessionId, event);
  }

  @OnEvent(WA_EVENTS.messageStatus, { async: true, promisify: true })
  async onStatus(event: WaMessageStatusEvent): Promise<void> {
    try {
      await this.handleMessageUpdate(event);
    } catch (err) {
      this.log.error(
        { err, sessionId: event.sessionId, waMessageId: event.waMessageId },
        'Failed to apply a receipt',
      );
    }
  }

  /** Stores one session's messages; what follows a first store runs for the ones that are new. */
  async ingestBatch(sessionId: string, events: WaMessageReceivedEvent[]): Promise<void> {
    // Our own sends come back as fromMe events: let the send store WhatsApp's id first, so the echo
    // is recognised as the same message (unique sessionId + waMessageId) rather than stored twice.
    if (events.some((e) => e.message.fromMe)) await this.dispatcher.sendsSettled(sessionId);
    const docs = events.map((e) => ({ ...this.toNewMessage(e, e.message), _id: newMessageId() }));
    const note = await this.creation.begin(
      sessionId,
      docs.map((d) => d._id),
    );
    let created: MessageRecord[];
    try {
      created = await this.insertNew(docs);
    } catch (err) {
      await this.creation.abandon(note);
      throw err;
    }
    await this.creation.complete(note, created);
  }

  async handleMessageUpdate(event: WaMessageStatusEvent): Promise<void> {
    await this.status.applyReceipt(
      event.sessionId,
      event.waMessageId,
      event.status,
      new Date(event.at),
    );
  }

  /**
   * One bulk insert; if it fails for another reason than duplicates, message by message, so one bad
   * message loses no other. Ids are given up front: a message the failed (unordered) bulk insert did
   * store is then recognised as ours, not as an earlier copy, and still gets its side effects.
   */
  private async insertNew(docs: Array<NewMessage & { _id: string }>): Promise<MessageRecord[]> {
    try {
      return await this.messages.insertManyOnce(docs);
    } catch (err) {
      if (docs.length === 1) throw err;
      this.log.warn({ err, count: docs.length }, 'Bulk insert failed; storing one by one');
      const created: MessageRecord[] = [];
      for (const doc of docs) {
        try {
          const { record, created: isNew } = await this.messages.insertOnce(doc);
          if (isNew || record._id === doc._id) created.push(record);
        } catch (error) {
          this.log.error(
            { err: error, sessionId: doc.sessionId, waMessageId: doc.waMessageId },
            'Failed to store a message',
          );
        }
      }
      return created;
    }
  }

  private toNewMessage(event: WaMessageReceivedEvent, m: InboundMessage): NewMessage {
    const doc: NewMessage = {
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
      timestamp: m.timestamp,
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

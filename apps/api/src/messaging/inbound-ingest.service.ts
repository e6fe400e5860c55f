import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { normalizeJid } from '@app/common';
import {
  type InboundMessage,
  WA_EVENTS,
  type WaMessageStatusEvent,
  type WaMessageReceivedEvent,
} from '@app/whatsapp';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import { ChatsRepository } from './chats.repository';
import { MediaDownloadService } from './media-download.service';
import { MessageStatusService } from './message-status.service';
import { MessagesRepository, type NewMessage } from './messages.repository';
import { OutboxDispatcher } from './outbox-dispatcher';

/**
 * Stores every message the engine reports (received, or sent from the phone) exactly once, and
 * applies receipts. Idempotent: a redelivered event finds the unique (sessionId, waMessageId) row.
 */
@Injectable()
export class InboundIngestService {
  private readonly log = new Logger(InboundIngestService.name);

  constructor(
    private readonly messages: MessagesRepository,
    private readonly chats: ChatsRepository,
    private readonly status: MessageStatusService,
    private readonly downloads: MediaDownloadService,
    private readonly sessions: WhatsAppSessionsService,
    private readonly dispatcher: OutboxDispatcher,
  ) {}

  @OnEvent(WA_EVENTS.messageReceived, { async: true, promisify: true })
  async onMessage(event: WaMessageReceivedEvent): Promise<void> {
    // Our own sends come back as fromMe events: let the send store WhatsApp's id first, so the echo
    // is recognised as the same message (unique sessionId + waMessageId) rather than stored twice.
    if (event.message.fromMe) await this.dispatcher.sendsSettled(event.sessionId);
    try {
      await this.handleIncomingMessage(event);
    } catch (err) {
      this.log.error(
        { err, sessionId: event.sessionId, waMessageId: event.message.waMessageId },
        'Failed to store a message',
      );
    }
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

  async handleIncomingMessage(event: WaMessageReceivedEvent): Promise<void> {
    const m = event.message;
    const { record, created } = await this.messages.insertOnce(this.toNewMessage(event, m));
    if (!created) return;
    await this.applySideEffects(event.sessionId, m);
    await this.chats.record(record);
    await this.status.emitCreated(record);
    await this.sessions.touchActivity(event.sessionId, new Date());
    if (record.media?.downloadStatus === 'pending') this.downloads.schedule(record._id);
  }

  async handleMessageUpdate(event: WaMessageStatusEvent): Promise<void> {
    await this.status.applyReceipt(
      event.sessionId,
      event.waMessageId,
      event.status,
      new Date(event.at),
    );
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

  /** Edits and revokes change the message they target. */
  private async applySideEffects(sessionId: string, m: InboundMessage): Promise<void> {
    if (!m.targetId) return;
    if (m.type === 'edit' && m.editedText !== undefined) {
      await this.messages.setFields(
        { sessionId, waMessageId: m.targetId },
        { editedText: m.editedText },
      );
    } else if (m.type === 'revoke') {
      await this.messages.setFields({ sessionId, waMessageId: m.targetId }, { revoked: true });
    }
  }
}

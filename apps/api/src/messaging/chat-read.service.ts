import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { OutageRetries } from '@app/common';
import { WA_EVENTS, type WaMessagesReadElsewhereEvent } from '@app/whatsapp';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import { ChatCountsService } from './chat-counts.service';
import { toChatJid } from './chat-jid';
import { ChatsRepository, type ChatRecord } from './chats.repository';
import { InboundIngestService } from './inbound-ingest.service';
import { MessagesRepository } from './messages.repository';
import { ChatNotFoundError, SessionLoggedOutError } from './messaging.errors';
import { type ChatReadEvent, type ChatReadOn, MESSAGING_EVENTS } from './messaging.events';
import { ReadReceiptDispatcher } from './read-receipt-dispatcher';

/** Messages marked per write: a chat with more unread takes several, within the one request. */
const READ_PAGE = 5_000;

/**
 * Marks a chat read, as opening it on the phone does: its received messages become `read` and
 * leave the unread count at once, and their read receipts are queued for WhatsApp
 * (ReadReceiptDispatcher sends them while the session is connected). Messages read on the phone
 * itself (or another linked device) become `read` here too, without receipts of ours.
 */
@Injectable()
export class ChatReadService implements BeforeApplicationShutdown {
  private readonly log = new Logger(ChatReadService.name);
  /** Stopped at shutdown: a database outage is no longer waited out. */
  private readonly outage = new OutageRetries(this.log);

  constructor(
    private readonly sessions: WhatsAppSessionsService,
    private readonly messages: MessagesRepository,
    private readonly chats: ChatsRepository,
    private readonly counts: ChatCountsService,
    private readonly receipts: ReadReceiptDispatcher,
    private readonly ingest: InboundIngestService,
    private readonly emitter: EventEmitter2,
  ) {}

  async markRead(
    organizationId: string,
    sessionName: string,
    chat: string,
  ): Promise<{ marked: number; chat: ChatRecord }> {
    const session = await this.sessions.getOwned(organizationId, sessionName);
    if (session.status === 'logged_out')
      throw new SessionLoggedOutError(sessionName, 'WhatsApp can no longer be told what was read');
    const chatJid = toChatJid(chat);
    const stored = await this.chats.findOne(organizationId, sessionName, chatJid);
    if (!stored) throw new ChatNotFoundError(chatJid);
    // The messages counted into the chat: one stored but not counted yet stays unread.
    const scope = { organizationId, sessionName, chatJid, countedThrough: stored.countedThrough };
    let marked = 0;
    for (;;) {
      const unread = await this.messages.unreadIdsOf(scope, READ_PAGE);
      const page = unread.length ? await this.messages.markReadByUs(unread, new Date()) : 0;
      marked += page;
      // A short page was the last; a page nothing moved in would come back the same.
      if (unread.length < READ_PAGE || page === 0) break;
    }
    // The count follows the messages, recounted (a count a crash left behind is repaired too).
    const after =
      marked || stored.unreadCount > 0
        ? await this.counts.recount(session.sessionId, chatJid)
        : null;
    if (!marked) return { marked, chat: after ?? stored };
    this.receipts.kick(session.sessionId);
    await this.announce(after ?? stored, marked, 'gateway', new Date());
    this.log.log({ sessionId: session.sessionId, chatJid, marked }, 'Marked a chat read');
    return { marked, chat: after ?? stored };
  }

  /**
   * The phone read received messages: read here too, and out of their chat's unread count. Only
   * messages still unread move, so a repeated or late receipt changes nothing. The chats come from
   * the stored messages, whatever address (phone number or LID) the receipt used. WhatsApp reports
   * it once: while the database is unreachable it is tried again with backoff (safe to repeat).
   */
  @OnEvent(WA_EVENTS.messagesReadElsewhere, { async: true, suppressErrors: true })
  async onReadElsewhere(event: WaMessagesReadElsewhereEvent): Promise<void> {
    try {
      // A message reported just before its receipt may still be in its ingest batch.
      await this.ingest.settled(event.sessionId);
      await this.outage.run(
        () => this.applyReadElsewhere(event),
        'Database unreachable: messages read on the phone are applied once it answers',
        { sessionId: event.sessionId },
      );
    } catch (err) {
      this.log.warn(
        { err, sessionId: event.sessionId },
        'Could not apply messages read on the phone',
      );
    }
  }

  beforeApplicationShutdown(): void {
    this.outage.stop();
  }

  private async applyReadElsewhere(event: WaMessagesReadElsewhereEvent): Promise<void> {
    const { sessionId, waMessageIds } = event;
    const at = new Date(event.at);
    for (const chatJid of await this.messages.chatsWithUnread(sessionId, waMessageIds)) {
      const stored = await this.chats.findOfSession(sessionId, chatJid);
      const marked = await this.messages.markReadElsewhere(
        { sessionId, chatJid, countedThrough: stored?.countedThrough },
        waMessageIds,
        at,
      );
      const chat = marked ? await this.counts.recount(sessionId, chatJid) : stored;
      if (marked && chat) await this.announce(chat, marked, 'phone', at);
    }
  }

  /** After the writes: the event log (webhooks, streams) hears of the read. */
  private async announce(chat: ChatRecord, marked: number, readOn: ChatReadOn, at: Date) {
    const event: ChatReadEvent = { chat, marked, readOn, at };
    await this.emitter.emitAsync(MESSAGING_EVENTS.chatRead, event);
  }
}

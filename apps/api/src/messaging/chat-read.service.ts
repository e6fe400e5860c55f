import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { groupBy, KeyedCoalescingQueue, logTooManyWaiting, OutageRetries } from '@app/common';
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
 * Most received messages of one session read on the phone waiting for the database (a 10-minute
 * outage of a busy number): a few dozen bytes each. Further ones are dropped (logged).
 */
export const MAX_HELD_PHONE_READS = 100_000;

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
  /**
   * Messages read on the phone per session, each with the time of its first read (a read message
   * moves no more, so later reads of it change nothing), while they wait for their round (a
   * database outage holds a round): one entry per message, however many receipts named it.
   */
  private readonly phoneReads = new KeyedCoalescingQueue<Date, Date>({
    fold: (first, at) => first ?? at,
    process: (sessionId, round) => this.applyPhoneReads(sessionId, round),
    maxHeld: MAX_HELD_PHONE_READS,
    onFull: logTooManyWaiting(this.log, {
      limit: MAX_HELD_PHONE_READS,
      waiting: 'messages read on the phone',
      dropped: 'further ones',
    }),
  });

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
   * the stored messages, whatever address (phone number or LID) the receipt used. Folded into the
   * session's next round of phone reads (see applyPhoneReads); resolves once they were applied.
   */
  @OnEvent(WA_EVENTS.messagesReadElsewhere, { async: true, suppressErrors: true })
  onReadElsewhere(event: WaMessagesReadElsewhereEvent): Promise<void> {
    const at = new Date(event.at);
    for (const waMessageId of event.waMessageIds)
      this.phoneReads.push(event.sessionId, waMessageId, at);
    return this.phoneReads.settled(event.sessionId);
  }

  /**
   * Lets the phone reads held (an outage's, the database back meanwhile) land before the connection
   * closes: WhatsApp reports them once. With the database away they are given up at once (logged).
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.outage.stop();
    await this.phoneReads.idle();
  }

  /**
   * One round of a session's phone reads, the messages read at one time together. WhatsApp reports
   * them once: while the database is unreachable they are tried again with backoff (safe to repeat).
   */
  private async applyPhoneReads(sessionId: string, round: Map<string, Date>): Promise<void> {
    try {
      // A message reported just before its receipt may still be in its ingest batch.
      await this.ingest.settled(sessionId);
      const byTime = groupBy(round, ([, at]) => String(at.getTime()));
      for (const reads of byTime.values()) {
        const waMessageIds = reads.map(([waMessageId]) => waMessageId);
        await this.outage.run(
          () => this.applyReadElsewhere(sessionId, waMessageIds, reads[0][1]),
          'Database unreachable: messages read on the phone are applied once it answers',
          { sessionId, count: round.size },
        );
      }
    } catch (err) {
      this.log.warn({ err, sessionId }, 'Could not apply messages read on the phone');
    }
  }

  private async applyReadElsewhere(
    sessionId: string,
    waMessageIds: string[],
    at: Date,
  ): Promise<void> {
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

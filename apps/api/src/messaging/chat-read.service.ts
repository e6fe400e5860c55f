import { Injectable, Logger } from '@nestjs/common';
import { SessionRegistry, type WaReadKey } from '@app/whatsapp';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import { ChatsRepository, type ChatRecord } from './chats.repository';
import { toChatJid } from './chat-jid';
import type { MessageRecord } from './message.types';
import { MessagesRepository } from './messages.repository';
import { ChatNotFoundError } from './messaging.errors';

/** Read receipts per engine call: one receipt stanza per chat and sender, of modest size. */
const READ_BATCH = 500;
/** Messages one request marks at most; a chat with more unread is finished by the next call. */
const MAX_READ_PER_REQUEST = 10 * READ_BATCH;

/** Where a received message's read receipt goes: as WhatsApp addressed it, else as stored. */
const readKeyOf = (m: MessageRecord): WaReadKey => ({
  waMessageId: m.waMessageId!,
  remoteJid: m.waAddress?.remoteJid ?? m.chatJid,
  ...((m.waAddress?.participant ?? m.participant)
    ? { participant: m.waAddress?.participant ?? m.participant }
    : {}),
});

/**
 * Marks a chat read, as opening it on the phone does: read receipts for its received messages go
 * to WhatsApp, then those messages become `read` and leave the chat's unread count. Receipts are
 * sent before anything is stored, so a crash in between only means they are sent again (WhatsApp
 * takes a repeated read receipt as a no-op), never that messages read here stay unread there.
 */
@Injectable()
export class ChatReadService {
  private readonly log = new Logger(ChatReadService.name);

  constructor(
    private readonly sessions: WhatsAppSessionsService,
    private readonly registry: SessionRegistry,
    private readonly messages: MessagesRepository,
    private readonly chats: ChatsRepository,
  ) {}

  async markRead(
    organizationId: string,
    sessionName: string,
    chat: string,
  ): Promise<{ marked: number; chat: ChatRecord }> {
    const session = await this.sessions.getOwned(organizationId, sessionName);
    const chatJid = toChatJid(chat);
    const stored = await this.chats.findOne(organizationId, sessionName, chatJid);
    if (!stored) throw new ChatNotFoundError(chatJid);
    let marked = 0;
    while (marked < MAX_READ_PER_REQUEST) {
      const unread = await this.messages.unreadOf(
        { organizationId, sessionName, chatJid },
        READ_BATCH,
      );
      if (!unread.length) break;
      await this.registry.markRead(session.sessionId, unread.map(readKeyOf));
      const moved = await this.messages.markReadByUs(
        unread.map((m) => m._id),
        new Date(),
      );
      marked += moved;
      if (unread.length < READ_BATCH) break;
    }
    const after = marked ? await this.chats.readUnread(session.sessionId, chatJid, marked) : stored;
    if (marked)
      this.log.log({ sessionId: session.sessionId, chatJid, marked }, 'Marked a chat read');
    return { marked, chat: after ?? stored };
  }
}

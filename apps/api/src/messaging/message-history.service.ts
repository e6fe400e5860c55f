import { type Page, skipFor, escapeRegex } from '@app/common';
import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { WhatsAppSessionsService } from '../whatsapp-session/whatsapp-session.service';
import { toChatJid } from './chat-jid';
import { ChatsRepository, type ChatRecord } from './chats.repository';
import type { ListChatsQueryDto, ListMessagesQueryDto } from './dto/list-messages.query.dto';
import { afterFirstBytes } from './media/media-first-bytes';
import {
  MEDIA_STORAGE,
  MediaGoneError,
  type MediaStorage,
  type RangePicker,
} from './media/media-storage';
import { type MessageFilter, MessagesRepository } from './messages.repository';
import { CHAT_MESSAGE, type MessageRecord } from './message.types';
import {
  MediaDiscardedError,
  MediaNotStoredError,
  MessageNotFoundError,
  MessageQueryConflictError,
} from './messaging.errors';

/** Read side of Messaging: history, one message, its media, chats. Everything org-scoped. */
@Injectable()
export class MessageHistoryService {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly chats: ChatsRepository,
    private readonly sessions: WhatsAppSessionsService,
    @Inject(MEDIA_STORAGE) private readonly media: MediaStorage,
  ) {}

  /** The chat's first live outgoing chat message at or after `at` that went out (what answered an inbound one then). */
  firstReplyAt(
    chat: { organizationId: string; sessionName: string; chatJid: string },
    at: Date,
  ): Promise<{ _id: string; timestamp: Date } | null> {
    return this.messages.firstOutgoingFrom(chat, at);
  }

  /** The chat's latest live outgoing chat message before `at` that went out (the reply before one then). */
  lastReplyBefore(
    chat: { organizationId: string; sessionName: string; chatJid: string },
    at: Date,
  ): Promise<{ _id: string; timestamp: Date } | null> {
    return this.messages.lastOutgoingBefore(chat, at);
  }

  /** The chat's first live received chat message after `at` (what still waits after a reply then). */
  firstInboundAfter(
    chat: { organizationId: string; sessionName: string; chatJid: string },
    at: Date,
  ): Promise<{ _id: string; timestamp: Date } | null> {
    return this.messages.firstIncomingAfter(chat, at);
  }

  /** How many chat messages a session has with a peer known under these chat addresses. */
  countChatMessages(
    scope: { organizationId: string; sessionName: string },
    chatJids: string[],
  ): Promise<number> {
    return this.messages.countChatMessages(scope, chatJids);
  }

  async list(organizationId: string, q: ListMessagesQueryDto): Promise<Page<MessageRecord>> {
    // Said plainly rather than answered with an empty or unexpected page.
    if (q.since && q.until && q.since > q.until)
      throw new MessageQueryConflictError(
        'MESSAGES_RANGE_INVALID',
        'since must not be after until',
      );
    if (q.before && q.page > 1)
      throw new MessageQueryConflictError(
        'MESSAGES_PAGE_WITH_CURSOR',
        "page cannot be combined with before: pass the last item's id as before for the next page",
      );
    const filter: MessageFilter = { organizationId };
    if (q.sessionName) filter.sessionName = q.sessionName;
    if (q.chat) filter.chatJid = toChatJid(q.chat);
    if (q.direction) filter.direction = q.direction;
    if (q.status) filter.status = q.status;
    if (q.type) filter.type = q.type as MessageRecord['type'];
    if (q.since || q.until)
      filter.timestamp = { ...(q.since && { $gte: q.since }), ...(q.until && { $lt: q.until }) };
    if (q.search) {
      const pattern = new RegExp(escapeRegex(q.search), 'i');
      // An edit is found as the message it changed, which carries the edited text too.
      filter.$or = [
        { text: pattern },
        { caption: pattern },
        { editedText: pattern, ...CHAT_MESSAGE },
      ];
    }
    if (q.before) {
      const anchor = await this.messages.findOwned(organizationId, q.before);
      if (!anchor) throw new MessageNotFoundError();
      const ts = anchor.timestamp;
      filter.$and = [
        { $or: [{ timestamp: { $lt: ts } }, { timestamp: ts, _id: { $lt: anchor._id } }] },
      ];
    }
    const page = q.before ? 1 : q.page;
    const { items, total } = await this.messages.page(
      filter,
      skipFor({ page, limit: q.limit }),
      q.limit,
    );
    if (total === 0) await this.requireSession(organizationId, q.sessionName);
    return { items, total, page, limit: q.limit };
  }

  async get(organizationId: string, id: string): Promise<MessageRecord> {
    const message = await this.messages.findOwned(organizationId, id);
    if (!message) throw new MessageNotFoundError();
    return message;
  }

  async openMedia(organizationId: string, id: string, pickRange?: RangePicker) {
    const message = await this.get(organizationId, id);
    if (message.media?.downloadStatus === 'discarded') throw new MediaDiscardedError();
    if (!message.media?.storageKey || message.media.downloadStatus !== 'stored')
      throw new MediaNotStoredError();
    const opened = await this.media.open(message.media.storageKey, pickRange);
    if (!opened) throw new MediaNotStoredError();
    return {
      ...opened,
      stream: await this.firstBytesOrGone(organizationId, id, opened.stream),
      mimetype: message.media.mimetype,
      fileName: message.media.fileName,
    };
  }

  /**
   * The media's stream once its first bytes came. Bytes deleted since they were looked up (a
   * failed send's media discarded, a sweep) are answered as they now are: discarded (410) once
   * the message says so, otherwise not stored (404), never as a storage failure (500).
   */
  private async firstBytesOrGone(organizationId: string, id: string, stream: Readable) {
    try {
      return await afterFirstBytes(stream);
    } catch (err) {
      if (!(err instanceof MediaGoneError)) throw err;
      const now = await this.messages.findOwned(organizationId, id);
      if (now?.media?.downloadStatus === 'discarded') throw new MediaDiscardedError();
      throw new MediaNotStoredError();
    }
  }

  async chatsOf(organizationId: string, q: ListChatsQueryDto): Promise<Page<ChatRecord>> {
    const { items, total } = await this.chats.page(
      organizationId,
      q.sessionName,
      skipFor(q),
      q.limit,
    );
    if (total === 0) await this.requireSession(organizationId, q.sessionName);
    return { items, total, page: q.page, limit: q.limit };
  }

  /** An empty answer for an unknown session name is a 404 (a deleted session's history stays). */
  private async requireSession(organizationId: string, sessionName?: string): Promise<void> {
    if (sessionName)
      await this.sessions.requireKnown(organizationId, sessionName, () =>
        this.messages.anyOfSession(organizationId, sessionName),
      );
  }
}

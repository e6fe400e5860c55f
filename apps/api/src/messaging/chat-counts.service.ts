import { Injectable } from '@nestjs/common';
import {
  type ChatBatch,
  type ChatRecord,
  ChatsRepository,
  isNewerThanSnapshot,
  snapshotOf,
} from './chats.repository';
import {
  type ChatPosition,
  isAfter,
  isChatMessage,
  type MessageRecord,
  positionOf,
  wentOut,
} from './message.types';
import { MessagesRepository } from './messages.repository';

/** Attempts of a read-and-write that lost to concurrent writes before it gives up (logged). */
const MAX_ATTEMPTS = 20;

const laterId = (a: string | undefined, b: string | undefined) =>
  a && b ? (a > b ? a : b) : (a ?? b);

/**
 * A chat's counts whatever order its messages are counted in. Unread are the received messages
 * after our latest outgoing one that went out (see ChatPosition) that nobody read: a send clears
 * the count when it leaves `pending` for sent (countWentOut), never when it fails. Inbound batches
 * and our sends run in separate queues, so a batch can reach its chat after a newer one: the
 * in-order case costs one write (ChatsRepository.recordInOrder); a batch that finds newer messages
 * in its chat is reconciled here from what the chat holds (one read, and a count of the messages
 * when one of ours clears an older point), written only if no count changed meanwhile.
 */
@Injectable()
export class ChatCountsService {
  constructor(
    private readonly chats: ChatsRepository,
    private readonly messages: MessagesRepository,
  ) {}

  /** Counts stored messages into their chats, and moves each chat's last message. */
  async record(messages: MessageRecord[]): Promise<void> {
    for (const batch of await this.chats.recordInOrder(messages)) await this.reconcile(batch);
    // Our sends were counted as `pending` (no clearing). One that went out meanwhile may have had
    // its status change find no chat to clear yet: read again after the chat was written, so
    // either that change or this read sees the other (countWentOut is idempotent).
    const pending = messages.filter(
      (m) => m.direction === 'out' && m.status === 'pending' && isChatMessage(m),
    );
    if (!pending.length) return;
    for (const m of await this.messages.findByIds(pending.map((p) => p._id)))
      if (wentOut(m.status)) await this.countWentOut(m);
  }

  /**
   * Our message went out (its status left `pending` for sent or beyond, or it was replayed so): it
   * clears its chat's count if it is the chat's latest such message. Idempotent, for any status
   * change and any order: a chat not written yet is left to the message's own count (record).
   */
  async countWentOut(out: MessageRecord): Promise<void> {
    if (out.direction !== 'out' || !wentOut(out.status) || !isChatMessage(out)) return;
    await this.retry(out.sessionId, out.chatJid, async (chat) => {
      if (!isAfter(positionOf(out), await this.clearedOf(chat))) return null;
      const unreadCount = await this.messages.countUnread(
        chat,
        positionOf(out),
        chat.countedThrough,
      );
      return { set: { unreadCount, clearedBy: out._id, clearedAt: out.timestamp } };
    });
  }

  /**
   * Recounts a chat's unread count (and, after a replay that may have counted messages twice, its
   * message count) from the messages. Returns the chat as written.
   */
  async recount(
    sessionId: string,
    chatJid: string,
    options: { messages?: boolean } = {},
  ): Promise<ChatRecord | null> {
    return this.retry(sessionId, chatJid, async (chat) => {
      const unreadCount = await this.messages.countUnread(
        chat,
        await this.clearedOf(chat),
        chat.countedThrough,
      );
      const messageCount = options.messages
        ? await this.messages.countChatMessages(chat, [chat.chatJid])
        : chat.messageCount;
      return { set: { unreadCount, messageCount } };
    });
  }

  /** A batch whose chat holds newer messages: counted against what the chat holds. */
  private async reconcile(batch: ChatBatch): Promise<void> {
    const { sessionId, chatJid } = batch.newest;
    const written = await this.retry(sessionId, chatJid, async (chat) => {
      const cleared = await this.clearedOf(chat);
      const out = batch.newestOut;
      const countedThrough = laterId(chat.countedThrough, batch.countedThrough);
      const snapshot = isNewerThanSnapshot(batch.newest, chat) ? snapshotOf(batch.newest) : {};
      const moved = countedThrough ? { countedThrough } : {};
      if (out && isAfter(positionOf(out), cleared)) {
        // Our message clears, at an older point than the chat's newest: what came after it and
        // was counted (this batch's included, stored before it was counted) stays unread.
        const unreadCount = await this.messages.countUnread(chat, positionOf(out), countedThrough);
        return {
          set: { ...snapshot, ...moved, unreadCount, clearedBy: out._id, clearedAt: out.timestamp },
          addMessages: batch.messages.length,
        };
      }
      // Received messages older than our latest are not unread.
      const unreadCount = chat.unreadCount + batch.unreadAfter(cleared);
      return { set: { ...snapshot, ...moved, unreadCount }, addMessages: batch.messages.length };
    });
    // No chat (deleted meanwhile): the batch creates it again, in order.
    if (!written) await this.record(batch.messages);
  }

  /**
   * Reads the chat and writes what `work` makes of it, again if a count changed meanwhile (nothing
   * when `work` returns null). Null when there is no such chat.
   */
  private async retry(
    sessionId: string,
    chatJid: string,
    work: (chat: ChatRecord) => Promise<{ set: Partial<ChatRecord>; addMessages?: number } | null>,
  ): Promise<ChatRecord | null> {
    for (let attempt = 1; ; attempt++) {
      const chat = await this.chats.findOfSession(sessionId, chatJid);
      if (!chat) return null;
      const update = await work(chat);
      if (!update) return chat;
      if (await this.chats.writeIfUnchanged(chat, update)) {
        const messageCount =
          update.set.messageCount ?? chat.messageCount + (update.addMessages ?? 0);
        return {
          ...chat,
          ...update.set,
          messageCount,
          countsVersion: (chat.countsVersion ?? 0) + 1,
        };
      }
      // Thrown, the effects fail and their note stays: recovery recounts the chat later.
      if (attempt === MAX_ATTEMPTS)
        throw new Error(`Chat counts of ${chatJid} kept changing under ${attempt} attempts`);
    }
  }

  /** Our latest outgoing message that went out the chat counted (its time looked up for chats written before it was kept). */
  private async clearedOf(chat: ChatRecord): Promise<ChatPosition | undefined> {
    if (!chat.clearedBy) return undefined;
    if (chat.clearedAt) return { at: chat.clearedAt, id: chat.clearedBy };
    const out = await this.messages.findById(chat.clearedBy);
    return out ? positionOf(out) : undefined;
  }
}

import { duplicateIndexesOf, groupBy, uncastBulkWrite } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { AnyBulkWriteOperation, Model } from 'mongoose';
import { countsAsUnread, isChatMessage, type MessageRecord } from './message.types';
import { Chat, type ChatLastMessage } from './schemas/chat.schema';

export type ChatRecord = Chat & { _id: unknown };

const unreadIn = (messages: MessageRecord[]) => messages.filter(countsAsUnread).length;

const PREVIEW_LENGTH = 120;

function previewOf(m: MessageRecord): string | undefined {
  if (m.revoked) return undefined;
  // What the chat list shows, as WhatsApp's own list does for polls, places and contact cards.
  const text =
    m.editedText ??
    m.text ??
    m.caption ??
    m.media?.fileName ??
    m.poll?.name ??
    m.location?.name ??
    m.contact?.displayName;
  if (!text) return undefined;
  // Cut between characters (code points), never inside an emoji's surrogate pair.
  return text.length <= PREVIEW_LENGTH ? text : [...text].slice(0, PREVIEW_LENGTH).join('');
}

/** Newest by WhatsApp time; ties (whole seconds) go to the later id. */
const isNewer = (a: MessageRecord, b: MessageRecord) =>
  a.timestamp > b.timestamp || (a.timestamp.getTime() === b.timestamp.getTime() && a._id > b._id);
const newest = (messages: MessageRecord[]) => messages.reduce((a, b) => (isNewer(b, a) ? b : a));

function countOp(m: MessageRecord, messages: number, unread: number): AnyBulkWriteOperation<Chat> {
  return {
    updateOne: {
      filter: { sessionId: m.sessionId, chatJid: m.chatJid },
      update: {
        $inc: unread ? { unreadCount: unread, messageCount: messages } : { messageCount: messages },
        $setOnInsert: {
          organizationId: m.organizationId,
          sessionName: m.sessionName,
          lastMessageAt: new Date(0),
        },
      },
      upsert: true,
    },
  };
}

/** Chats whose snapshot is older than `m` (ties in whole seconds go to the later id). */
function olderSnapshotFilter(m: MessageRecord) {
  return {
    sessionId: m.sessionId,
    chatJid: m.chatJid,
    $or: [
      { lastMessageAt: { $lt: m.timestamp } },
      { lastMessageAt: m.timestamp, 'lastMessage.id': { $lt: m._id } },
    ],
  };
}

function snapshotOf(m: MessageRecord): { lastMessageAt: Date; lastMessage: ChatLastMessage } {
  return {
    lastMessageAt: m.timestamp,
    lastMessage: {
      id: m._id,
      direction: m.direction,
      type: m.type,
      preview: previewOf(m),
      ...(m.revoked ? { revoked: true } : {}),
      // Who said it, where the chat has several speakers (a group shows "Ali: …").
      ...(m.participant && m.direction === 'in'
        ? { senderJid: m.participant, ...(m.pushName ? { pushName: m.pushName } : {}) }
        : {}),
      timestamp: m.timestamp,
    },
  };
}

/** Moves the chat's snapshot to `m` if `m` is newer; an outgoing message also clears unread. */
function snapshotOp(m: MessageRecord): AnyBulkWriteOperation<Chat> {
  const outbound = m.direction === 'out' ? { unreadCount: 0, clearedBy: m._id } : {};
  return {
    updateOne: {
      filter: olderSnapshotFilter(m),
      update: { $set: { ...snapshotOf(m), ...outbound } },
    },
  };
}

/**
 * One write for a chat's run of inbound messages: counts them and moves the snapshot to the
 * newest, creating the chat if it is new. When the chat holds a newer snapshot the filter misses
 * and the upsert is refused by the unique (sessionId, chatJid) index: the caller then counts only.
 */
function inboundRunOp(run: MessageRecord[]): AnyBulkWriteOperation<Chat> {
  const m = newest(run);
  return {
    updateOne: {
      filter: olderSnapshotFilter(m),
      update: {
        $inc: { unreadCount: unreadIn(run), messageCount: run.length },
        $set: snapshotOf(m),
        $setOnInsert: { organizationId: m.organizationId, sessionName: m.sessionName },
      },
      upsert: true,
    },
  };
}

@Injectable()
export class ChatsRepository {
  constructor(@InjectModel(Chat.name) private readonly model: Model<Chat>) {}

  /**
   * Counts messages into their chats; the last-message snapshot only moves to newer messages. A
   * chat's run of inbound messages costs one write (see inboundRunOp); a chat with outgoing
   * messages in the batch gets them message by message, in order (an outgoing message resets the
   * unread count).
   */
  async recordMany(messages: MessageRecord[]): Promise<void> {
    // Reactions, edits and revokes change the message they target (see refreshSnapshot), they
    // are not messages of the chat: no count, no unread, no snapshot of their own.
    const byChat = groupBy(messages.filter(isChatMessage), (m) => `${m.sessionId}|${m.chatJid}`);
    const runs: MessageRecord[][] = [];
    const inOrder: AnyBulkWriteOperation<Chat>[] = [];
    for (const chat of byChat.values()) {
      if (chat.every((m) => m.direction === 'in')) runs.push(chat);
      else for (const m of chat) inOrder.push(countOp(m, 1, unreadIn([m])), snapshotOp(m));
    }
    for (const i of await this.writeInboundRuns(runs))
      inOrder.push(countOp(runs[i][0], runs[i].length, unreadIn(runs[i])));
    if (inOrder.length) await uncastBulkWrite(this.model, inOrder, { ordered: true });
  }

  /** Returns the runs whose chat holds a newer snapshot (their upsert was refused, nothing written). */
  private async writeInboundRuns(runs: MessageRecord[][]): Promise<number[]> {
    if (!runs.length) return [];
    try {
      await uncastBulkWrite(this.model, runs.map(inboundRunOp), { ordered: false });
      return [];
    } catch (error) {
      const refused = duplicateIndexesOf(error);
      if (!refused) throw error;
      return [...refused];
    }
  }

  /** An edit or a revoke changed `m`: if it is its chat's last message, the snapshot follows. */
  async refreshSnapshot(m: MessageRecord): Promise<void> {
    const preview = previewOf(m);
    await this.model
      .updateOne(
        { sessionId: m.sessionId, chatJid: m.chatJid, 'lastMessage.id': m._id },
        {
          ...(preview === undefined
            ? { $unset: { 'lastMessage.preview': 1 } }
            : { $set: { 'lastMessage.preview': preview } }),
          ...(m.revoked ? { $set: { 'lastMessage.revoked': true } } : {}),
        },
      )
      .exec();
  }

  /** Recovery: counts recounted from the messages replace what a replay may have doubled. */
  async setCounts(
    sessionId: string,
    chatJid: string,
    counts: { messageCount: number; unreadCount: number },
  ): Promise<void> {
    await this.model.updateOne({ sessionId, chatJid }, { $set: counts }).exec();
  }

  findOne(organizationId: string, sessionName: string, chatJid: string) {
    return this.model.findOne({ organizationId, sessionName, chatJid }).lean<ChatRecord>().exec();
  }

  findOfSession(sessionId: string, chatJid: string) {
    return this.model.findOne({ sessionId, chatJid }).lean<ChatRecord>().exec();
  }

  /**
   * Takes `read` messages off the unread count, never below 0 (a reply already reset it). One
   * atomic update, so messages counted in meanwhile stay counted.
   */
  readUnread(sessionId: string, chatJid: string, read: number): Promise<ChatRecord | null> {
    return this.model
      .findOneAndUpdate(
        { sessionId, chatJid },
        [{ $set: { unreadCount: { $max: [0, { $subtract: ['$unreadCount', read] }] } } }],
        { returnDocument: 'after', updatePipeline: true },
      )
      .lean<ChatRecord>()
      .exec();
  }

  async page(
    organizationId: string,
    sessionName: string | undefined,
    skip: number,
    limit: number,
  ): Promise<{ items: ChatRecord[]; total: number }> {
    const filter = sessionName ? { organizationId, sessionName } : { organizationId };
    const [items, total] = await Promise.all([
      this.model
        .find(filter)
        .sort({ lastMessageAt: -1 })
        .skip(skip)
        .limit(limit)
        .lean<ChatRecord[]>()
        .exec(),
      this.model.countDocuments(filter).exec(),
    ]);
    return { items, total };
  }
}

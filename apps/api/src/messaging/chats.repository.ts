import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { AnyBulkWriteOperation, Model } from 'mongoose';
import type { MessageRecord } from './message.types';
import { Chat, type ChatLastMessage } from './schemas/chat.schema';

export type ChatRecord = Chat & { _id: unknown };

function previewOf(m: MessageRecord): string | undefined {
  const text = m.text ?? m.caption ?? m.editedText ?? m.reaction?.emoji ?? m.media?.fileName;
  return text ? text.slice(0, 120) : undefined;
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

/** Moves the chat's snapshot to `m` if `m` is newer; an outgoing message also clears unread. */
function snapshotOp(m: MessageRecord): AnyBulkWriteOperation<Chat> {
  const lastMessage: ChatLastMessage = {
    id: m._id,
    direction: m.direction,
    type: m.type,
    preview: previewOf(m),
    timestamp: m.timestamp,
  };
  const outbound = m.direction === 'out' ? { unreadCount: 0 } : {};
  return {
    updateOne: {
      filter: {
        sessionId: m.sessionId,
        chatJid: m.chatJid,
        $or: [
          { lastMessageAt: { $lt: m.timestamp } },
          { lastMessageAt: m.timestamp, 'lastMessage.id': { $lt: m._id } },
        ],
      },
      update: { $set: { lastMessageAt: m.timestamp, lastMessage, ...outbound } },
    },
  };
}

@Injectable()
export class ChatsRepository {
  constructor(@InjectModel(Chat.name) private readonly model: Model<Chat>) {}

  /**
   * Counts messages into their chats in one round trip; the last-message snapshot only moves to
   * newer messages. A chat's run of inbound messages is folded into one count and one snapshot
   * write; a chat with outgoing messages in the batch gets them message by message (an outgoing
   * message resets the unread count, so their order matters).
   */
  async recordMany(messages: MessageRecord[]): Promise<void> {
    const byChat = new Map<string, MessageRecord[]>();
    for (const m of messages) {
      const key = `${m.sessionId}|${m.chatJid}`;
      byChat.set(key, [...(byChat.get(key) ?? []), m]);
    }
    const ops: AnyBulkWriteOperation<Chat>[] = [];
    for (const chat of byChat.values()) {
      if (chat.every((m) => m.direction === 'in')) {
        ops.push(countOp(chat[0], chat.length, chat.length), snapshotOp(newest(chat)));
      } else {
        for (const m of chat) ops.push(countOp(m, 1, m.direction === 'in' ? 1 : 0), snapshotOp(m));
      }
    }
    if (ops.length) await this.model.bulkWrite(ops, { ordered: true });
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

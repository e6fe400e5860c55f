import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import type { MessageRecord } from './message.types';
import { Chat, type ChatLastMessage } from './schemas/chat.schema';

export type ChatRecord = Chat & { _id: unknown };

function previewOf(m: MessageRecord): string | undefined {
  const text = m.text ?? m.caption ?? m.editedText ?? m.reaction?.emoji ?? m.media?.fileName;
  return text ? text.slice(0, 120) : undefined;
}

@Injectable()
export class ChatsRepository {
  constructor(@InjectModel(Chat.name) private readonly model: Model<Chat>) {}

  /** Counts the message into its chat; the last-message snapshot only moves to newer messages. */
  async record(m: MessageRecord): Promise<void> {
    const key = { sessionId: m.sessionId, chatJid: m.chatJid };
    const unread =
      m.direction === 'in'
        ? { $inc: { unreadCount: 1, messageCount: 1 } }
        : { $inc: { messageCount: 1 } };
    await this.model
      .updateOne(
        key,
        {
          ...unread,
          $setOnInsert: {
            organizationId: m.organizationId,
            sessionName: m.sessionName,
            lastMessageAt: new Date(0),
          },
        },
        { upsert: true },
      )
      .exec();
    const lastMessage: ChatLastMessage = {
      id: m._id,
      direction: m.direction,
      type: m.type,
      preview: previewOf(m),
      timestamp: m.timestamp,
    };
    const outbound = m.direction === 'out' ? { unreadCount: 0 } : {};
    // Only a newer message replaces the snapshot; WhatsApp timestamps are whole seconds, so ties go to the later id.
    const olderSnapshot = {
      $or: [
        { lastMessageAt: { $lt: m.timestamp } },
        { lastMessageAt: m.timestamp, 'lastMessage.id': { $lt: m._id } },
      ],
    };
    await this.model
      .updateOne(
        { ...key, ...olderSnapshot },
        { $set: { lastMessageAt: m.timestamp, lastMessage, ...outbound } },
      )
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

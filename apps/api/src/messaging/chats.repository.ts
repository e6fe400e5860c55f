import { duplicateIndexesOf, groupBy, uncastBulkWrite } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { AnyBulkWriteOperation, Model } from 'mongoose';
import {
  type ChatPosition,
  countsAsUnread,
  isAfter,
  isChatMessage,
  type MessageRecord,
  positionFilter,
  positionOf,
  wentOut,
} from './message.types';
import { Chat, type ChatLastMessage } from './schemas/chat.schema';

export type ChatRecord = Chat & { _id: unknown };

/** countedThrough of a chat created by outgoing messages: no received message counted yet. */
const NONE_COUNTED = '0'.repeat(24);

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

/** Newer in its chat (see ChatPosition: the WhatsApp second, then store order). */
const isNewer = (a: MessageRecord, b: MessageRecord) => isAfter(positionOf(a), positionOf(b));
const newest = (messages: MessageRecord[]) => messages.reduce((a, b) => (isNewer(b, a) ? b : a));

/** Chats whose snapshot is older than `m` (see ChatPosition). */
function olderSnapshotFilter(m: MessageRecord) {
  return {
    sessionId: m.sessionId,
    chatJid: m.chatJid,
    ...positionFilter(positionOf(m), { at: 'lastMessageAt', id: 'lastMessage.id' }, true),
  };
}

export function snapshotOf(m: MessageRecord): {
  lastMessageAt: Date;
  lastMessage: ChatLastMessage;
} {
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

/** What one batch brings to one chat (its chat messages: no reactions, edits or revokes). */
export class ChatBatch {
  readonly newest: MessageRecord;
  /**
   * Our newest outgoing message that went out (sent or beyond: a send accepted `pending` clears
   * nothing until it reaches WhatsApp, see ChatCountsService.countWentOut; a failed one never does),
   * which clears what came before it.
   */
  readonly newestOut?: MessageRecord;
  /** Received messages that can be unread (not history). */
  readonly unread: MessageRecord[];
  /** Newest id of those: the chat's countedThrough once they are counted. */
  readonly countedThrough?: string;

  constructor(readonly messages: MessageRecord[]) {
    this.newest = newest(messages);
    const out = messages.filter((m) => m.direction === 'out' && wentOut(m.status));
    this.newestOut = out.length ? newest(out) : undefined;
    this.unread = messages.filter(countsAsUnread);
    this.countedThrough = this.unread.reduce<string | undefined>(
      (max, m) => (max && max > m._id ? max : m._id),
      undefined,
    );
  }

  /** Its received messages after `p` (see ChatPosition; all without one). */
  unreadAfter(p: ChatPosition | undefined): number {
    return this.unread.filter((u) => isAfter(positionOf(u), p)).length;
  }

  /** Its oldest message the counts depend on (received or ours); the newest when there is none. */
  oldestCounted(): MessageRecord {
    const counted = [...this.unread, ...(this.newestOut ? [this.newestOut] : [])];
    return counted.length ? counted.reduce((a, b) => (isNewer(a, b) ? b : a)) : this.newest;
  }
}

/**
 * The in-order case in one write: every message of the batch that the counts depend on is newer
 * than anything the chat holds (its snapshot is the newest message counted into it), so the
 * batch's own messages decide the counts without reading anything. Creates the chat if it is new.
 * When the chat holds something newer the filter misses and the upsert is refused by the unique
 * (sessionId, chatJid) index: the caller then reconciles the batch with what the chat holds.
 */
function inOrderOp(batch: ChatBatch): AnyBulkWriteOperation<Chat> {
  const { newest: m, newestOut: out } = batch;
  // After our newest message, only the batch's received messages after it are unread.
  const cleared = out
    ? {
        unreadCount: batch.unreadAfter(positionOf(out)),
        clearedBy: out._id,
        clearedAt: out.timestamp,
      }
    : {};
  const added = out ? {} : { unreadCount: batch.unread.length };
  return {
    updateOne: {
      filter: olderSnapshotFilter(batch.oldestCounted()),
      update: {
        $set: { ...snapshotOf(m), ...cleared },
        $inc: { messageCount: batch.messages.length, countsVersion: 1, ...added },
        ...(batch.countedThrough ? { $max: { countedThrough: batch.countedThrough } } : {}),
        $setOnInsert: {
          organizationId: m.organizationId,
          sessionName: m.sessionName,
          ...(batch.countedThrough ? {} : { countedThrough: NONE_COUNTED }),
        },
      },
      upsert: true,
    },
  };
}

/** Whether `m` is newer than the chat's last message. */
export const isNewerThanSnapshot = (m: MessageRecord, chat: ChatRecord): boolean =>
  isAfter(
    positionOf(m),
    chat.lastMessage ? { at: chat.lastMessageAt, id: chat.lastMessage.id } : undefined,
  );

@Injectable()
export class ChatsRepository {
  constructor(@InjectModel(Chat.name) private readonly model: Model<Chat>) {}

  /**
   * Counts messages into their chats and moves each chat's last message to the newest, one write
   * per chat in the in-order case (see inOrderOp). Returns the batches of the chats that hold
   * newer messages already, for the caller to reconcile (ChatCountsService): nothing of theirs was
   * written.
   */
  async recordInOrder(messages: MessageRecord[]): Promise<ChatBatch[]> {
    // Reactions, edits and revokes change the message they target (see refreshSnapshot), they
    // are not messages of the chat: no count, no unread, no snapshot of their own.
    const byChat = groupBy(messages.filter(isChatMessage), (m) => `${m.sessionId}|${m.chatJid}`);
    const batches = [...byChat.values()].map((chat) => new ChatBatch(chat));
    if (!batches.length) return [];
    try {
      await uncastBulkWrite(this.model, batches.map(inOrderOp), { ordered: false });
      return [];
    } catch (error) {
      const refused = duplicateIndexesOf(error);
      if (!refused) throw error;
      return [...refused].map((i) => batches[i]);
    }
  }

  /**
   * Writes counts worked out from `chat` as read, only if no count changed since (`countsVersion`).
   * Returns whether it did.
   */
  async writeIfUnchanged(
    chat: ChatRecord,
    update: { set: Partial<Chat>; addMessages?: number },
  ): Promise<boolean> {
    const { sessionId, chatJid, countsVersion } = chat;
    const res = await this.model
      .updateOne(
        { sessionId, chatJid, countsVersion: countsVersion ?? { $exists: false } },
        {
          $set: update.set,
          $inc: {
            countsVersion: 1,
            ...(update.addMessages ? { messageCount: update.addMessages } : {}),
          },
        },
      )
      .exec();
    return res.matchedCount === 1;
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

  findOne(organizationId: string, sessionName: string, chatJid: string) {
    return this.model.findOne({ organizationId, sessionName, chatJid }).lean<ChatRecord>().exec();
  }

  findOfSession(sessionId: string, chatJid: string) {
    return this.model.findOne({ sessionId, chatJid }).lean<ChatRecord>().exec();
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
        .sort({ lastMessageAt: -1, _id: -1 })
        .skip(skip)
        .limit(limit)
        .lean<ChatRecord[]>()
        .exec(),
      this.model.countDocuments(filter).exec(),
    ]);
    return { items, total };
  }
}

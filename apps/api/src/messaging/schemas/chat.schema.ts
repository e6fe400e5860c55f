import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';

export interface ChatLastMessage {
  id: string;
  direction: 'in' | 'out';
  type: string;
  preview?: string;
  /** The sender deleted it for everyone (its preview is gone too). */
  revoked?: boolean;
  /** Group chats: who sent it. */
  senderJid?: string;
  pushName?: string;
  timestamp: Date;
}

/** One row per chat of a session, maintained on every message so the chat list never aggregates history. */
@Schema({ collection: 'chats', timestamps: true, versionKey: false })
export class Chat {
  @Prop({ type: String, required: true }) organizationId: string;
  @Prop({ type: String, required: true }) sessionId: string;
  @Prop({ type: String, required: true }) sessionName: string;
  @Prop({ type: String, required: true }) chatJid: string;
  @Prop({ type: Date, required: true }) lastMessageAt: Date;
  @Prop({ type: MongooseSchema.Types.Mixed }) lastMessage?: ChatLastMessage;
  /**
   * Received messages not read that came after our latest outgoing message that went out (sent or
   * beyond; by WhatsApp time, ties by id), whatever order the messages were counted in.
   */
  @Prop({ type: Number, default: 0 }) unreadCount: number;
  /**
   * Id of our latest outgoing message that went out (`clearedAt` its time): the count holds what
   * came after it. A send counts from when it left `pending` for sent; a failed one never.
   */
  @Prop({ type: String }) clearedBy?: string;
  @Prop({ type: Date }) clearedAt?: Date;
  /**
   * Newest id of the received messages counted into the chat (ids grow in store order, and a
   * session's messages are counted in store order). Marking read takes only those: a message
   * stored but not counted yet stays unread, so counting it next counts no read message. Chats
   * written before it was kept have none (all their messages were counted).
   */
  @Prop({ type: String }) countedThrough?: string;
  /** Raised by every change of the counts: a recount writes only if nothing changed meanwhile. */
  @Prop({ type: Number, default: 0 }) countsVersion: number;
  @Prop({ type: Number, default: 0 }) messageCount: number;
}

export const ChatSchema = SchemaFactory.createForClass(Chat);
ChatSchema.index({ sessionId: 1, chatJid: 1 }, { unique: true });
// Pages of chats, newest first; _id breaks ties so a chat is on exactly one page.
ChatSchema.index({ organizationId: 1, sessionName: 1, lastMessageAt: -1, _id: -1 });
ChatSchema.index({ organizationId: 1, lastMessageAt: -1, _id: -1 });
/**
 * Indexes chats had and no longer declare, dropped at boot (ObsoleteIndexes): the page index
 * before `_id` broke ties (`organizationId, sessionName, lastMessageAt`).
 */
export const OBSOLETE_CHAT_INDEXES = ['organizationId_1_sessionName_1_lastMessageAt_-1'] as const;

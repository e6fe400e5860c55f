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
  /** Received messages not read: since our last outbound message or the chat was marked read. */
  @Prop({ type: Number, default: 0 }) unreadCount: number;
  /**
   * Id of the outbound message that last cleared the count: only messages stored after it (greater
   * ids, as ids grow in the order messages are stored) are in the count.
   */
  @Prop({ type: String }) clearedBy?: string;
  @Prop({ type: Number, default: 0 }) messageCount: number;
}

export const ChatSchema = SchemaFactory.createForClass(Chat);
ChatSchema.index({ sessionId: 1, chatJid: 1 }, { unique: true });
ChatSchema.index({ organizationId: 1, sessionName: 1, lastMessageAt: -1 });

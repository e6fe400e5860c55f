import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema, Types } from 'mongoose';
import {
  MESSAGE_DIRECTIONS,
  MESSAGE_STATUSES,
  type MessageDirection,
  type MessageStatus,
  type MessageType,
  type StoredMedia,
} from '../message.types';

@Schema({ collection: 'messages', timestamps: true, versionKey: false })
export class Message {
  /** String ids (ObjectId hex): time-ordered, and the same type in every module and event. */
  @Prop({ type: String, default: () => new Types.ObjectId().toHexString() }) _id: string;
  @Prop({ type: String, required: true }) organizationId: string;
  @Prop({ type: String, required: true }) sessionId: string;
  @Prop({ type: String, required: true }) sessionName: string;
  /** Sends: when the session they were accepted for was created (a later one of that name is another). */
  @Prop({ type: Date }) sessionCreatedAt?: Date;
  /** Sends: their session's last logout when accepted (a later link is another). */
  @Prop({ type: Date }) sessionLoggedOutAt?: Date;
  @Prop({ type: String, required: true, enum: MESSAGE_DIRECTIONS }) direction: MessageDirection;
  @Prop({ type: String, required: true }) chatJid: string;
  @Prop({ type: String }) senderJid?: string;
  @Prop({ type: String }) senderPhone?: string;
  @Prop({ type: String }) senderLid?: string;
  @Prop({ type: String }) participant?: string;
  @Prop({ type: String }) pushName?: string;
  @Prop({ type: Boolean, default: false }) fromMe: boolean;
  @Prop({ type: String }) waMessageId?: string;
  @Prop({ type: String, required: true }) type: MessageType;
  @Prop({ type: String }) text?: string;
  @Prop({ type: String }) caption?: string;
  @Prop({ type: String }) quotedId?: string;
  @Prop({ type: [String], default: undefined }) mentions?: string[];
  @Prop({ type: MongooseSchema.Types.Mixed }) media?: StoredMedia;
  /** Engine handle to (re)download inbound media; dropped once stored. */
  @Prop({ type: MongooseSchema.Types.Mixed }) mediaRef?: Record<string, unknown>;
  /** Received messages: how WhatsApp addressed them (maybe a LID), where read receipts go. */
  @Prop({ type: MongooseSchema.Types.Mixed }) waAddress?: {
    remoteJid: string;
    participant?: string;
  };
  @Prop({ type: MongooseSchema.Types.Mixed }) location?: {
    lat: number;
    lng: number;
    name?: string;
  };
  @Prop({ type: MongooseSchema.Types.Mixed }) contact?: { displayName: string; vcard: string };
  @Prop({ type: MongooseSchema.Types.Mixed }) reaction?: { emoji: string; targetId: string };
  @Prop({ type: MongooseSchema.Types.Mixed }) poll?: { name: string; options: string[] };
  @Prop({ type: String }) editedText?: string;
  /** WhatsApp time of the edit `editedText` comes from: an older edit arriving later loses. */
  @Prop({ type: Date }) editedAt?: Date;
  @Prop({ type: String }) targetId?: string;
  @Prop({ type: Boolean }) revoked?: boolean;
  @Prop({ type: String, required: true, enum: MESSAGE_STATUSES }) status: MessageStatus;
  @Prop({ type: String }) error?: string;
  /** Outbox: send attempts so far; absent on messages the gateway did not send. */
  @Prop({ type: Number }) attempts?: number;
  /** Outbox: when the worker may (re)try; also a claim while a send is in flight. */
  @Prop({ type: Date }) nextAttemptAt?: Date;
  /**
   * Outbox: the instance whose send is in flight (set by the claim, unset when the attempt ends).
   * A restart under the same instance id makes its own claims due at once (internal).
   */
  @Prop({ type: String }) claimedBy?: string;
  @Prop({ type: String }) idempotencyKey?: string;
  @Prop({ type: Date, required: true }) timestamp: Date;
  @Prop({ type: Date }) sentAt?: Date;
  @Prop({ type: Date }) deliveredAt?: Date;
  @Prop({ type: Date }) readAt?: Date;
  /** Came by history sync, not live. */
  @Prop({ type: Boolean }) history?: true;
  /** Received messages we marked read whose read receipt has not reached WhatsApp yet. */
  @Prop({ type: Boolean }) readReceiptPending?: true;
  @Prop({ type: Date }) playedAt?: Date;
  @Prop({ type: Date }) failedAt?: Date;
  /** A status change whose effects (stats, event log) have not all run yet: since when (internal). */
  @Prop({ type: Date }) statusEffectsAt?: Date;
}

export const MessageSchema = SchemaFactory.createForClass(Message);
// One stored message per WhatsApp message of a session: redelivered events update, never duplicate.
MessageSchema.index(
  { sessionId: 1, waMessageId: 1 },
  { unique: true, partialFilterExpression: { waMessageId: { $exists: true } } },
);
// Edits and revokes by their target, also when they arrive before it.
MessageSchema.index(
  { sessionId: 1, targetId: 1 },
  { partialFilterExpression: { targetId: { $exists: true } } },
);
// History and filters (newest first), all scoped by organization.
MessageSchema.index({ organizationId: 1, timestamp: -1, _id: -1 });
MessageSchema.index({ organizationId: 1, sessionName: 1, chatJid: 1, timestamp: -1 });
// A conversation asked for by chat alone (`?chat=`, without sessionName).
MessageSchema.index({ organizationId: 1, chatJid: 1, timestamp: -1 });
MessageSchema.index({ organizationId: 1, status: 1, timestamp: -1 });
// Read receipts still to send (few at any time): which sessions have any, then a session's.
MessageSchema.index(
  { readReceiptPending: 1, sessionId: 1 },
  { partialFilterExpression: { readReceiptPending: true } },
);
// Status changes a crash cut off before their effects ran (few at any time).
MessageSchema.index(
  { statusEffectsAt: 1 },
  { partialFilterExpression: { statusEffectsAt: { $exists: true } } },
);
// Media downloads to resume at boot (few at any time).
MessageSchema.index(
  { 'media.downloadStatus': 1, _id: 1 },
  { partialFilterExpression: { 'media.downloadStatus': 'pending' } },
);
// The orphan media sweep: which stored media a message holds.
MessageSchema.index(
  { 'media.storageKey': 1 },
  { partialFilterExpression: { 'media.storageKey': { $exists: true } } },
);
// Outbox worker.
MessageSchema.index({ status: 1, nextAttemptAt: 1 });
MessageSchema.index({ sessionId: 1, status: 1, createdAt: 1 });
// Sends in flight by instance (a few at any time): at boot, those a crash of this instance cut off.
MessageSchema.index(
  { claimedBy: 1 },
  { partialFilterExpression: { claimedBy: { $exists: true } } },
);

import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { Types } from 'mongoose';

/**
 * A write-ahead note for first stores of messages: written before the messages, deleted once what
 * follows them (chat, stats, contacts, event log) ran. A row that outlives its grace period marks
 * a crash in between, and recovery replays those effects for the listed messages that exist.
 */
@Schema({ collection: 'message_creations', versionKey: false })
export class MessageCreation {
  _id: Types.ObjectId;
  @Prop({ type: String, required: true }) sessionId: string;
  /** Ids given to the messages before the insert: a stored one with such an id is this write's. */
  @Prop({ type: [String], required: true }) messageIds: string[];
  @Prop({ type: Date, required: true }) createdAt: Date;
  /** Recovery's lease (WriteAheadNotes), so two instances do not replay the same note at once. */
  @Prop({ type: Date }) claimedUntil?: Date;
}

export const MessageCreationSchema = SchemaFactory.createForClass(MessageCreation);
MessageCreationSchema.index({ createdAt: 1 });

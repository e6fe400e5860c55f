import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * Per-chat responsiveness state. `awaitingSince` = time of the first inbound message not answered
 * yet (absent when nothing waits); `lastOutAt` = our latest outgoing message in the chat.
 * `_id` = `${organizationId}|${sessionName}|${chatJid}`.
 */
@Schema({ collection: 'stats_chat_waits', versionKey: false })
export class StatsChatWait {
  @Prop({ type: String }) _id: string;
  @Prop({ type: String, required: true }) organizationId: string;
  @Prop({ type: String, required: true }) sessionName: string;
  @Prop({ type: String, required: true }) chatJid: string;
  @Prop({ type: Date }) awaitingSince?: Date;
  @Prop({ type: Date }) lastOutAt?: Date;
}

export const StatsChatWaitSchema = SchemaFactory.createForClass(StatsChatWait);
// Only read by `_id` (+ organizationId): no secondary index needed.

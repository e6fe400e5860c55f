import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * Per-chat responsiveness state, by message times. `awaitingSince` = time of the first inbound
 * message after our latest reply (absent when nothing waits); `lastOutAt` = our latest outgoing
 * message in the chat that went out; `lastInAt` = the latest inbound message (a reply older than
 * it leaves that one waiting). `_id` = `${organizationId}|${sessionName}|${chatJid}`.
 */
@Schema({ collection: 'stats_chat_waits', versionKey: false })
export class StatsChatWait {
  @Prop({ type: String }) _id: string;
  @Prop({ type: String, required: true }) organizationId: string;
  @Prop({ type: String, required: true }) sessionName: string;
  @Prop({ type: String, required: true }) chatJid: string;
  @Prop({ type: Date }) awaitingSince?: Date;
  @Prop({ type: Date }) lastOutAt?: Date;
  @Prop({ type: Date }) lastInAt?: Date;
}

export const StatsChatWaitSchema = SchemaFactory.createForClass(StatsChatWait);
// Only read by `_id` (+ organizationId): no secondary index needed.

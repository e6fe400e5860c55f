import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import {
  MESSAGE_DIRECTIONS,
  MESSAGE_STATUSES,
  type MessageDirection,
  type MessageStatus,
} from '../../messaging/message.types';

/**
 * What the counters currently hold for one message: inserted once (the unique `_id` makes a
 * redelivered `created` event a no-op) and advanced only forward by a conditional update (so a
 * duplicate or out-of-order status event is a no-op too). `_id` = the message id.
 */
@Schema({ collection: 'stats_message_states', versionKey: false })
export class StatsMessageState {
  @Prop({ type: String }) _id: string;
  @Prop({ type: String, required: true }) organizationId: string;
  @Prop({ type: String, required: true }) sessionName: string;
  @Prop({ type: String, required: true, enum: MESSAGE_DIRECTIONS }) direction: MessageDirection;
  /** Status the message is counted under. */
  @Prop({ type: String, required: true, enum: MESSAGE_STATUSES }) status: MessageStatus;
  /** Hour bucket of the message's creation time: every later status change lands there. */
  @Prop({ type: Date, required: true }) hour: Date;
}

export const StatsMessageStateSchema = SchemaFactory.createForClass(StatsMessageState);
// Only read by `_id` (+ organizationId): no secondary index needed.

import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import {
  MESSAGE_DIRECTIONS,
  MESSAGE_STATUSES,
  type MessageDirection,
  type MessageStatus,
} from '../../messaging/message.types';

/**
 * What the counters currently hold for one outgoing message: inserted once (the unique `_id` makes
 * a redelivered `created` event a no-op) and advanced only forward by a conditional update (so a
 * duplicate or out-of-order status event is a no-op too). Each change is noted in `pending` in the
 * same write and cleared once the counters hold it, so a replay after a crash finishes it (see
 * counter-marks). `_id` = the message id.
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
  /** The statuses counted, in order: a pending change to one of them moves from the one before. */
  @Prop({ type: [String], default: undefined }) path?: MessageStatus[];
  /**
   * Changes not yet in the counters, by key: `created` (with its increment and failure reason) or
   * the status moved to (with its failure reason); `at` = when the change was noted.
   */
  @Prop({ type: MongooseSchema.Types.Mixed, default: undefined })
  pending?: Record<string, { at?: Date; inc?: Record<string, number>; reason?: string }>;
  /**
   * Our reply that left `pending` for sent or beyond has answered its chat's wait (the status
   * handler's last step): absent while that is still to do, so a later status of the message, or
   * the replay of the change a crash cut off, answers it (the answer is idempotent).
   */
  @Prop({ type: Boolean, default: undefined }) answered?: boolean;
}

export const StatsMessageStateSchema = SchemaFactory.createForClass(StatsMessageState);
// Only read by `_id` (+ organizationId): no secondary index needed.

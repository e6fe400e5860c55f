import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * Failed outgoing messages per session, UTC hour and reason.
 * `_id` = `${organizationId}|${sessionName}|${hour ISO}|${reason}`.
 */
@Schema({ collection: 'stats_failure_reasons', versionKey: false })
export class StatsFailureReason {
  @Prop({ type: String }) _id: string;
  @Prop({ type: String, required: true }) organizationId: string;
  @Prop({ type: String, required: true }) sessionName: string;
  @Prop({ type: Date, required: true }) bucket: Date;
  @Prop({ type: String, required: true }) day: string;
  @Prop({ type: String, required: true }) reason: string;
  @Prop({ type: Number, required: true }) count: number;
}

export const StatsFailureReasonSchema = SchemaFactory.createForClass(StatsFailureReason);
StatsFailureReasonSchema.index({ organizationId: 1, day: 1 });

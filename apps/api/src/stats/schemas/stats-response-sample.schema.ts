import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * One first-response time: the first unanswered inbound message of a chat (`inboundAt`) to our
 * next outgoing message there (`respondedAt`). `_id` = the outgoing message id (one sample per reply).
 */
@Schema({ collection: 'stats_response_samples', versionKey: false })
export class StatsResponseSample {
  @Prop({ type: String }) _id: string;
  @Prop({ type: String, required: true }) organizationId: string;
  @Prop({ type: String, required: true }) sessionName: string;
  @Prop({ type: String, required: true }) chatJid: string;
  /** UTC day of `inboundAt`: samples belong to the window their inbound message falls in. */
  @Prop({ type: String, required: true }) day: string;
  @Prop({ type: Date, required: true }) inboundAt: Date;
  @Prop({ type: Date, required: true }) respondedAt: Date;
  @Prop({ type: Number, required: true }) responseMs: number;
}

export const StatsResponseSampleSchema = SchemaFactory.createForClass(StatsResponseSample);
// Exact-key lookup of the window's days (what the embedded store's hash indexes can answer)...
StatsResponseSampleSchema.index({ organizationId: 1, day: 1 });
// ...and the same keys ordered by responseMs so MongoDB answers the median's sort+skip from the index.
StatsResponseSampleSchema.index({ organizationId: 1, day: 1, responseMs: 1 });

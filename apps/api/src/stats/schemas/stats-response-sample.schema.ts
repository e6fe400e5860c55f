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
  /** `responseBin(responseMs)`: the median query reads one bin only. */
  @Prop({ type: Number, required: true }) bin: number;
  /**
   * `${organizationId}|${sessionName}|${chatJid}|${respondedAt ISO}`, unique: one sample per chat
   * and reply time. Replies of the same millisecond (an album sent from the phone) answer the same
   * wait, and only the first one counted holds its sample. Absent on samples stored before it.
   */
  @Prop({ type: String }) slot?: string;
}

export const StatsResponseSampleSchema = SchemaFactory.createForClass(StatsResponseSample);
// The median query pins organizationId + day ($in) + bin and sorts by responseMs. The embedded store
// answers the 3-field prefix from this index; MongoDB also serves the sort from it.
StatsResponseSampleSchema.index({ organizationId: 1, day: 1, bin: 1, responseMs: 1 });
// A reply placed out of order finds the sample whose wait it splits (StatsRecorder).
StatsResponseSampleSchema.index({ organizationId: 1, sessionName: 1, chatJid: 1, respondedAt: 1 });
// Replies of the same time in a chat: one sample (StatsRecorder.recordSample).
StatsResponseSampleSchema.index(
  { slot: 1 },
  { unique: true, partialFilterExpression: { slot: { $exists: true } } },
);
/** Indexes samples had and no longer declare, dropped at boot (ObsoleteIndexes). */
export const OBSOLETE_RESPONSE_SAMPLE_INDEXES = [
  'organizationId_1_day_1',
  'organizationId_1_day_1_responseMs_1',
] as const;

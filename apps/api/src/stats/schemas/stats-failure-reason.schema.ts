import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { STATS_GRANULARITIES, type StatsGranularity } from '../stats-range';

/**
 * Failed outgoing messages per session, UTC hour or day, and reason (both granularities are kept,
 * like the buckets, so a daily window reads day documents only).
 * `_id` = `${granularity}|${organizationId}|${sessionName}|${bucket ISO}|${reason}`.
 */
@Schema({ collection: 'stats_failure_reasons', versionKey: false })
export class StatsFailureReason {
  @Prop({ type: String }) _id: string;
  @Prop({ type: String, required: true }) organizationId: string;
  @Prop({ type: String, required: true }) sessionName: string;
  @Prop({ type: String, required: true, enum: STATS_GRANULARITIES }) granularity: StatsGranularity;
  /** Bucket start (UTC) of the message's creation time. */
  @Prop({ type: Date, required: true }) bucket: Date;
  @Prop({ type: String, required: true }) day: string;
  @Prop({ type: String, required: true }) reason: string;
  @Prop({ type: Number, required: true }) count: number;
  /** Markers of changes being applied (see counter-marks); empty between changes. */
  @Prop({ type: [String], default: undefined }) applied?: string[];
}

export const StatsFailureReasonSchema = SchemaFactory.createForClass(StatsFailureReason);
StatsFailureReasonSchema.index({ organizationId: 1, granularity: 1, day: 1 });
/** Indexes these rows had and no longer declare, dropped at boot (ObsoleteIndexes). */
export const OBSOLETE_FAILURE_REASON_INDEXES = ['organizationId_1_day_1'] as const;

import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import { STATS_GRANULARITIES, type StatsGranularity } from '../stats-range';

/**
 * Pre-aggregated counters of one session for one UTC hour or day. Maintained by `$inc` upserts from
 * messaging events; `_id` = `${granularity}|${organizationId}|${sessionName}|${bucket ISO}`.
 */
@Schema({ collection: 'stats_buckets', versionKey: false })
export class StatsBucket {
  @Prop({ type: String }) _id: string;
  @Prop({ type: String, required: true }) organizationId: string;
  @Prop({ type: String, required: true }) sessionName: string;
  @Prop({ type: String, required: true, enum: STATS_GRANULARITIES }) granularity: StatsGranularity;
  /** Bucket start (UTC). */
  @Prop({ type: Date, required: true }) bucket: Date;
  /** UTC day of `bucket` (`YYYY-MM-DD`): the equality key range queries use (`$in` of the days). */
  @Prop({ type: String, required: true }) day: string;
  /** Outgoing messages created in the bucket. */
  @Prop({ type: Number }) sent?: number;
  /** Incoming messages created in the bucket. */
  @Prop({ type: Number }) received?: number;
  /** Outgoing messages by current status. */
  @Prop({ type: MongooseSchema.Types.Mixed }) byStatus?: Record<string, number>;
  /** All messages (both directions) by type. */
  @Prop({ type: MongooseSchema.Types.Mixed }) byType?: Record<string, number>;
  /** First-response samples per histogram bin (`responseBin`), counted at the inbound message's time. */
  @Prop({ type: MongooseSchema.Types.Mixed }) rt?: Record<string, number>;
  /** Markers of changes being applied (see counter-marks); empty between changes. */
  @Prop({ type: [String], default: undefined }) applied?: string[];
}

export const StatsBucketSchema = SchemaFactory.createForClass(StatsBucket);
// The stats route: one organization, one granularity, the days of the window ($in).
StatsBucketSchema.index({ organizationId: 1, granularity: 1, day: 1 });
// "Is this a session we ever counted?" (404 check for a session that no longer exists).
StatsBucketSchema.index({ organizationId: 1, sessionName: 1 });

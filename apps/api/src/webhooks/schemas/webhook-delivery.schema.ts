import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { type HydratedDocument, Schema as MongooseSchema, Types } from 'mongoose';
import { EVENT_TYPES } from '../../events/events.types';

export const DELIVERY_STATUSES = ['pending', 'delivering', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const DELIVERY_RETENTION_SECONDS = 7 * 86_400;

/**
 * One event for one webhook. A lane is (webhookId, sessionName): its oldest unfinished row (by
 * eventSeq, then eventId) is the only one that may be attempted, which keeps each session's
 * events in order.
 */
@Schema({ collection: 'webhook_deliveries', timestamps: true })
export class WebhookDelivery {
  @Prop({ type: String, required: true })
  organizationId: string;

  @Prop({ type: MongooseSchema.Types.ObjectId, required: true })
  webhookId: Types.ObjectId;

  @Prop({ type: MongooseSchema.Types.ObjectId, required: true })
  eventId: Types.ObjectId;

  /**
   * The event's number in its organization's sequence (one order for every instance; an event id's
   * time is its instance's clock). Unset for events stored before the sequence existed.
   */
  @Prop({ type: Number })
  eventSeq?: number;

  @Prop({ type: String, required: true, enum: EVENT_TYPES })
  eventType: string;

  @Prop({ type: String, default: '' })
  sessionName: string;

  @Prop({ type: String, required: true, enum: DELIVERY_STATUSES })
  status: DeliveryStatus;

  @Prop({ type: Number, default: 0 })
  attempts: number;

  @Prop({ type: Date, required: true })
  nextAttemptAt: Date;

  /** While `delivering`: the claim expires then (crash) and the row becomes pending again. */
  @Prop({ type: Date })
  leaseUntil?: Date;

  /**
   * While `delivering`: the instance that claimed it. A restart under the same instance id knows
   * the claim was its own (a crash cut the attempt off) and makes it pending at once.
   */
  @Prop({ type: String })
  leaseOwner?: string;

  /** Start of the 24 h retry window (creation, or the last manual retry). */
  @Prop({ type: Date, required: true })
  windowStart: Date;

  @Prop({ type: Date })
  lastAttemptAt?: Date;

  @Prop({ type: Number })
  lastResponseCode?: number;

  @Prop({ type: String })
  lastError?: string;

  @Prop({ type: Number })
  lastDurationMs?: number;

  @Prop({ type: Date })
  deliveredAt?: Date;

  @Prop({ type: Date })
  failedAt?: Date;

  createdAt: Date;
  updatedAt: Date;
}

export type WebhookDeliveryDocument = HydratedDocument<WebhookDelivery>;
export const WebhookDeliverySchema = SchemaFactory.createForClass(WebhookDelivery);
// Fan-out is idempotent (recovery may run it twice).
WebhookDeliverySchema.index({ webhookId: 1, eventId: 1 }, { unique: true });
// Lane head: unfinished rows of one webhook and session.
WebhookDeliverySchema.index({ webhookId: 1, sessionName: 1, status: 1 });
// Worker poll: due pending rows and expired leases; at boot, the instance's own claims (`delivering`
// rows are the attempts in flight, a few per instance). Status alone: the unfinished set is small,
// and the embedded store only uses an index whose every field is matched by equality.
WebhookDeliverySchema.index({ status: 1 });
// Listing, newest event first: a page is read in index order, never sorted in memory.
WebhookDeliverySchema.index({ organizationId: 1, webhookId: 1, eventId: -1 });
WebhookDeliverySchema.index({ createdAt: 1 }, { expireAfterSeconds: DELIVERY_RETENTION_SECONDS });
/** Indexes deliveries had and no longer declare, dropped at boot (ObsoleteIndexes). */
export const OBSOLETE_DELIVERY_INDEXES = [
  'status_1_nextAttemptAt_1',
  // The listing's, in _id order while it sorts by eventId.
  'organizationId_1_webhookId_1__id_-1',
] as const;

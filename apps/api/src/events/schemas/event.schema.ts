import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { type HydratedDocument, Schema as MongooseSchema, Types } from 'mongoose';
import { EVENT_TYPES, type EventType } from '../events.types';

export const EVENT_RETENTION_SECONDS = 7 * 86_400;

/**
 * The durable outbox: one row per public event. `_id` is the event id (time-ordered, see
 * EventIdGenerator). The webhook fan-out of a batch is tracked by the fan-out ledger of its
 * organization's sequence row (EventSequencesRepository); `fanoutPending: true` marks rows written
 * before that ledger existed and not fanned out yet.
 */
@Schema({ collection: 'events', versionKey: false, minimize: false })
export class OutboxEvent {
  @Prop({ type: MongooseSchema.Types.ObjectId })
  _id: Types.ObjectId;

  @Prop({ type: String, required: true })
  organizationId: string;

  @Prop({ type: String, required: true, enum: EVENT_TYPES })
  type: EventType;

  @Prop({ type: String, default: '' })
  sessionName: string;

  @Prop({ type: Date, required: true })
  occurredAt: Date;

  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  data: Record<string, unknown>;

  @Prop({ type: Boolean, default: true })
  fanoutPending: boolean;

  /** The organization's event sequence number (see StoredEvent.seq). */
  @Prop({ type: Number })
  seq?: number;

  /** `seq` / SEQ_BLOCK, rounded down: what reads by sequence look up (see EventsRepository). */
  @Prop({ type: Number })
  seqBlock?: number;

  /** Set for events announced at most once (see NewEvent.sourceKey). */
  @Prop({ type: String })
  sourceKey?: string;

  /** Write time: drives the TTL retention (and the fan-out recovery's grace period). */
  @Prop({ type: Date, required: true })
  createdAt: Date;
}

export type OutboxEventDocument = HydratedDocument<OutboxEvent>;
export const OutboxEventSchema = SchemaFactory.createForClass(OutboxEvent);
// SSE resume: events of an organization after an id.
OutboxEventSchema.index({ organizationId: 1, _id: 1 });
// Live streams and resume: an organization's events by sequence block, then number.
OutboxEventSchema.index({ organizationId: 1, seqBlock: 1, seq: 1 });
// Fan-out recovery after a crash between the event write and its deliveries.
OutboxEventSchema.index({ fanoutPending: 1 });
// A replayed announcement (crash recovery) finds its first copy.
OutboxEventSchema.index(
  { sourceKey: 1 },
  { unique: true, partialFilterExpression: { sourceKey: { $exists: true } } },
);
OutboxEventSchema.index({ createdAt: 1 }, { expireAfterSeconds: EVENT_RETENTION_SECONDS });
/** Indexes events had and no longer declare, dropped at boot (ObsoleteIndexes). */
export const OBSOLETE_EVENT_INDEXES = ['organizationId_1_seq_1'] as const;

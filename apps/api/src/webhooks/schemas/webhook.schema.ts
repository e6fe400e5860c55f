import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { HydratedDocument } from 'mongoose';
import { ORGANIZATION_SLOT_INDEX } from '@app/common';

/** A subscriber URL of an organization. `secret` signs deliveries; it is shown to the user only on create/rotate. */
@Schema({ collection: 'webhooks', timestamps: true })
export class Webhook {
  @Prop({ type: String, required: true })
  organizationId: string;

  @Prop({ type: String, required: true })
  url: string;

  /** Event types, or ['*'] for all. */
  @Prop({ type: [String], required: true })
  events: string[];

  /** Only events of this session; unset = every session. */
  @Prop({ type: String })
  sessionName?: string;

  @Prop({ type: Boolean, default: true })
  enabled: boolean;

  /**
   * The organization's last event sequence number when the webhook was created: it gets the
   * events numbered after it (one counter for every instance, unlike their clocks). Unset on
   * webhooks created before it was kept: their `createdAt` decides.
   */
  @Prop({ type: Number })
  sinceSeq?: number;

  @Prop({ type: String, required: true })
  secret: string;

  /** Its place among the organization's webhooks, which holds their limit (see organization-slots). */
  @Prop({ type: Number })
  slot?: number;

  /** Set when the gateway disabled the webhook (failing for 24 h); cleared when re-enabled. */
  @Prop({ type: String })
  disabledReason?: string;

  @Prop({ type: Date })
  disabledAt?: Date;

  /** Start of the current run of failed attempts; cleared by a success. */
  @Prop({ type: Date })
  failingSince?: Date;

  @Prop({ type: Date })
  lastFailureAt?: Date;

  @Prop({ type: String })
  lastError?: string;

  createdAt: Date;
  updatedAt: Date;
}

export type WebhookDocument = HydratedDocument<Webhook>;
export const WebhookSchema = SchemaFactory.createForClass(Webhook);
WebhookSchema.index({ organizationId: 1 });
WebhookSchema.index(...ORGANIZATION_SLOT_INDEX);

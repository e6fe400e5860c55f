import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { ORGANIZATION_SLOT_INDEX } from '@app/common';
import type { WaSessionStatus, WaStatusAnnouncement } from './session-state';

export const WA_SESSION_STATUSES: WaSessionStatus[] = [
  'connecting',
  'qr_ready',
  'connected',
  'disconnected',
  'logged_out',
  'failed',
];

@Schema({ _id: false, versionKey: false })
export class WhatsAppSessionLease {
  @Prop({ required: true })
  owner: string;

  @Prop({ required: true })
  expiresAt: Date;

  @Prop()
  token?: string;
}

@Schema({ collection: 'whatsapp_sessions', timestamps: true, versionKey: false })
export class WhatsAppSession {
  @Prop({ required: true, unique: true })
  sessionId: string;

  @Prop({ required: true, index: true })
  organizationId: string;

  @Prop({ required: true })
  sessionName: string;

  @Prop({ type: String, required: true, enum: WA_SESSION_STATUSES, default: 'disconnected' })
  status: WaSessionStatus;

  @Prop()
  statusChangedAt?: Date;

  @Prop()
  initialStatus?: boolean;

  @Prop()
  phone?: string;

  @Prop()
  jid?: string;

  @Prop()
  lid?: string;

  @Prop()
  pushName?: string;

  @Prop()
  qr?: string;

  @Prop()
  qrExpiresAt?: Date;

  @Prop()
  lastError?: string;

  @Prop()
  lastActivityAt?: Date;

  @Prop()
  connectedAt?: Date;

  @Prop()
  loggedOutAt?: Date;

  @Prop()
  stoppedUntilAsked?: boolean;

  @Prop({ type: WhatsAppSessionLease })
  lease?: WhatsAppSessionLease;

  /** The epoch of the lease's last take: the session's auth writes are fenced by it. */
  @Prop({ type: Number })
  leaseEpoch?: number;

  @Prop({ type: Object })
  announcing?: WaStatusAnnouncement;

  /** Its place among the organization's sessions, which holds their limit (see organization-slots). */
  @Prop({ type: Number })
  slot?: number;

  createdAt: Date;
  updatedAt: Date;
}

export const WhatsAppSessionSchema = SchemaFactory.createForClass(WhatsAppSession);
WhatsAppSessionSchema.index({ organizationId: 1, sessionName: 1 }, { unique: true });
WhatsAppSessionSchema.index(...ORGANIZATION_SLOT_INDEX);
// Sessions stopped for a reason (the module gate finds the ones its switch-off stopped).
WhatsAppSessionSchema.index({ lastError: 1 }, { sparse: true });
WhatsAppSessionSchema.index(
  { 'announcing.at': 1 },
  { partialFilterExpression: { announcing: { $exists: true } } },
);

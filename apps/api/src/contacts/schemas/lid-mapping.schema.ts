import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { HydratedDocument } from 'mongoose';

/**
 * Which phone number a LID belongs to, as WhatsApp revealed it to one session. Kept apart from
 * the contacts, so a mapping that arrives before the contact it concerns exists (or while the
 * message that will create it is still being ingested) is there when the contact is written.
 */
@Schema({ collection: 'contact_lid_mappings', timestamps: true })
export class LidMapping {
  @Prop({ type: String, required: true })
  organizationId: string;

  /** `${organizationId}_${sessionName}`. */
  @Prop({ type: String, required: true })
  sessionId: string;

  /** `<id>@lid`. */
  @Prop({ type: String, required: true })
  lid: string;

  /** E.164 digits without '+'. */
  @Prop({ type: String, required: true })
  phone: string;

  createdAt: Date;
  updatedAt: Date;
}

export type LidMappingDocument = HydratedDocument<LidMapping>;
export const LidMappingSchema = SchemaFactory.createForClass(LidMapping);
LidMappingSchema.index({ organizationId: 1, sessionId: 1, lid: 1 }, { unique: true });
LidMappingSchema.index({ organizationId: 1, sessionId: 1, phone: 1 });

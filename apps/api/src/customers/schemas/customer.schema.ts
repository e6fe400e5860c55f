import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { HydratedDocument } from 'mongoose';

/** A minimal CRM customer; WhatsApp contacts link to it by normalized phone. */
@Schema({ collection: 'customers', timestamps: true })
export class Customer {
  @Prop({ type: String, required: true })
  organizationId: string;

  @Prop({ type: String, required: true, trim: true })
  name: string;

  /** E.164 digits without '+', as produced by `normalizePhone`. */
  @Prop({ type: String })
  phone?: string;

  /** The phone exactly as the user typed it (display only). */
  @Prop({ type: String })
  phoneInput?: string;

  @Prop({ type: String, lowercase: true, trim: true })
  email?: string;

  /** Lower-cased name and its word suffixes, for an indexed, anchored prefix search. */
  @Prop({ type: [String], default: [] })
  searchName: string[];

  /** The phone's suffixes (phoneSearchKeys), so a search finds digits anywhere in it. */
  @Prop({ type: [String], default: [] })
  searchPhone: string[];

  createdAt: Date;
  updatedAt: Date;
}

export type CustomerDocument = HydratedDocument<Customer>;
export const CustomerSchema = SchemaFactory.createForClass(Customer);
CustomerSchema.index({ organizationId: 1, phone: 1, createdAt: 1 });
CustomerSchema.index({ organizationId: 1, searchName: 1 });
CustomerSchema.index({ organizationId: 1, searchPhone: 1 });
CustomerSchema.index({ organizationId: 1, email: 1 });
CustomerSchema.index({ organizationId: 1, createdAt: -1 });

import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { HydratedDocument } from 'mongoose';

export const ORGANIZATION_MODULES = [
  'whatsapp',
  'crm',
  'attendance',
  'projects',
  'tasks',
  'invoices',
  'reports',
] as const;
export type OrganizationModuleName = (typeof ORGANIZATION_MODULES)[number];
export const DEFAULT_MODULES: OrganizationModuleName[] = ['whatsapp', 'crm'];

@Schema({ collection: 'organizations', timestamps: true })
export class Organization {
  @Prop({ required: true, trim: true })
  name: string;

  @Prop({ type: [String], default: DEFAULT_MODULES })
  modules: OrganizationModuleName[];

  createdAt: Date;
  updatedAt: Date;
}

export type OrganizationDocument = HydratedDocument<Organization>;
export const OrganizationSchema = SchemaFactory.createForClass(Organization);

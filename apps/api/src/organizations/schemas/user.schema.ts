import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Types, type HydratedDocument } from 'mongoose';

export const USER_ROLES = ['owner', 'admin', 'member'] as const;
export type UserRole = (typeof USER_ROLES)[number];

@Schema({ collection: 'users', timestamps: true })
export class User {
  @Prop({ type: Types.ObjectId, required: true, index: true })
  organizationId: Types.ObjectId;

  @Prop({ required: true, trim: true })
  name: string;

  /** Stored lower-cased; the unique index makes registration race-free. */
  @Prop({ required: true, lowercase: true, trim: true, unique: true })
  email: string;

  @Prop()
  phone?: string;

  @Prop({ required: true })
  passwordHash: string;

  @Prop({ type: String, required: true, enum: USER_ROLES })
  role: UserRole;

  @Prop({ default: false })
  disabled: boolean;

  /**
   * Raised each time the user is disabled. Tokens carry the version they were issued under (`ver`),
   * so a token from before a disable stays dead after the user is enabled again.
   */
  @Prop({ default: 0 })
  tokenVersion: number;

  createdAt: Date;
  updatedAt: Date;
}

export type UserDocument = HydratedDocument<User>;
export const UserSchema = SchemaFactory.createForClass(User);
UserSchema.index({ organizationId: 1, role: 1 });

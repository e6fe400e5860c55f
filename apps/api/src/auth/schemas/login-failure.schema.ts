import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** One failed login; a TTL index forgets it after the window. Shared by all instances. */
@Schema({ collection: 'login_failures', versionKey: false })
export class LoginFailure {
  @Prop({ required: true })
  email: string;

  @Prop({ required: true })
  at: Date;

  @Prop({ required: true })
  expiresAt: Date;
}

export const LoginFailureSchema = SchemaFactory.createForClass(LoginFailure);
LoginFailureSchema.index({ email: 1, at: -1 });
LoginFailureSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

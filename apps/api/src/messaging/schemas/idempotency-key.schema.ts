import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** Idempotency-Key claims for sends; the unique index decides races, the TTL index forgets them after 24 h. */
@Schema({ collection: 'idempotency_keys', versionKey: false })
export class IdempotencyKey {
  @Prop({ type: String, required: true }) organizationId: string;
  @Prop({ type: String, required: true }) key: string;
  @Prop({ type: String, required: true }) messageId: string;
  /** Hash of the request that claimed the key (sendFingerprint); absent on keys stored before it. */
  @Prop({ type: String }) fingerprint?: string;
  @Prop({ type: Date, required: true }) expiresAt: Date;
}

export const IdempotencyKeySchema = SchemaFactory.createForClass(IdempotencyKey);
IdempotencyKeySchema.index({ organizationId: 1, key: 1 }, { unique: true });
IdempotencyKeySchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** One auth row: creds (type 'creds', id 'creds') or one signal key. */
@Schema({ collection: 'wa_auth_state', versionKey: false })
export class WaAuthKey {
  @Prop({ required: true })
  sessionId: string;

  @Prop({ required: true })
  type: string;

  @Prop({ required: true })
  id: string;

  /** JSON encoded with BufferJSON semantics (Buffers as base64). */
  @Prop({ required: true })
  value: string;
}

export const WaAuthKeySchema = SchemaFactory.createForClass(WaAuthKey);
WaAuthKeySchema.index({ sessionId: 1, type: 1, id: 1 }, { unique: true });

import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import type { HolderAnswer, HolderRequest } from './holder-request';

/** A request left for the instance holding a session (see HolderRelay); gone after `expiresAt`. */
@Schema({ collection: 'whatsapp_session_requests', versionKey: false })
export class SessionHolderRequest {
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ required: true })
  sessionId: string;

  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  request: HolderRequest;

  /** `asked` until a holder takes it, or `withdrawn` by an asker that stopped waiting. */
  @Prop({ type: String, required: true, enum: ['asked', 'taken', 'withdrawn'] })
  state: 'asked' | 'taken' | 'withdrawn';

  @Prop({ required: true })
  askedBy: string;

  /** Nobody waits for the answer: its own asker may take it too (see LeftRequest). */
  @Prop()
  told?: boolean;

  @Prop()
  takenBy?: string;

  @Prop({ type: MongooseSchema.Types.Mixed })
  answer?: HolderAnswer;

  @Prop({ required: true })
  expiresAt: Date;
}

export const SessionHolderRequestSchema = SchemaFactory.createForClass(SessionHolderRequest);
// Holders look for open requests to the sessions they hold.
SessionHolderRequestSchema.index({ state: 1, sessionId: 1 });
SessionHolderRequestSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });
/** Indexes holder requests had and no longer declare, dropped at boot (ObsoleteIndexes). */
export const OBSOLETE_HOLDER_REQUEST_INDEXES = ['state_1'] as const;

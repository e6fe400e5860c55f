import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** A session deletion not yet announced (see WaSessionDeletionNote). */
@Schema({ collection: 'whatsapp_session_deletions', versionKey: false })
export class SessionDeletionNote {
  @Prop({ required: true })
  sessionId: string;

  @Prop({ required: true })
  organizationId: string;

  @Prop({ required: true })
  sessionName: string;

  @Prop()
  phone?: string;

  @Prop({ required: true })
  sessionCreatedAt: Date;

  @Prop({ required: true })
  at: Date;
}

export const SessionDeletionNoteSchema = SchemaFactory.createForClass(SessionDeletionNote);
// One note per deletion: a session is created, and so deleted, once per `sessionCreatedAt`.
SessionDeletionNoteSchema.index({ sessionId: 1, sessionCreatedAt: 1 }, { unique: true });
// The recovery pass reads the notes older than a grace.
SessionDeletionNoteSchema.index({ at: 1 });

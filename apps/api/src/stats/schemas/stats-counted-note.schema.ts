import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';

/** How long a claim is kept: far longer than any crash replay of its note can come late. */
export const COUNTED_NOTE_RETENTION_SECONDS = 7 * 24 * 3600;

/**
 * Received messages are counted once per write-ahead note they were stored under (one note per
 * ingest batch): this row, inserted before the counters move, is the claim (unique `_id` = the
 * note id), and holds the batch's increments as `pending` until the counters hold them, so a crash
 * replay of the note finishes them exactly once (see counter-marks). One row per batch instead of
 * one state row per message: received messages have no delivery status for the counters to follow.
 */
@Schema({ collection: 'stats_counted_notes', versionKey: false })
export class StatsCountedNote {
  @Prop({ type: String }) _id: string;
  @Prop({ type: Date, required: true }) createdAt: Date;
  /** The batch's increments, per session and hour, until they are in the counters. */
  @Prop({ type: MongooseSchema.Types.Mixed, default: undefined })
  pending?: Array<{
    organizationId: string;
    sessionName: string;
    at: Date;
    inc: Record<string, number>;
  }>;
}

export const StatsCountedNoteSchema = SchemaFactory.createForClass(StatsCountedNote);
StatsCountedNoteSchema.index(
  { createdAt: 1 },
  { expireAfterSeconds: COUNTED_NOTE_RETENTION_SECONDS },
);

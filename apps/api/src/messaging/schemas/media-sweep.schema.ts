import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * The orphan media sweep's state (one document, see MediaOrphanSweep): which pass holds it (a
 * lease, so the passes of several instances never overlap) and where the last pass stopped.
 */
@Schema({ collection: 'media_sweeps', versionKey: false })
export class MediaSweep {
  @Prop({ type: String }) _id: string;
  /** The last media key looked at: the next pass goes on after it (none: from the first key). */
  @Prop({ type: String }) cursor?: string;
  /**
   * Where the last pass's look for writes a crash cut off stopped (MediaStorage
   * deleteUnfinishedBefore): the next goes on after it (none: from the start).
   */
  @Prop({ type: String }) unfinishedCursor?: string;
  /** The lease of the pass under way. */
  @Prop({ type: Date }) claimedUntil?: Date;
}

export const MediaSweepSchema = SchemaFactory.createForClass(MediaSweep);

import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { type ClaimedNote, WriteAheadNotes } from '@app/common';
import { MessageCreation } from './schemas/message-creation.schema';

/**
 * A note older than this, and not held, was cut off by a crash: a live one is closed within
 * milliseconds, or held while its effects wait in a backlog (see InboundIngestService).
 */
export const EFFECTS_GRACE_MS = 30_000;

export type OpenCreation = ClaimedNote<{ sessionId: string; messageIds: string[] }>;

/** The `message_creations` write-ahead notes (see MessageCreation). */
@Injectable()
export class MessageCreationsRepository {
  private readonly notes: WriteAheadNotes<{ sessionId: string; messageIds: string[] }>;

  constructor(@InjectModel(MessageCreation.name) model: Model<MessageCreation>) {
    this.notes = new WriteAheadNotes(model.collection);
  }

  async open(sessionId: string, messageIds: string[]): Promise<OpenCreation> {
    return { id: await this.notes.open({ sessionId, messageIds }), sessionId, messageIds };
  }

  /** Closes these notes, in one write. */
  close(ids: string[]): Promise<void> {
    return this.notes.closeAll(ids);
  }

  /** Keeps recovery off these open notes for `leaseMs` more. */
  hold(ids: string[], leaseMs: number): Promise<void> {
    return this.notes.hold(ids, leaseMs);
  }

  /** Leases the oldest note written before `before` that nobody holds; undefined when none is left. */
  claimStale(before: Date, leaseMs: number): Promise<OpenCreation | undefined> {
    return this.notes.claimStale(before, leaseMs);
  }
}

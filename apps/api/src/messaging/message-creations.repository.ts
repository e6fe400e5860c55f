import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { type Model, Types } from 'mongoose';
import { MessageCreation } from './schemas/message-creation.schema';

export interface OpenCreation {
  id: string;
  sessionId: string;
  messageIds: string[];
}

/** The `message_creations` write-ahead rows (see MessageCreation). */
@Injectable()
export class MessageCreationsRepository {
  constructor(@InjectModel(MessageCreation.name) private readonly model: Model<MessageCreation>) {}

  async open(sessionId: string, messageIds: string[]): Promise<OpenCreation> {
    const _id = new Types.ObjectId();
    await this.model.collection.insertOne({ _id, sessionId, messageIds, createdAt: new Date() });
    return { id: _id.toHexString(), sessionId, messageIds };
  }

  async close(id: string): Promise<void> {
    await this.model.collection.deleteOne({ _id: new Types.ObjectId(id) });
  }

  /** Leases the oldest row written before `before` that nobody holds; undefined when none is left. */
  async claimStale(before: Date, leaseMs: number): Promise<OpenCreation | undefined> {
    const now = new Date();
    const row = await this.model.collection.findOneAndUpdate(
      {
        createdAt: { $lt: before },
        $or: [{ claimedUntil: { $exists: false } }, { claimedUntil: { $lt: now } }],
      },
      { $set: { claimedUntil: new Date(now.getTime() + leaseMs) } },
      { sort: { createdAt: 1 }, returnDocument: 'after' },
    );
    if (!row) return undefined;
    return { id: row._id.toHexString(), sessionId: row.sessionId, messageIds: row.messageIds };
  }
}

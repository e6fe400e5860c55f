import { isDuplicateKeyError } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { IdempotencyKey } from './schemas/idempotency-key.schema';

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

@Injectable()
export class IdempotencyRepository {
  constructor(@InjectModel(IdempotencyKey.name) private readonly model: Model<IdempotencyKey>) {}

  /** Claims the key for messageId; returns the message id that owns the key (ours, or an earlier one's). */
  async claim(organizationId: string, key: string, messageId: string, now: Date): Promise<string> {
    const expired = { organizationId, key, expiresAt: { $lte: now } };
    await this.model.deleteOne(expired).exec(); // a key older than 24 h may be reused
    try {
      await this.model.create({
        organizationId,
        key,
        messageId,
        expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS),
      });
      return messageId;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const existing = await this.model.findOne({ organizationId, key }).lean().exec();
      if (!existing) throw error;
      return existing.messageId;
    }
  }

  async release(organizationId: string, key: string, messageId: string): Promise<void> {
    await this.model.deleteOne({ organizationId, key, messageId }).exec();
  }
}

import { isDuplicateKeyError } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { IdempotencyKey } from './schemas/idempotency-key.schema';

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** Inserts a claim tries when each refusal's holder was gone by the time it was read. */
const CLAIM_ATTEMPTS = 3;

/** A claim on a key: the message it is for and the claiming request's fingerprint. */
export interface IdempotencyClaim {
  messageId: string;
  fingerprint?: string;
}

/** Who holds a key, and since when. */
export interface IdempotencyHolder extends IdempotencyClaim {
  claimedAt: Date;
}

@Injectable()
export class IdempotencyRepository {
  constructor(@InjectModel(IdempotencyKey.name) private readonly model: Model<IdempotencyKey>) {}

  /**
   * Claims the key for messageId; returns the key's holder (this claim, or an earlier one). A
   * holder that released the key between the refused insert and the read (its request failed) is
   * gone: the key is claimed again, a few times at most.
   */
  async claim(
    organizationId: string,
    key: string,
    claim: IdempotencyClaim,
    now: Date,
  ): Promise<IdempotencyHolder> {
    const expired = { organizationId, key, expiresAt: { $lte: now } };
    await this.model.deleteOne(expired).exec(); // a key older than 24 h may be reused
    for (let attempt = 1; ; attempt++) {
      try {
        await this.model.create({
          organizationId,
          key,
          ...claim,
          expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS),
        });
        return { ...claim, claimedAt: now };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        const holder = await this.holderOf(organizationId, key);
        if (holder) return holder;
        if (attempt >= CLAIM_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Replaces a claim whose request never stored its message (its process died between the claim
   * and the insert) with this one. Only that claim is removed, so of two retries taking it over at
   * once one wins; the other gets the winner as holder.
   */
  async takeOver(
    organizationId: string,
    key: string,
    abandonedMessageId: string,
    claim: IdempotencyClaim,
    now: Date,
  ): Promise<IdempotencyHolder> {
    await this.model.deleteOne({ organizationId, key, messageId: abandonedMessageId }).exec();
    return this.claim(organizationId, key, claim, now);
  }

  /**
   * Points this request's claim at the id its message is stored under (made at the insert, see
   * SendMessageUseCase.accept). False when the claim is no longer this request's (taken over as
   * abandoned).
   */
  async moveClaim(
    organizationId: string,
    key: string,
    fromMessageId: string,
    toMessageId: string,
  ): Promise<boolean> {
    const res = await this.model
      .updateOne(
        { organizationId, key, messageId: fromMessageId },
        { $set: { messageId: toMessageId } },
      )
      .exec();
    return res.matchedCount === 1;
  }

  /** Who holds the key now (its claim moves to the message's id once that is stored). */
  async holderOf(organizationId: string, key: string): Promise<IdempotencyHolder | null> {
    const existing = await this.model
      .findOne({ organizationId, key }, { messageId: 1, fingerprint: 1, expiresAt: 1 })
      .lean()
      .exec();
    return (
      existing && {
        messageId: existing.messageId,
        fingerprint: existing.fingerprint,
        claimedAt: new Date(existing.expiresAt.getTime() - IDEMPOTENCY_TTL_MS),
      }
    );
  }

  async release(organizationId: string, key: string, messageId: string): Promise<void> {
    await this.model.deleteOne({ organizationId, key, messageId }).exec();
  }
}

import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { isDuplicateKeyError } from '@app/common';
import { type MessageStatus, statusRank } from './message.types';
import { EarlyReceipt } from './schemas/early-receipt.schema';

/** How long the receipts of a message not stored yet are kept (see EarlyReceipt). */
export const EARLY_RECEIPT_TTL_MS = 7 * 24 * 60 * 60_000;

export type EarlyReceiptRecord = Pick<EarlyReceipt, 'waMessageId' | 'receipts' | 'furthest'>;

/** The `early_receipts` of a session's messages not stored yet (see EarlyReceipt). */
@Injectable()
export class EarlyReceiptsRepository {
  constructor(@InjectModel(EarlyReceipt.name) private readonly model: Model<EarlyReceipt>) {}

  /**
   * Folds a receipt into those its message holds (foldReceipt, in the database): added only if it
   * goes further than every earlier one. Safe to repeat: a repeat goes no further, and is dropped.
   */
  async hold(
    sessionId: string,
    waMessageId: string,
    receipt: { status: MessageStatus; at: Date },
  ): Promise<void> {
    const { status, at } = receipt;
    const furthest = statusRank(status);
    const filter = { sessionId, waMessageId, furthest: { $lt: furthest } };
    const update = {
      $push: { receipts: { status, at } },
      $set: { furthest, expiresAt: new Date(Date.now() + EARLY_RECEIPT_TTL_MS) },
    };
    try {
      await this.model.updateOne(filter, update, { upsert: true }).exec();
    } catch (err) {
      // Held already, with this status or a further one (an upsert then inserts a duplicate).
      if (!isDuplicateKeyError(err)) throw err;
      await this.model.updateOne(filter, update).exec();
    }
  }

  findOf(sessionId: string, waMessageIds: string[]): Promise<EarlyReceiptRecord[]> {
    return this.model
      .find(
        { sessionId, waMessageId: { $in: waMessageIds } },
        { _id: 0, waMessageId: 1, receipts: 1, furthest: 1 },
      )
      .lean<EarlyReceiptRecord[]>()
      .exec();
  }

  /** Forgets receipts once applied, unless a further one was folded in meanwhile (not applied yet). */
  async remove(sessionId: string, held: EarlyReceiptRecord): Promise<void> {
    await this.model
      .deleteOne({ sessionId, waMessageId: held.waMessageId, furthest: held.furthest })
      .exec();
  }
}

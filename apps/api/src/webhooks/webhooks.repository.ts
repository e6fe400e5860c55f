import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types, type UpdateQuery } from 'mongoose';
import { insertInFreeSlot, usedSlotsOf } from '@app/common';
import { Webhook } from './schemas/webhook.schema';

export type WebhookRecord = Webhook & { _id: Types.ObjectId };

const asId = (id: string) =>
  Types.ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id) ? new Types.ObjectId(id) : null;

@Injectable()
export class WebhooksRepository {
  constructor(@InjectModel(Webhook.name) private readonly model: Model<Webhook>) {}

  /** Created in a free slot of its organization; undefined when `limit` webhooks hold them all. */
  createWithin(
    limit: number,
    input: Pick<
      Webhook,
      'organizationId' | 'url' | 'events' | 'sessionName' | 'enabled' | 'secret' | 'sinceSeq'
    >,
  ): Promise<WebhookRecord | undefined> {
    return insertInFreeSlot(
      () => usedSlotsOf(this.model.collection, input.organizationId),
      limit,
      async (slot) => (await this.model.create({ ...input, slot })).toObject<WebhookRecord>(),
    );
  }

  findOwned(organizationId: string, id: string): Promise<WebhookRecord | null> {
    const _id = asId(id);
    return _id
      ? this.model.findOne({ _id, organizationId }).lean<WebhookRecord>().exec()
      : Promise.resolve(null);
  }

  findById(id: string): Promise<WebhookRecord | null> {
    const _id = asId(id);
    return _id ? this.model.findById(_id).lean<WebhookRecord>().exec() : Promise.resolve(null);
  }

  listByOrganization(organizationId: string): Promise<WebhookRecord[]> {
    return this.model
      .find({ organizationId })
      .sort({ createdAt: 1, _id: 1 })
      .lean<WebhookRecord[]>()
      .exec();
  }

  updateOwned(
    organizationId: string,
    id: string,
    update: UpdateQuery<Webhook>,
  ): Promise<WebhookRecord | null> {
    const _id = asId(id);
    if (!_id) return Promise.resolve(null);
    return this.model
      .findOneAndUpdate({ _id, organizationId }, update, { returnDocument: 'after' })
      .lean<WebhookRecord>()
      .exec();
  }

  async deleteOwned(organizationId: string, id: string): Promise<boolean> {
    const _id = asId(id);
    if (!_id) return false;
    return (await this.model.deleteOne({ _id, organizationId }).exec()).deletedCount === 1;
  }

  /** A failed attempt: start (or continue) the failing run. Returns the webhook after the write. */
  async recordFailure(id: Types.ObjectId, at: Date, error: string): Promise<WebhookRecord | null> {
    await this.model
      .updateOne({ _id: id, failingSince: { $exists: false } }, { $set: { failingSince: at } })
      .exec();
    return this.model
      .findOneAndUpdate(
        { _id: id },
        { $set: { lastFailureAt: at, lastError: error.slice(0, 500) } },
        { returnDocument: 'after' },
      )
      .lean<WebhookRecord>()
      .exec();
  }

  async recordSuccess(id: Types.ObjectId): Promise<void> {
    await this.model
      .updateOne({ _id: id, failingSince: { $exists: true } }, { $unset: { failingSince: 1 } })
      .exec();
  }

  /** Disables an enabled webhook; false when it was already disabled (or gone). */
  async disable(id: Types.ObjectId, reason: string, at: Date): Promise<boolean> {
    const res = await this.model
      .updateOne(
        { _id: id, enabled: true },
        { $set: { enabled: false, disabledReason: reason, disabledAt: at } },
      )
      .exec();
    return res.modifiedCount === 1;
  }
}

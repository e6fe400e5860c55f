import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { LoginFailure } from './schemas/login-failure.schema';

@Injectable()
export class LoginFailuresRepository {
  constructor(@InjectModel(LoginFailure.name) private readonly model: Model<LoginFailure>) {}

  /** Records a failure (or an attempt reserved as one); returns its id. */
  async record(email: string, at: Date, expiresAt: Date): Promise<Types.ObjectId> {
    return (await this.model.create({ email, at, expiresAt }))._id;
  }

  /**
   * Failures since `since` recorded up to `id` (ids grow in the order they were recorded), newest
   * first, at most `limit`: the ones that came before that attempt.
   */
  async upTo(email: string, id: Types.ObjectId, since: Date, limit: number): Promise<Date[]> {
    const rows = await this.model
      .find({ email, at: { $gte: since }, _id: { $lte: id } }, { at: 1 })
      .sort({ _id: -1 })
      .limit(limit)
      .lean()
      .exec();
    return rows.map((r) => r.at);
  }

  async remove(id: Types.ObjectId): Promise<void> {
    await this.model.deleteOne({ _id: id }).exec();
  }

  async clear(email: string): Promise<void> {
    await this.model.deleteMany({ email }).exec();
  }
}

import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { LoginFailure } from './schemas/login-failure.schema';

@Injectable()
export class LoginFailuresRepository {
  constructor(@InjectModel(LoginFailure.name) private readonly model: Model<LoginFailure>) {}

  async record(email: string, at: Date, expiresAt: Date): Promise<void> {
    await this.model.create({ email, at, expiresAt });
  }

  /** Failures since `since`, newest first, at most `limit`. */
  async recent(email: string, since: Date, limit: number): Promise<Date[]> {
    const rows = await this.model
      .find({ email, at: { $gte: since } }, { at: 1 })
      .sort({ at: -1 })
      .limit(limit)
      .lean()
      .exec();
    return rows.map((r) => r.at);
  }

  async clear(email: string): Promise<void> {
    await this.model.deleteMany({ email }).exec();
  }
}

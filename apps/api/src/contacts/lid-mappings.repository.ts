import { isDuplicateKeyError } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import type { SyncTarget } from './contact-rules';
import { LidMapping } from './schemas/lid-mapping.schema';

/** The LID→phone mappings of a session. One row per LID; the latest phone reported wins. */
@Injectable()
export class LidMappingsRepository {
  constructor(@InjectModel(LidMapping.name) private readonly model: Model<LidMapping>) {}

  /** Idempotent upsert: a repeated mapping changes nothing, a new phone replaces the old one. */
  async record(target: SyncTarget, lid: string, phone: string): Promise<void> {
    const run = () =>
      this.model
        .updateOne(
          { organizationId: target.organizationId, sessionId: target.sessionId, lid },
          { $set: { phone } },
          { upsert: true },
        )
        .exec();
    try {
      await run();
    } catch (err) {
      // Two upserts of a new LID raced (another process): the loser retries as an update.
      if (!isDuplicateKeyError(err)) throw err;
      await run();
    }
  }

  async phoneOf(target: SyncTarget, lid: string): Promise<string | undefined> {
    const found = await this.model
      .findOne(
        { organizationId: target.organizationId, sessionId: target.sessionId, lid },
        { _id: 0, phone: 1 },
      )
      .lean<Pick<LidMapping, 'phone'>>()
      .exec();
    return found?.phone;
  }

  /** The LID of each of these phones that has one (the latest mapped, if several). */
  async lidsOf(target: SyncTarget, phones: string[]): Promise<Map<string, string>> {
    const found = await this.model
      .find(
        {
          organizationId: target.organizationId,
          sessionId: target.sessionId,
          phone: { $in: phones },
        },
        { _id: 0, lid: 1, phone: 1 },
      )
      .sort({ updatedAt: 1, _id: 1 })
      .lean<Array<Pick<LidMapping, 'lid' | 'phone'>>>()
      .exec();
    return new Map(found.map((m) => [m.phone, m.lid]));
  }
}

import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { isDuplicateKeyError } from '@app/common';
import { MediaSweep } from './schemas/media-sweep.schema';

const SWEEP_ID = 'media-orphans';

/** A pass's hold on the sweep: where it starts, and its lease (renewed as it goes). */
export interface SweepLease {
  cursor?: string;
  /** Where the look for writes a crash cut off goes on; recorded when the lease is released. */
  unfinishedCursor?: string;
  claimedUntil: Date;
}

/** The `media_sweeps` state document (see MediaSweep). */
@Injectable()
export class MediaSweepsRepository {
  constructor(@InjectModel(MediaSweep.name) private readonly model: Model<MediaSweep>) {}

  /** Leases the sweep for `leaseMs`; undefined while another pass holds it. */
  async claim(leaseMs: number): Promise<SweepLease | undefined> {
    const now = new Date();
    const claimedUntil = new Date(now.getTime() + leaseMs);
    try {
      const row = await this.model
        .findOneAndUpdate(
          {
            _id: SWEEP_ID,
            $or: [{ claimedUntil: { $exists: false } }, { claimedUntil: { $lt: now } }],
          },
          { $set: { claimedUntil } },
          { upsert: true, returnDocument: 'after' },
        )
        .lean<MediaSweep>()
        .exec();
      return { cursor: row?.cursor, unfinishedCursor: row?.unfinishedCursor, claimedUntil };
    } catch (error) {
      // Held: the filter found no free state, and the upsert met the existing one.
      if (isDuplicateKeyError(error)) return undefined;
      throw error;
    }
  }

  /**
   * Records where the pass got to (undefined: the next pass starts from the first key) and renews
   * its lease for `leaseMs`. False when the lease was lost (it ran out and another pass took it).
   */
  async advance(lease: SweepLease, cursor: string | undefined, leaseMs: number): Promise<boolean> {
    const claimedUntil = new Date(Date.now() + leaseMs);
    const update =
      cursor === undefined
        ? { $set: { claimedUntil }, $unset: { cursor: 1 } }
        : { $set: { claimedUntil, cursor } };
    const held = await this.model
      .updateOne({ _id: SWEEP_ID, claimedUntil: lease.claimedUntil }, update)
      .exec();
    lease.claimedUntil = claimedUntil;
    return held.matchedCount === 1;
  }

  /**
   * Gives the lease up (the next pass, of any instance, need not wait for it to run out), and
   * records the lease's `unfinishedCursor`.
   */
  async release(lease: SweepLease): Promise<void> {
    const update =
      lease.unfinishedCursor === undefined
        ? { $unset: { claimedUntil: 1, unfinishedCursor: 1 } }
        : { $unset: { claimedUntil: 1 }, $set: { unfinishedCursor: lease.unfinishedCursor } };
    await this.model.updateOne({ _id: SWEEP_ID, claimedUntil: lease.claimedUntil }, update).exec();
  }
}

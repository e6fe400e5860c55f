import { Injectable, Logger } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import type { AuthRowBackend, AuthRowWrite } from './auth-row-backend';
import { BatchedAuthStoreProvider } from './batched-auth-store';
import { WaAuthKey } from './wa-auth-key.schema';

/** The row a fenced batch checks its lease's expiry on last (one per session). */
const FENCE_ROW = 'lease-fence';

const fenceRowOf = (sessionId: string) => ({ sessionId, type: FENCE_ROW, id: FENCE_ROW });
/** True while the database's clock is before the lease's expiry. */
const beforeExpiry = (until: Date) => ({ $lt: ['$$NOW', until] });
const ensureFenceRow = (sessionId: string) => ({
  updateOne: {
    filter: fenceRowOf(sessionId),
    update: { $setOnInsert: { value: '' } },
    upsert: true,
  },
});
/** Matches only before `until`: when it did, every operation before it ran before it too. */
const checkFenceRow = (sessionId: string, until: Date) => ({
  updateOne: {
    filter: { ...fenceRowOf(sessionId), $expr: beforeExpiry(until) },
    update: [{ $set: { checkedAt: '$$NOW' } }],
  },
});

/** Rows in `wa_auth_state`; one bulkWrite per batch. */
export class MongoAuthRowBackend implements AuthRowBackend {
  constructor(private readonly model: Model<WaAuthKey>) {}

  async readMany(sessionId: string, type: string, ids: string[]): Promise<Map<string, string>> {
    const docs = await this.model
      .find({ sessionId, type, id: { $in: ids } }, { id: 1, value: 1, _id: 0 })
      .lean<{ id: string; value?: string }[]>()
      .exec();
    // A row without a value is one a fenced write could not set (see writeMany): absent.
    return new Map(docs.flatMap((d) => (d.value === undefined ? [] : [[d.id, d.value]])));
  }

  async writeMany(sessionId: string, rows: AuthRowWrite[], until?: Date): Promise<boolean> {
    if (until) return this.writeFenced(sessionId, rows, until);
    await this.model.bulkWrite(
      rows.map((row) =>
        row.value === null
          ? { deleteOne: { filter: { sessionId, type: row.type, id: row.id } } }
          : {
              updateOne: {
                filter: { sessionId, type: row.type, id: row.id },
                update: { $set: { value: row.value } },
                upsert: true,
              },
            },
      ),
      { ordered: true },
    );
    return true;
  }

  /**
   * Each row is written only while the database's clock is before `until`, in the write itself
   * (there are no transactions on a standalone server): another instance takes the lease only
   * once it ran out, so nothing lands after it did. Past it a row is left as it was; one that did
   * not exist is left without a value (read as absent). The last operation matches the session's
   * fence row only before `until` too: when it did, so did every row before it.
   */
  private async writeFenced(sessionId: string, rows: AuthRowWrite[], until: Date) {
    const before = beforeExpiry(until);
    const res = await this.model.collection.bulkWrite(
      [
        ensureFenceRow(sessionId),
        ...rows.map((row) =>
          row.value === null
            ? { deleteOne: { filter: { sessionId, type: row.type, id: row.id, $expr: before } } }
            : {
                updateOne: {
                  filter: { sessionId, type: row.type, id: row.id },
                  update: [
                    {
                      $set: { value: { $cond: [before, { $literal: row.value }, '$value'] } },
                    },
                  ],
                  upsert: true,
                },
              },
        ),
        checkFenceRow(sessionId, until),
      ],
      { ordered: true },
    );
    // Every update before the last matches or inserts one row.
    const updates = rows.filter((row) => row.value !== null).length + 2;
    return res.matchedCount + res.upsertedCount === updates;
  }

  async deleteAll(sessionId: string, until?: Date): Promise<boolean> {
    if (!until) {
      await this.model.deleteMany({ sessionId }).exec();
      return true;
    }
    // As writeFenced: the rows go only before `until`, checked on the fence row after them.
    // The fence row itself goes last, once checked (left behind past `until`: it holds nothing).
    const before = beforeExpiry(until);
    const res = await this.model.collection.bulkWrite(
      [
        ensureFenceRow(sessionId),
        { deleteMany: { filter: { sessionId, type: { $ne: FENCE_ROW }, $expr: before } } },
        checkFenceRow(sessionId, until),
        { deleteOne: { filter: { ...fenceRowOf(sessionId), $expr: before } } },
      ],
      { ordered: true },
    );
    return res.matchedCount + res.upsertedCount === 2;
  }
}

@Injectable()
export class MongoAuthStoreProvider extends BatchedAuthStoreProvider {
  constructor(@InjectModel(WaAuthKey.name) model: Model<WaAuthKey>) {
    super(new MongoAuthRowBackend(model), new Logger(MongoAuthStoreProvider.name));
  }
}

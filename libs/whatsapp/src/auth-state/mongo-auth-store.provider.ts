import { Injectable, Logger } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import type { AuthRowBackend, AuthRowWrite } from './auth-row-backend';
import { BatchedAuthStoreProvider } from './batched-auth-store';
import { WaAuthKey } from './wa-auth-key.schema';

/** The row a fenced batch checks its lease's expiry on last (one per session). */
const FENCE_ROW = 'lease-fence';

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
    const before = { $lt: ['$$NOW', until] };
    const fenceRow = { sessionId, type: FENCE_ROW, id: FENCE_ROW };
    const res = await this.model.collection.bulkWrite(
      [
        { updateOne: { filter: fenceRow, update: { $setOnInsert: { value: '' } }, upsert: true } },
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
        {
          updateOne: {
            filter: { ...fenceRow, $expr: before },
            update: [{ $set: { checkedAt: '$$NOW' } }],
          },
        },
      ],
      { ordered: true },
    );
    // Every update before the last matches or inserts one row.
    const updates = rows.filter((row) => row.value !== null).length + 2;
    return res.matchedCount + res.upsertedCount === updates;
  }

  async deleteAll(sessionId: string): Promise<void> {
    await this.model.deleteMany({ sessionId }).exec();
  }
}

@Injectable()
export class MongoAuthStoreProvider extends BatchedAuthStoreProvider {
  constructor(@InjectModel(WaAuthKey.name) model: Model<WaAuthKey>) {
    super(new MongoAuthRowBackend(model), new Logger(MongoAuthStoreProvider.name));
  }
}

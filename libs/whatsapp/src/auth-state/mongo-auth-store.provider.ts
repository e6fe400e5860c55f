import { Injectable, Logger } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { AnyBulkWriteOperation } from 'mongodb';
import type { Model } from 'mongoose';
import { isDuplicateKeyError } from '@app/common';
import type { AuthRowBackend, AuthRowWrite } from './auth-row-backend';
import { BatchedAuthStoreProvider } from './batched-auth-store';
import { WaAuthKey } from './wa-auth-key.schema';
import type { FenceTerm } from './wa-auth-store';

/** The row naming the lease take whose writes land (one per session); fenced batches check it. */
const FENCE_ROW = 'lease-fence';

type FencedOperation = AnyBulkWriteOperation<Record<string, unknown>>;

const fenceRowOf = (sessionId: string) => ({ sessionId, type: FENCE_ROW, id: FENCE_ROW });
/** True while the database's clock is before the lease's expiry. */
const beforeExpiry = (until: Date) => ({ $lt: ['$$NOW', until] });
/**
 * First in a fenced batch: matches the fence row only while it names the batch's take. Otherwise
 * the upsert inserts a second fence row, which the unique index refuses, and the ordered batch
 * stops there: nothing after it is written.
 */
const openUnderFence = (sessionId: string, epoch: number): FencedOperation => ({
  updateOne: {
    filter: { ...fenceRowOf(sessionId), epoch },
    update: { $setOnInsert: { value: '' } },
    upsert: true,
  },
});
const isFenceCheck = (op: FencedOperation) =>
  'updateOne' in op && op.updateOne.filter.type === FENCE_ROW;
/** Last: matches only before `until`, under the same take: when it did, so did every row before. */
const checkFenceRow = (sessionId: string, { epoch, until }: FenceTerm): FencedOperation => ({
  updateOne: {
    filter: { ...fenceRowOf(sessionId), epoch, $expr: beforeExpiry(until) },
    update: [{ $set: { checkedAt: '$$NOW' } }],
  },
});
/** The index of the operation a failed ordered batch stopped at, if it was a duplicate key. */
const duplicateAt = (err: unknown): number | undefined =>
  isDuplicateKeyError(err)
    ? (err as { writeErrors?: { index: number }[] }).writeErrors?.[0]?.index
    : undefined;

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

  /** Epochs only grow (`$max`): the claim of an earlier take arriving late changes nothing. */
  async claimFence(sessionId: string, epoch: number): Promise<boolean> {
    const doc = await this.model.collection.findOneAndUpdate(
      fenceRowOf(sessionId),
      { $max: { epoch }, $setOnInsert: { value: '' } },
      { upsert: true, returnDocument: 'after', projection: { _id: 0, epoch: 1 } },
    );
    return Number(doc?.epoch) === epoch;
  }

  async writeMany(sessionId: string, rows: AuthRowWrite[], term?: FenceTerm): Promise<boolean> {
    if (term) return this.writeFenced(sessionId, rows, term);
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
   * Written only while the fence row names this take (the first operation stops the batch
   * otherwise), and each row only while the database's clock is before `until`, in the write
   * itself (there are no transactions on a standalone server): another owner takes the lease only
   * once it ran out, so nothing lands after it did. Past it a row is left as it was; one that did
   * not exist is left without a value (read as absent). The last operation matches the fence row
   * only under this take and before `until`: when it did, so did every row before it.
   */
  private async writeFenced(sessionId: string, rows: AuthRowWrite[], term: FenceTerm) {
    const before = beforeExpiry(term.until);
    // The driver sends each run of one kind of operation as a command of its own, and a process
    // may stall between two: the deletes go after the upserts (a batch's rows are distinct), so
    // one command holds the first check and every upsert, the other the deletes after a check.
    const upserts = rows.filter((row) => row.value !== null);
    const deletes = rows.filter((row) => row.value === null);
    return this.underFence(sessionId, term, [
      ...upserts.map((row) => ({
        updateOne: {
          filter: { sessionId, type: row.type, id: row.id },
          update: [{ $set: { value: { $cond: [before, { $literal: row.value }, '$value'] } } }],
          upsert: true,
        },
      })),
      ...(deletes.length ? [openUnderFence(sessionId, term.epoch)] : []),
      ...deletes.map((row) => ({
        deleteOne: { filter: { sessionId, type: row.type, id: row.id, $expr: before } },
      })),
    ]);
  }

  /**
   * `operations` between the fence's first check and its last: true when every one ran under
   * the take, before its expiry (each update matched or inserted its row).
   */
  private async underFence(
    sessionId: string,
    term: FenceTerm,
    operations: FencedOperation[],
  ): Promise<boolean> {
    const batch = [
      openUnderFence(sessionId, term.epoch),
      ...operations,
      checkFenceRow(sessionId, term),
    ];
    try {
      const res = await this.model.collection.bulkWrite(batch, { ordered: true });
      const updates = batch.filter((op) => 'updateOne' in op).length;
      return res.matchedCount + res.upsertedCount === updates;
    } catch (err) {
      // Stopped at a check of the fence: it names a later take.
      const at = duplicateAt(err);
      if (at !== undefined && batch[at] && isFenceCheck(batch[at])) return false;
      throw err;
    }
  }

  async deleteAll(sessionId: string, term?: FenceTerm): Promise<boolean> {
    if (!term) {
      await this.model.deleteMany({ sessionId }).exec();
      return true;
    }
    // As writeFenced: the rows go only under this take and before its expiry, checked on the
    // fence row after them. The fence row stays: a batch of an earlier take is still refused.
    return this.underFence(sessionId, term, [
      {
        deleteMany: {
          filter: { sessionId, type: { $ne: FENCE_ROW }, $expr: beforeExpiry(term.until) },
        },
      },
    ]);
  }
}

@Injectable()
export class MongoAuthStoreProvider extends BatchedAuthStoreProvider {
  constructor(@InjectModel(WaAuthKey.name) model: Model<WaAuthKey>) {
    super(new MongoAuthRowBackend(model), new Logger(MongoAuthStoreProvider.name));
  }
}

import { type Collection, Types } from 'mongoose';

type Document = Record<string, unknown>;

/** A note as recovery gets it: its id and what was written down. */
export type ClaimedNote<T> = T & { id: string };

/**
 * Write-ahead notes for multi-step work without transactions: `open` before the first write,
 * `close` after the last; a note that outlives a grace period marks work a crash (or a failure)
 * cut off, and recovery claims it (leased) to finish the work, which must therefore be idempotent.
 * The collection needs an index on `createdAt` (recovery's query).
 */
export class WriteAheadNotes<T extends Document> {
  /** Notes are `{ _id, ...payload, createdAt, claimedUntil? }` (the lease keeps two instances off one note). */
  constructor(private readonly collection: Collection) {}

  /**
   * Does not wait for the journal sync: the work's own first write, acknowledged after the sync,
   * makes the note durable too (the journal is sequential). Without such a write nothing needs it.
   */
  async open(payload: T): Promise<string> {
    const _id = new Types.ObjectId();
    await this.collection.insertOne(
      { ...payload, _id, createdAt: new Date() },
      { writeConcern: { j: false } },
    );
    return _id.toHexString();
  }

  /** Adds `values` to the note's array `field` (each once), durably: the work's next write relies on it. */
  async addToSet(id: string, field: string, values: unknown[]): Promise<void> {
    if (!values.length) return;
    await this.collection.updateOne(
      { _id: new Types.ObjectId(id) },
      { $addToSet: { [field]: { $each: values } } },
    );
  }

  async close(id: string): Promise<void> {
    await this.collection.deleteOne({ _id: new Types.ObjectId(id) });
  }

  /** Closes several notes in one write. */
  async closeAll(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.collection.deleteMany({ _id: { $in: ids.map((id) => new Types.ObjectId(id)) } });
  }

  /** Leases these notes, still being worked on, for `leaseMs` more: recovery leaves them alone. */
  async hold(ids: string[], leaseMs: number): Promise<void> {
    if (!ids.length) return;
    await this.collection.updateMany(
      { _id: { $in: ids.map((id) => new Types.ObjectId(id)) } },
      { $set: { claimedUntil: new Date(Date.now() + leaseMs) } },
    );
  }

  /** Leases the oldest note opened before `before` that nobody holds; undefined when none is left. */
  async claimStale(before: Date, leaseMs: number): Promise<ClaimedNote<T> | undefined> {
    const now = new Date();
    const row = await this.collection.findOneAndUpdate(
      {
        createdAt: { $lt: before },
        $or: [{ claimedUntil: { $exists: false } }, { claimedUntil: { $lt: now } }],
      },
      { $set: { claimedUntil: new Date(now.getTime() + leaseMs) } },
      { sort: { createdAt: 1 }, returnDocument: 'after' },
    );
    if (!row) return undefined;
    const { _id, createdAt: _createdAt, claimedUntil: _claimedUntil, ...payload } = row;
    return { ...(payload as T), id: (_id as Types.ObjectId).toHexString() };
  }
}

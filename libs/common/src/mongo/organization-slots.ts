import { Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { getModelToken } from '@nestjs/mongoose';
import type { Collection, Model } from 'mongoose';
import { isDuplicateKeyError } from './duplicate-key';

/**
 * A per-organization limit held exactly under concurrent creates, on one instance or several: each
 * counted document takes one of its organization's slots 0 … limit-1, and a unique index on
 * (organizationId, slot) refuses a second taker. Counting before the insert and ranking by id
 * after it did not hold: a create whose insert landed late, with an id older than a rival's, was
 * counted by neither, and the organization went one past its limit.
 */
export const ORGANIZATION_SLOT_INDEX = [
  { organizationId: 1, slot: 1 },
  { unique: true, partialFilterExpression: { slot: { $exists: true } } },
] as const;

/** The unique slot index refused the write: another create took that slot first. */
export function isSlotTakenError(error: unknown): boolean {
  const keyPattern = (error as { keyPattern?: Record<string, unknown> } | null)?.keyPattern;
  return isDuplicateKeyError(error) && keyPattern !== undefined && 'slot' in keyPattern;
}

/**
 * Inserts into a free slot below `limit` (one picked at random, so creates racing for the last
 * slots rarely pick the same one), trying another while rivals take them; undefined once every
 * slot is taken. Each refused attempt means a rival's create took a slot, so the loop ends.
 */
export async function insertInFreeSlot<T>(
  usedSlots: () => Promise<number[]>,
  limit: number,
  insert: (slot: number) => Promise<T>,
  random: () => number = Math.random,
): Promise<T | undefined> {
  for (;;) {
    const used = new Set(await usedSlots());
    // One of the slots below used.size + 1 is free (the limit may be infinite).
    const free: number[] = [];
    const end = Math.min(limit, used.size + 1);
    for (let slot = 0; slot < end; slot++) if (!used.has(slot)) free.push(slot);
    if (free.length === 0) return undefined;
    try {
      return await insert(free[Math.floor(random() * free.length)]);
    } catch (error) {
      if (!isSlotTakenError(error)) throw error;
    }
  }
}

/** The slots an organization's documents hold in `collection`. */
export async function usedSlotsOf(
  collection: Collection,
  organizationId: string,
): Promise<number[]> {
  const rows = await collection
    .find({ organizationId, slot: { $exists: true } }, { projection: { _id: 0, slot: 1 } })
    .toArray();
  return rows.map((row) => row.slot as number);
}

/**
 * At boot, before the API answers: documents written before slots existed (or by an instance of
 * that version during a rolling deploy) take one, so the limit counts them. An organization with
 * n documents always has a free slot below n. Safe on several instances at once (the index
 * decides); one found over its limit keeps its documents (slots past the limit), and a create
 * waits until enough of them are deleted.
 */
export class OrganizationSlotsBackfill implements OnApplicationBootstrap {
  private readonly log = new Logger(OrganizationSlotsBackfill.name);

  constructor(private readonly model: Model<unknown>) {}

  /** A provider for `modelName`'s model (registered with MongooseModule.forFeature in that module). */
  static provider(modelName: string) {
    return {
      provide: `OrganizationSlotsBackfill:${modelName}`,
      inject: [getModelToken(modelName)],
      useFactory: (model: Model<unknown>) => new OrganizationSlotsBackfill(model),
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    // The unique slot index first (mongoose builds it in the background): without it, instances
    // booting together could give two documents one slot.
    try {
      await this.model.init();
    } catch (error) {
      this.log.error(
        `The indexes of ${this.model.collection.name} could not be built (${(error as Error).message}); documents without an organization slot keep none until the next start`,
      );
      return;
    }
    const collection = this.model.collection;
    const missing = await collection
      .find({ slot: { $exists: false } }, { projection: { _id: 1, organizationId: 1 } })
      .sort({ _id: 1 })
      .toArray();
    let given = 0;
    for (const { _id, organizationId } of missing) {
      const count = await collection.countDocuments({ organizationId });
      const taken = await insertInFreeSlot(
        () => usedSlotsOf(collection, organizationId as string),
        count,
        async (slot) =>
          (await collection.updateOne({ _id, slot: { $exists: false } }, { $set: { slot } }))
            .modifiedCount,
      );
      if (taken) given++;
    }
    if (given) this.log.log(`Gave ${given} ${collection.name} documents their organization slot`);
  }
}

import { Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { getModelToken } from '@nestjs/mongoose';
import type { Model } from 'mongoose';

/** MongoDB's codes for "no such collection" (listIndexes) and "no such index" (dropIndexes). */
const NAMESPACE_NOT_FOUND = 26;
const INDEX_NOT_FOUND = 27;
const codeOf = (error: unknown) => (error as { code?: number } | null)?.code;

/** The name MongoDB gives an index declared without one: `field_1_other_-1`. */
export const defaultIndexName = (keys: Record<string, unknown>): string =>
  Object.entries(keys)
    .map(([field, direction]) => `${field}_${String(direction)}`)
    .join('_');

/**
 * Drops, at boot, indexes a collection's schema no longer declares (mongoose `autoIndex` creates
 * the declared ones but never drops anything, so a deployment would keep maintaining a replaced
 * index on every write). Only the names listed are touched, never one the schema declares (a
 * listed name that is declared again is a mistake: it is logged and kept). Idempotent: an index
 * (or a collection) that is not there is nothing to do, and one dropped meanwhile by another
 * instance booting at the same time (IndexNotFound) counts as done. Runs before the API answers;
 * a failure is logged, the boot goes on (an obsolete index costs writes and space, nothing else),
 * and the next boot tries again.
 */
export class ObsoleteIndexes implements OnApplicationBootstrap {
  private readonly logger = new Logger(ObsoleteIndexes.name);

  constructor(
    private readonly model: Model<unknown>,
    private readonly names: readonly string[],
  ) {}

  /** A provider for `modelName`'s model (registered with MongooseModule.forFeature in that module). */
  static provider(modelName: string, names: readonly string[]) {
    return {
      provide: `ObsoleteIndexes:${modelName}`,
      inject: [getModelToken(modelName)],
      useFactory: (model: Model<unknown>) => new ObsoleteIndexes(model, names),
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.run().catch((error: Error) =>
      this.logger.error(
        `Dropping obsolete indexes of ${this.model.collection.name} failed: ${error.message}; it runs again at the next start`,
      ),
    );
  }

  /** Drops the listed indexes that exist; returns the names it dropped. */
  async run(): Promise<string[]> {
    const collection = this.model.collection;
    const declared = new Set(
      this.model.schema
        .indexes()
        .map(([keys, options]) => (options?.name as string | undefined) ?? defaultIndexName(keys)),
    );
    let existing: string[];
    try {
      existing = (await collection.listIndexes().toArray()).map((i) => i.name as string);
    } catch (error) {
      if (codeOf(error) === NAMESPACE_NOT_FOUND) return []; // no collection, no index
      throw error;
    }
    const dropped: string[] = [];
    for (const name of this.names) {
      if (declared.has(name)) {
        this.logger.warn(`${collection.name}: index ${name} is declared, not dropped as obsolete`);
        continue;
      }
      if (!existing.includes(name)) continue;
      try {
        await collection.dropIndex(name);
      } catch (error) {
        // Another instance booting at the same time dropped it first, or the collection went.
        if (codeOf(error) === INDEX_NOT_FOUND || codeOf(error) === NAMESPACE_NOT_FOUND) continue;
        throw error;
      }
      dropped.push(name);
      this.logger.log(`${collection.name}: dropped obsolete index ${name}`);
    }
    return dropped;
  }
}

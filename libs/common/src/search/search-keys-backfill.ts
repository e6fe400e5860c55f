import {
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { getModelToken } from '@nestjs/mongoose';
import type { Model, mongo, Types } from 'mongoose';
import { isDuplicateKeyError } from '../mongo/duplicate-key';
import { SEARCH_KEYS_VERSION, searchTokens } from './search-text';

/** A stored value and the search keys derived from it (by default its searchTokens). */
export interface SearchKeyField {
  source: string;
  keys: string;
  tokens?: (value: string | null) => string[];
}

const BATCH = 500;
/** One row per finished backfill: `<collection>.search-keys.v<version>`. */
export const MIGRATIONS_COLLECTION = 'schema_migrations';

/**
 * Recomputes the search keys of a collection once per SEARCH_KEYS_VERSION, in the background after
 * boot, so documents written under older word rules are found like new ones. Each key is set only
 * while its name is still the one read (a concurrent rename wins), so it is safe on several
 * instances at once; a backfill cut off by a restart starts over, and the row marks it done.
 */
export class SearchKeysBackfill implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SearchKeysBackfill.name);
  private stopped = false;
  private running?: Promise<void>;

  constructor(
    private readonly model: Model<unknown>,
    private readonly fields: SearchKeyField[],
  ) {}

  /** A provider for `modelName`'s model (registered with MongooseModule.forFeature in that module). */
  static provider(modelName: string, fields: SearchKeyField[]) {
    return {
      provide: `SearchKeysBackfill:${modelName}`,
      inject: [getModelToken(modelName)],
      useFactory: (model: Model<unknown>) => new SearchKeysBackfill(model, fields),
    };
  }

  onApplicationBootstrap(): void {
    this.running = this.run().then(
      () => undefined,
      (error: Error) =>
        this.logger.error(
          `Recomputing search keys of ${this.model.collection.name} failed: ${error.message}; it runs again at the next start`,
        ),
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Resolves when the backfill is done (or was already); returns the documents it changed. */
  async run(): Promise<number> {
    const collection = this.model.collection;
    const markers = collection.conn.collection(MIGRATIONS_COLLECTION);
    const marker = `${collection.name}.search-keys.v${SEARCH_KEYS_VERSION}`;
    if (await markers.findOne({ _id: marker as never })) return 0;
    const projection = Object.fromEntries(
      this.fields.flatMap((f) => [
        [f.source, 1],
        [f.keys, 1],
      ]),
    );
    let changed = 0;
    let updates: mongo.AnyBulkWriteOperation[] = [];
    const write = async () => {
      if (updates.length)
        changed += (await collection.bulkWrite(updates, { ordered: false })).modifiedCount;
      updates = [];
    };
    // One unsorted cursor: on the embedded store a query per batch (`_id > last`, sorted) scans
    // and sorts every document, which held every other operation up for a minute on 100,000
    // contacts; one pass in natural order is one scan (about a second).
    const cursor = collection.find({}, { projection }).batchSize(BATCH);
    try {
      for await (const doc of cursor) {
        if (this.stopped) break;
        updates.push(...this.updatesOf(doc));
        if (updates.length >= BATCH) await write();
      }
      await write();
    } finally {
      await cursor.close();
    }
    if (this.stopped) return changed;
    try {
      await markers.insertOne({ _id: marker as never, doneAt: new Date(), changed });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error; // another instance finished it too
    }
    if (changed) this.logger.log(`Recomputed the search keys of ${changed} ${collection.name}`);
    return changed;
  }

  private updatesOf(doc: Record<string, unknown>): mongo.AnyBulkWriteOperation[] {
    return this.fields.flatMap(({ source, keys, tokens = searchTokens }) => {
      const name = doc[source];
      const wanted = tokens(typeof name === 'string' ? name : null);
      const stored = doc[keys];
      if (Array.isArray(stored) && stored.join('\u0000') === wanted.join('\u0000')) return [];
      if (!Array.isArray(stored) && wanted.length === 0) return [];
      return [
        {
          updateOne: {
            filter: { _id: doc._id as Types.ObjectId, [source]: name ?? null },
            update: { $set: { [keys]: wanted } },
          },
        },
      ];
    });
  }
}

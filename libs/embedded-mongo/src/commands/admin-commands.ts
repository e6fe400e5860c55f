import type { Document } from 'bson';
import { ErrorCode, MongoCommandError, namespaceNotFound } from '../errors';
import { compileFilter } from '../query/mingo-options';
import type { Collection } from '../storage/collection';
import { ID_INDEX_NAME } from '../storage/index-manager';
import {
  collectionName,
  optionalDocument,
  type CommandContext,
  type CommandHandler,
} from './command-context';

// Options whose behaviour this store does not implement: refusing them beats silently ignoring them.
const UNSUPPORTED_COLLECTION_OPTIONS = [
  'capped',
  'timeseries',
  'validator',
  'viewOn',
  'clusteredIndex',
  'changeStreamPreAndPostImages',
];
const COLLECTION_OPTIONS = ['collation', 'storageEngine', 'indexOptionDefaults', 'comment'];

function create(command: Document, context: CommandContext): Document {
  const name = collectionName(command, 'create');
  const unsupported = UNSUPPORTED_COLLECTION_OPTIONS.find(
    (option) => command[option] !== undefined && command[option] !== false,
  );
  if (unsupported)
    throw new MongoCommandError(
      ErrorCode.CommandNotSupported,
      `create option '${unsupported}' is not supported by embedded-mongo`,
    );
  const options: Document = {};
  for (const option of COLLECTION_OPTIONS)
    if (command[option] !== undefined) options[option] = command[option];
  context.storage.createCollection(context.db, name, options);
  return {};
}

function requireCollection(context: CommandContext, name: string): Collection {
  const collection = context.storage.getCollection(context.db, name);
  if (!collection) throw namespaceNotFound(`${context.db}.${name}`);
  return collection;
}

function drop(command: Document, context: CommandContext): Document {
  const name = collectionName(command, 'drop');
  const collection = requireCollection(context, name);
  const nIndexesWas = collection.indexSpecs().length;
  context.storage.dropCollection(context.db, name);
  return { nIndexesWas, ns: collection.ns };
}

function listCollections(command: Document, context: CommandContext): Document {
  const entries = context.storage.collections(context.db).map((collection) =>
    command.nameOnly
      ? { name: collection.name, type: 'collection' }
      : {
          name: collection.name,
          type: 'collection',
          options: collection.options,
          info: { readOnly: false },
          idIndex: { v: 2, key: { _id: 1 }, name: ID_INDEX_NAME },
        },
  );
  const filter = optionalDocument(command.filter, 'filter');
  const listed = filter ? (compileFilter(filter).find(entries).all() as Document[]) : entries;
  return context.cursors.openCursor(`${context.db}.$cmd.listCollections`, listed, {
    batchSize: (command.cursor as Document | undefined)?.batchSize as number | undefined,
  });
}

function dropDatabase(_command: Document, context: CommandContext): Document {
  context.storage.dropDatabase(context.db);
  return { dropped: context.db };
}

function listDatabases(command: Document, context: CommandContext): Document {
  const databases = context.storage.databaseNames().map((name) => {
    const sizeOnDisk = command.nameOnly
      ? 0
      : context.storage.collections(name).reduce((sum, collection) => sum + collection.dataSize, 0);
    return command.nameOnly ? { name } : { name, sizeOnDisk, empty: false };
  });
  const filter = optionalDocument(command.filter, 'filter');
  const listed = filter ? (compileFilter(filter).find(databases).all() as Document[]) : databases;
  if (command.nameOnly) return { databases: listed };
  const totalSize = listed.reduce((sum, database) => sum + (database.sizeOnDisk as number), 0);
  return { databases: listed, totalSize, totalSizeMb: Math.round(totalSize / 2 ** 20) };
}

function createIndexes(command: Document, context: CommandContext): Document {
  const name = collectionName(command, 'createIndexes');
  const createdCollectionAutomatically = !context.storage.getCollection(context.db, name);
  const collection = context.storage.getOrCreateCollection(context.db, name);
  const numIndexesBefore = collection.indexSpecs().length;
  const specs = (command.indexes ?? []) as Document[];
  if (!Array.isArray(specs) || specs.length === 0)
    throw new MongoCommandError(ErrorCode.BadValue, 'Must specify at least one index to create');
  let created = 0;
  for (const spec of specs) if (collection.createIndex(spec)) created++;
  const reply: Document = {
    numIndexesBefore,
    numIndexesAfter: collection.indexSpecs().length,
    createdCollectionAutomatically,
  };
  if (created === 0) reply.note = 'all indexes already exist';
  return reply;
}

function listIndexes(command: Document, context: CommandContext): Document {
  const collection = requireCollection(context, collectionName(command, 'listIndexes'));
  return context.cursors.openCursor(
    collection.ns,
    collection.indexSpecs().map((spec) => ({ ...spec })),
    {
      batchSize: (command.cursor as Document | undefined)?.batchSize as number | undefined,
    },
  );
}

function dropIndexes(command: Document, context: CommandContext): Document {
  const collection = requireCollection(context, collectionName(command, 'dropIndexes'));
  const nIndexesWas = collection.indexSpecs().length;
  const requested = command.index;
  if (requested === '*') {
    for (const index of [...collection.secondaryIndexes()]) collection.dropIndex(index.spec.name);
    return { nIndexesWas, msg: 'non-_id indexes dropped for collection' };
  }
  const names =
    typeof requested === 'string'
      ? [requested]
      : Array.isArray(requested)
        ? (requested as string[])
        : [indexNameForKey(collection, requested as Document)];
  for (const name of names) {
    if (name === ID_INDEX_NAME)
      throw new MongoCommandError(ErrorCode.InvalidOptions, 'cannot drop _id index');
    collection.dropIndex(name);
  }
  return { nIndexesWas };
}

function indexNameForKey(collection: Collection, key: Document): string {
  const name = collection.findIndexNameByKey(key);
  if (!name)
    throw new MongoCommandError(
      ErrorCode.IndexNotFound,
      `can't find index with key: ${JSON.stringify(key)}`,
    );
  return name;
}

function collStats(command: Document, context: CommandContext): Document {
  const collection = requireCollection(context, collectionName(command, 'collStats'));
  const size = collection.dataSize;
  return {
    ns: collection.ns,
    count: collection.count,
    size,
    avgObjSize: collection.count ? Math.round(size / collection.count) : 0,
    storageSize: size,
    nindexes: collection.indexSpecs().length,
  };
}

function dbStats(_command: Document, context: CommandContext): Document {
  const collections = context.storage.collections(context.db);
  const dataSize = collections.reduce((sum, collection) => sum + collection.dataSize, 0);
  const objects = collections.reduce((sum, collection) => sum + collection.count, 0);
  return {
    db: context.db,
    collections: collections.length,
    views: 0,
    objects,
    dataSize,
    storageSize: dataSize,
    indexes: collections.reduce((sum, c) => sum + c.indexSpecs().length, 0),
  };
}

export const adminCommands: Record<string, CommandHandler> = {
  create,
  drop,
  listCollections,
  dropDatabase,
  listDatabases,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
  collStats,
  dbStats,
};

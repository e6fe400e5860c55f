import type { Document } from 'bson';
import { ErrorCode, MongoCommandError } from '../errors';
import { Collection } from './collection';
import { discardingRecorder, type StorageOp, type WriteRecorder } from './storage-op';

/** All databases and collections held in memory; every change flows to the attached recorder. */
export class StorageEngine {
  private readonly databases = new Map<string, Map<string, Collection>>();
  private recorder: WriteRecorder = discardingRecorder;
  // Collections keep this forwarder, so swapping the recorder after replay reaches all of them.
  private readonly forwardingRecorder: WriteRecorder = {
    record: (op) => this.recorder.record(op),
    commit: () => this.recorder.commit(),
  };

  /** Replay happens before attaching, so restored data is not journaled a second time. */
  attachRecorder(recorder: WriteRecorder): void {
    this.recorder = recorder;
  }

  /** Ends one command: the recorder makes its changes durable before the reply goes out. */
  commit(): void {
    this.recorder.commit();
  }

  getCollection(db: string, name: string): Collection | undefined {
    return this.databases.get(db)?.get(name);
  }

  /** Writes create their collection implicitly, as MongoDB does. */
  getOrCreateCollection(db: string, name: string): Collection {
    return this.getCollection(db, name) ?? this.createCollection(db, name, {});
  }

  createCollection(db: string, name: string, options: Document): Collection {
    validateCollectionName(name);
    if (this.getCollection(db, name)) {
      throw new MongoCommandError(
        ErrorCode.NamespaceExists,
        `Collection ${db}.${name} already exists.`,
      );
    }
    const collection = this.addCollection(db, name, options);
    this.recorder.record({ op: 'createCollection', db, coll: name, options });
    return collection;
  }

  dropCollection(db: string, name: string): boolean {
    const dropped = this.databases.get(db)?.delete(name) ?? false;
    if (dropped) this.recorder.record({ op: 'dropCollection', db, coll: name });
    return dropped;
  }

  dropDatabase(db: string): void {
    if (this.databases.delete(db)) this.recorder.record({ op: 'dropDatabase', db });
  }

  databaseNames(): string[] {
    return [...this.databases.keys()].filter((db) => (this.databases.get(db)?.size ?? 0) > 0);
  }

  collections(db: string): Collection[] {
    return [...(this.databases.get(db)?.values() ?? [])];
  }

  allCollections(): Collection[] {
    return [...this.databases.values()].flatMap((collections) => [...collections.values()]);
  }

  /** Re-applies a recorded change without validation or re-recording. */
  apply(op: StorageOp): void {
    switch (op.op) {
      case 'put':
        this.restoreCollection(op.db, op.coll).restore(op.doc, op.bytes);
        break;
      case 'delete':
        this.getCollection(op.db, op.coll)?.restoreRemoval(op.id);
        break;
      case 'createCollection':
        this.restoreCollection(op.db, op.coll, op.options);
        break;
      case 'dropCollection':
        this.databases.get(op.db)?.delete(op.coll);
        break;
      case 'createIndex':
        this.restoreCollection(op.db, op.coll).restoreIndex(op.spec);
        break;
      case 'dropIndex':
        this.getCollection(op.db, op.coll)?.restoreIndexDrop(op.name);
        break;
      case 'dropDatabase':
        this.databases.delete(op.db);
        break;
    }
  }

  private restoreCollection(db: string, name: string, options: Document = {}): Collection {
    return this.getCollection(db, name) ?? this.addCollection(db, name, options);
  }

  private addCollection(db: string, name: string, options: Document): Collection {
    let collections = this.databases.get(db);
    if (!collections) {
      collections = new Map();
      this.databases.set(db, collections);
    }
    const collection = new Collection(db, name, this.forwardingRecorder, options);
    collections.set(name, collection);
    return collection;
  }
}

function validateCollectionName(name: string): void {
  if (!name || name.includes('$') || name.startsWith('.') || name.includes('\0')) {
    throw new MongoCommandError(ErrorCode.InvalidNamespace, `Invalid collection name: ${name}`);
  }
}

import type { Document } from 'bson';
import { ErrorCode, MongoCommandError } from '../errors';
import { compileMatcher, type MingoOptions } from '../query/mingo-options';
import { equalityValues } from '../query/planner';
import { canonicalKey } from './index-key';
import { defaultIndexName, ID_INDEX_NAME, SecondaryIndex, type IndexSpec } from './index-manager';
import type { WriteRecorder } from './storage-op';

export const idKeyOf = (id: unknown): string => canonicalKey(id);

/**
 * Documents of one collection in insertion order, keyed by canonical `_id`, with secondary indexes
 * beside them. Stored documents are never mutated: writes replace them with new objects, so a
 * reference handed to a cursor stays a consistent snapshot.
 */
export class Collection {
  private readonly documents = new Map<string, Document>();
  private readonly indexes = new Map<string, SecondaryIndex>();

  constructor(
    readonly db: string,
    readonly name: string,
    private readonly recorder: WriteRecorder,
    readonly options: Document = {},
  ) {}

  get ns(): string {
    return `${this.db}.${this.name}`;
  }

  get count(): number {
    return this.documents.size;
  }

  all(): IterableIterator<Document> {
    return this.documents.values();
  }

  getById(id: unknown): Document | undefined {
    return this.documents.get(idKeyOf(id));
  }

  insert(document: Document): void {
    const id = idKeyOf(document._id);
    if (this.documents.has(id)) {
      throw this.idDuplicate(document._id);
    }
    this.assertUnique(id, document);
    this.store(id, document);
    this.recorder.record({ op: 'put', db: this.db, coll: this.name, doc: document });
  }

  /** Swaps a stored document for its updated version (same `_id`), enforcing unique indexes. */
  replace(previous: Document, next: Document): void {
    const id = idKeyOf(previous._id);
    this.assertUnique(id, next);
    for (const index of this.indexes.values()) index.remove(id, previous);
    this.store(id, next);
    this.recorder.record({ op: 'put', db: this.db, coll: this.name, doc: next });
  }

  remove(document: Document): void {
    const id = idKeyOf(document._id);
    if (!this.documents.delete(id)) return;
    for (const index of this.indexes.values()) index.remove(id, document);
    this.recorder.record({ op: 'delete', db: this.db, coll: this.name, id: document._id });
  }

  /** Applies a journaled or snapshotted document without checks (replay is trusted). */
  restore(document: Document): void {
    const id = idKeyOf(document._id);
    const previous = this.documents.get(id);
    if (previous) for (const index of this.indexes.values()) index.remove(id, previous);
    this.store(id, document);
  }

  restoreRemoval(id: unknown): void {
    const document = this.documents.get(idKeyOf(id));
    if (document) this.removeSilently(document);
  }

  /** Documents matching `filter`, in natural order; index-selected candidates are re-checked by mingo. */
  match(filter: Document | undefined, options: MingoOptions = {}): Document[] {
    const candidates = this.candidates(filter ?? {}, options.collation !== undefined);
    if (!filter || Object.keys(filter).length === 0) return [...candidates];
    const query = compileMatcher(filter, options);
    const matches: Document[] = [];
    for (const document of candidates) if (query.test(document)) matches.push(document);
    return matches;
  }

  /** Narrows a filter to candidate documents through `_id` or a secondary index when it can. */
  candidates(filter: Document, hasCollation = false): Iterable<Document> {
    if (hasCollation) return this.documents.values(); // collation changes equality; keys would lie
    const ids = equalityValues(filter, '_id');
    if (ids) return this.byIds(ids.map(idKeyOf));
    // Prefer the index pinning the most leading fields by equality (a full key beats a prefix).
    let best: { index: SecondaryIndex; pinned: unknown[][] } | undefined;
    for (const index of this.indexes.values()) {
      if (!index.coversAllDocuments) continue;
      const pinned: unknown[][] = [];
      for (const field of index.fields) {
        const values = equalityValues(filter, field);
        if (!values) break;
        pinned.push(values);
      }
      const full = pinned.length === index.fields.length;
      if (pinned.length === 0 || (best && pinned.length <= best.pinned.length && !full)) continue;
      if (full) return this.byIds(this.lookupKeys(pinned, (key) => index.lookup(key)));
      best = { index, pinned };
    }
    if (best) {
      const { index, pinned } = best;
      return this.byIds(this.lookupKeys(pinned, (key) => index.lookupPrefix(pinned.length, key)));
    }
    return this.documents.values();
  }

  indexSpecs(): IndexSpec[] {
    return [
      { v: 2, key: { _id: 1 }, name: ID_INDEX_NAME },
      ...[...this.indexes.values()].map((index) => index.spec),
    ];
  }

  secondaryIndexes(): Iterable<SecondaryIndex> {
    return this.indexes.values();
  }

  /** Builds an index over existing documents; false when an identical index already exists. */
  createIndex(requested: Document): boolean {
    const spec = normalizeSpec(requested);
    if (spec.name === ID_INDEX_NAME || isIdOnlyKey(spec.key)) return false;
    const existing =
      this.indexes.get(spec.name) ??
      [...this.indexes.values()].find((index) => sameKey(index.spec.key, spec.key));
    if (existing) {
      if (sameDefinition(existing.spec, spec)) return false;
      const code =
        existing.spec.name === spec.name
          ? ErrorCode.IndexKeySpecsConflict
          : ErrorCode.IndexOptionsConflict;
      throw new MongoCommandError(
        code,
        `An existing index has the same name or key as the requested index. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(existing.spec)}`,
      );
    }
    const index = new SecondaryIndex(spec);
    for (const [id, document] of this.documents) {
      const conflict = index.findConflict(id, document);
      if (conflict) throw index.duplicateKeyError(this.ns, conflict.values);
      index.add(id, document);
    }
    this.indexes.set(spec.name, index);
    this.recorder.record({ op: 'createIndex', db: this.db, coll: this.name, spec });
    return true;
  }

  restoreIndex(spec: IndexSpec): void {
    if (this.indexes.has(spec.name)) return;
    const index = new SecondaryIndex(spec);
    for (const [id, document] of this.documents) index.add(id, document);
    this.indexes.set(spec.name, index);
  }

  dropIndex(name: string): void {
    if (!this.indexes.delete(name)) {
      throw new MongoCommandError(ErrorCode.IndexNotFound, `index not found with name [${name}]`);
    }
    this.recorder.record({ op: 'dropIndex', db: this.db, coll: this.name, name });
  }

  restoreIndexDrop(name: string): void {
    this.indexes.delete(name);
  }

  findIndexNameByKey(key: Document): string | undefined {
    return [...this.indexes.values()].find((index) => sameKey(index.spec.key, key))?.spec.name;
  }

  private byIds(ids: Iterable<string>): Document[] {
    const found: Document[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      const document = this.documents.get(id);
      if (document) found.push(document);
    }
    return found;
  }

  private lookupKeys(perField: unknown[][], lookup: (key: string) => Iterable<string>): string[] {
    let keys = [''];
    for (const values of perField)
      keys = keys.flatMap((prefix) => values.map((value) => prefix + canonicalKey(value)));
    return keys.flatMap((key) => [...lookup(key)]);
  }

  private store(id: string, document: Document): void {
    this.documents.set(id, document);
    for (const index of this.indexes.values()) index.add(id, document);
  }

  private removeSilently(document: Document): void {
    const id = idKeyOf(document._id);
    this.documents.delete(id);
    for (const index of this.indexes.values()) index.remove(id, document);
  }

  private assertUnique(id: string, document: Document): void {
    for (const index of this.indexes.values()) {
      const conflict = index.findConflict(id, document);
      if (conflict) throw index.duplicateKeyError(this.ns, conflict.values);
    }
  }

  private idDuplicate(id: unknown): MongoCommandError {
    return new SecondaryIndex({
      v: 2,
      key: { _id: 1 },
      name: ID_INDEX_NAME,
      unique: true,
    }).duplicateKeyError(this.ns, [id]);
  }
}

const INDEX_OPTIONS = [
  'unique',
  'sparse',
  'partialFilterExpression',
  'expireAfterSeconds',
  'collation',
] as const;

function normalizeSpec(requested: Document): IndexSpec {
  if (
    !requested.key ||
    typeof requested.key !== 'object' ||
    Object.keys(requested.key).length === 0
  ) {
    throw new MongoCommandError(
      ErrorCode.FailedToParse,
      "The field 'key' must be a non-empty object",
    );
  }
  const spec: IndexSpec = {
    v: 2,
    key: requested.key as Document,
    name: (requested.name as string) ?? defaultIndexName(requested.key as Document),
  };
  for (const option of INDEX_OPTIONS)
    if (requested[option] !== undefined) spec[option] = requested[option];
  if (spec.unique === false) delete spec.unique;
  if (spec.sparse === false) delete spec.sparse;
  return spec;
}

function isIdOnlyKey(key: Document): boolean {
  const fields = Object.keys(key);
  return fields.length === 1 && fields[0] === '_id';
}

function sameKey(a: Document, b: Document): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameDefinition(a: IndexSpec, b: IndexSpec): boolean {
  return (
    a.name === b.name &&
    sameKey(a.key, b.key) &&
    INDEX_OPTIONS.every((option) => JSON.stringify(a[option]) === JSON.stringify(b[option]))
  );
}

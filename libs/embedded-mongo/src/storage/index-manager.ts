import type { Document } from 'bson';
import { ErrorCode, MongoCommandError } from '../errors';
import { collationFold } from '../query/collation';
import { compileMatcher, type Matcher } from '../query/mingo-options';
import { equalityValues } from '../query/planner';
import { EMPTY_ARRAY_KEY } from '../query/bson-order';
import { canonicalKey, valuesAtPath } from './index-key';
import { hashKey, PostingMap } from './posting-map';

/** The index definition as listIndexes reports it. */
export interface IndexSpec extends Document {
  v: number;
  key: Document;
  name: string;
  unique?: boolean;
  sparse?: boolean;
  partialFilterExpression?: Document;
  expireAfterSeconds?: number;
}

interface IndexEntry {
  key: string;
  hash: number;
  values: unknown[];
  /** Canonical key of each field's value: `key` is their concatenation. */
  parts: string[];
}

/** The keys one document has in one index, computed once per write. */
export interface IndexKeys {
  entries: IndexEntry[];
  /** prefixes[k - 1]: distinct hashes of the document's first-k-fields keys (k < fields.length). */
  prefixes: number[][];
}

export const ID_INDEX_NAME = '_id_';

export function defaultIndexName(key: Document): string {
  return Object.entries(key)
    .map(([field, direction]) => `${field}_${direction}`)
    .join('_');
}

/**
 * One secondary index: hash of the canonical key -> slots of the documents holding it (see
 * PostingMap: no heap object per entry). A lookup yields candidates, since distinct keys may share
 * a hash; readers re-check them against the filter, and the unique check compares real keys.
 */
export class SecondaryIndex {
  readonly fields: string[];
  private readonly entries = new PostingMap();
  /**
   * Compound indexes also answer equality on a leading prefix of their fields, as MongoDB's do:
   * prefixes[k - 1] maps the hashed key of the first k fields to slots (k < fields.length).
   */
  private readonly prefixes: PostingMap[];
  /** Which prefix levels this index keeps up; a level shared with another index is kept by one. */
  private readonly keepsPrefix: boolean[];
  /** Tested on every write: `$exists` and scalar conditions skip mingo (see compileMatcher). */
  private readonly partialFilter: Matcher | undefined;
  /** How the index's collation compares strings; undefined: as they are. */
  private readonly foldString: ((text: string) => string) | undefined;

  /** No dotted path among the fields: keys are read straight off the document. */
  private readonly topLevelFields: boolean;
  /** Top-level fields the keys depend on; undefined when the partial filter reads more (`$and`…). */
  readonly keyInputs: readonly string[] | undefined;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.topLevelFields = this.fields.every((field) => !field.includes('.'));
    const filterFields = Object.keys(spec.partialFilterExpression ?? {});
    this.keyInputs = filterFields.some((field) => field.startsWith('$'))
      ? undefined
      : [...new Set([...this.fields, ...filterFields].map((path) => path.split('.')[0]))];
    this.prefixes = this.fields.slice(1).map(() => new PostingMap());
    this.keepsPrefix = this.prefixes.map(() => true);
    this.partialFilter = spec.partialFilterExpression
      ? compileMatcher(spec.partialFilterExpression)
      : undefined;
    this.foldString = collationFold(spec.collation as Document | undefined);
  }

  /**
   * The canonical key of one field's value in this index: strings as its collation compares
   * them (`Ann` and `ann` share a key at strength 2). Lookups build their keys with it too.
   */
  partKey(value: unknown): string {
    return this.foldString && typeof value === 'string'
      ? canonicalKey(this.foldString(value))
      : canonicalKey(value);
  }

  /** Whether both compare strings alike, so they may share prefix postings. */
  sameCollation(other: SecondaryIndex): boolean {
    return JSON.stringify(this.spec.collation) === JSON.stringify(other.spec.collation);
  }

  get unique(): boolean {
    return this.spec.unique === true;
  }

  /**
   * Whether every document matching `filter` is in this index. Sparse and partial indexes miss
   * some documents, so (as MongoDB's planner) they answer only filters that imply membership:
   * `waMessageId: 'X'` implies `{ waMessageId: { $exists: true } }`. Anything else reads as "no".
   */
  holdsAllMatches(filter: Document): boolean {
    if (this.spec.sparse && !this.fields.some((field) => pinsNonNull(filter, field))) return false;
    const partial = this.spec.partialFilterExpression;
    if (!partial) return true;
    return Object.entries(partial).every(([field, condition]) => {
      if (field.startsWith('$')) return false;
      if (isExistsTrue(condition)) return pinsNonNull(filter, field);
      if (!isScalar(condition)) return false;
      const values = equalityValues(filter, field);
      const expected = canonicalKey(condition);
      return !!values && values.every((value) => canonicalKey(value) === expected);
    });
  }

  /** Whether its prefix postings hold every document (no sparse or partial index), so others may share them. */
  get coversAll(): boolean {
    return !this.spec.sparse && !this.spec.partialFilterExpression;
  }

  /** The posting of its first `length` fields (1 ≤ length < fields.length). */
  prefixPosting(length: number): PostingMap {
    return this.prefixes[length - 1];
  }

  /**
   * Uses `posting`, which another index with the same leading fields keeps complete, for a prefix
   * level; with `keep`, this index keeps it up from now on (the other one is going away).
   */
  sharePrefix(length: number, posting: PostingMap, keep: boolean): void {
    this.prefixes[length - 1] = posting;
    this.keepsPrefix[length - 1] = keep;
  }

  keepsPrefixOf(length: number): boolean {
    return this.keepsPrefix[length - 1];
  }

  /** Whether two versions of a document hold the same values in every field this index reads (so the same keys). */
  sameKeyFields(previous: Document, next: Document): boolean {
    return !!this.keyInputs?.every((field) => sameValue(previous[field], next[field]));
  }

  keysOf(document: Document): IndexKeys {
    const entries = this.entriesFor(document);
    const prefixes = this.prefixes.map((): number[] => []);
    for (const entry of entries) {
      let prefix = '';
      for (let k = 0; k < prefixes.length; k++) {
        prefix += entry.parts[k];
        if (!this.keepsPrefix[k]) continue; // another index keeps this level
        const hash = hashKey(prefix);
        if (!prefixes[k].includes(hash)) prefixes[k].push(hash);
      }
    }
    return { entries, prefixes };
  }

  add(slot: number, keys: IndexKeys): void {
    for (const entry of keys.entries) this.entries.add(entry.hash, slot);
    keys.prefixes.forEach((hashes, k) => {
      if (this.keepsPrefix[k]) for (const hash of hashes) this.prefixes[k].add(hash, slot);
    });
  }

  remove(slot: number, keys: IndexKeys): void {
    for (const entry of keys.entries) this.entries.remove(entry.hash, slot);
    keys.prefixes.forEach((hashes, k) => {
      if (this.keepsPrefix[k]) for (const hash of hashes) this.prefixes[k].remove(hash, slot);
    });
  }

  /** Moves a slot from its old keys to its new ones, touching only the keys that changed. */
  update(slot: number, before: IndexKeys, after: IndexKeys): void {
    moveSlot(
      this.entries,
      slot,
      before.entries.map((entry) => entry.hash),
      after.entries.map((entry) => entry.hash),
    );
    this.prefixes.forEach((map, k) => {
      if (this.keepsPrefix[k]) moveSlot(map, slot, before.prefixes[k], after.prefixes[k]);
    });
  }

  /** Slots stored under the hash of one canonical key (candidates: re-check them). */
  lookup(key: string): readonly number[] | ReadonlySet<number> {
    return this.entries.get(hashKey(key));
  }

  /** Slots whose first `length` fields hash like this canonical key (1 ≤ length < fields.length). */
  lookupPrefix(length: number, key: string): readonly number[] | ReadonlySet<number> {
    return this.prefixes[length - 1]?.get(hashKey(key)) ?? [];
  }

  /**
   * The first key in `keys` already held by another document, if this index is unique. Hash hits
   * are confirmed against the other document's real keys (`read` loads it).
   */
  findConflict(
    slot: number,
    keys: IndexKeys,
    read: (slot: number) => Document,
  ): IndexEntry | undefined {
    if (!this.unique) return undefined;
    for (const entry of keys.entries) {
      for (const owner of this.entries.get(entry.hash)) {
        if (owner === slot) continue;
        if (this.entriesFor(read(owner)).some((other) => other.key === entry.key)) return entry;
      }
    }
    return undefined;
  }

  /** Index keys of a document: one per combination of multikey values; none when sparse/partial excludes it. */
  entriesFor(document: Document): IndexEntry[] {
    if (this.partialFilter && !this.partialFilter.test(document)) return [];
    if (this.topLevelFields) {
      const single = this.singleEntry(document);
      if (single !== undefined) return single;
    }
    const perField = this.fields.map((field) =>
      this.distinctParts(
        this.topLevelFields ? topLevelValues(document[field]) : valuesAtPath(document, field),
      ),
    );
    if (
      this.spec.sparse &&
      perField.every(({ values }) => values.every((value) => value === undefined))
    )
      return [];
    // Parts are self-delimiting (see canonicalKey), so distinct parts per field give distinct keys:
    // the product of the fields' distinct values holds each key once, in first-seen order. Built
    // without spreading or deduplicating every combination: contacts hold arrays of 10 keys.
    let combos: IndexEntry[] = [{ key: '', hash: 0, values: [], parts: [] }];
    for (const { values, parts } of perField) {
      const next: IndexEntry[] = [];
      for (const combo of combos) {
        for (let i = 0; i < values.length; i++) {
          next.push({
            key: combo.key + parts[i],
            hash: 0,
            values: combo.values.concat([values[i]]),
            parts: combo.parts.concat([parts[i]]),
          });
        }
      }
      combos = next;
    }
    for (const combo of combos) combo.hash = hashKey(combo.key);
    return combos;
  }

  /**
   * One field's values with their parts, each part once: where first seen, with the last value
   * that has it (as a map of keys keeps them; a duplicate key error names that value).
   */
  private distinctParts(all: unknown[]): { values: unknown[]; parts: string[] } {
    if (all.length === 1) return { values: all, parts: [this.partKey(all[0])] };
    const values: unknown[] = [];
    const parts: string[] = [];
    const positions = new Map<string, number>();
    for (const value of all) {
      const part = this.partKey(value);
      const seen = positions.get(part);
      if (seen !== undefined) {
        values[seen] = value;
        continue;
      }
      positions.set(part, parts.length);
      values.push(value);
      parts.push(part);
    }
    return { values, parts };
  }

  /**
   * The common case, without the multikey machinery: top-level fields none of which holds an
   * array give exactly one key (undefined when one does: the general path expands it).
   */
  private singleEntry(document: Document): IndexEntry[] | undefined {
    const values = new Array<unknown>(this.fields.length);
    const parts = new Array<string>(this.fields.length);
    let key = '';
    let present = false;
    for (let i = 0; i < this.fields.length; i++) {
      const value = document[this.fields[i]];
      if (Array.isArray(value)) return undefined;
      if (value !== undefined) present = true;
      values[i] = value;
      parts[i] = this.partKey(value);
      key += parts[i];
    }
    if (this.spec.sparse && !present) return [];
    return [{ key, hash: hashKey(key), values, parts }];
  }

  duplicateKeyError(ns: string, values: unknown[]): MongoCommandError {
    const keyValue: Document = {};
    this.fields.forEach(
      (field, i) => (keyValue[field] = values[i] === EMPTY_ARRAY_KEY ? null : (values[i] ?? null)),
    );
    const shown = this.fields
      .map((field, i) => `${field}: ${formatKeyValue(values[i])}`)
      .join(', ');
    return new MongoCommandError(
      ErrorCode.DuplicateKey,
      `E11000 duplicate key error collection: ${ns} index: ${this.spec.name} dup key: { ${shown} }`,
      { keyPattern: { ...this.spec.key }, keyValue },
    );
  }
}

/**
 * Strict structural equality (stricter than index-key equality: an int and an equal double differ),
 * so a "same" answer always means the same keys.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((element, i) => sameValue(element, b[i]));
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b) || Array.isArray(b)) return false;
  if ((a as { _bsontype?: string })._bsontype) return canonicalKey(a) === canonicalKey(b);
  const keys = Object.keys(a);
  const otherKeys = Object.keys(b);
  if (keys.length !== otherKeys.length) return false;
  return keys.every(
    (key, i) => key === otherKeys[i] && sameValue((a as Document)[key], (b as Document)[key]),
  );
}

/** What valuesAtPath yields for a top-level field, without splitting its name. */
function topLevelValues(value: unknown): unknown[] {
  if (!Array.isArray(value)) return [value];
  return value.length === 0 ? [EMPTY_ARRAY_KEY] : value;
}

/** Removes `slot` from the hashes it left and adds it to the hashes it gained. */
function moveSlot(map: PostingMap, slot: number, before: number[], after: number[]): void {
  for (const hash of before) if (!after.includes(hash)) map.remove(hash, slot);
  for (const hash of after) if (!before.includes(hash)) map.add(hash, slot);
}

function formatKeyValue(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (value === EMPTY_ARRAY_KEY) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  const bsonType = (value as { _bsontype?: string })._bsontype;
  if (bsonType === 'ObjectId') return `ObjectId('${String(value)}')`;
  if (typeof value === 'object' && !bsonType) return JSON.stringify(value);
  return String(value);
}

/** The filter pins `field` by equality to values none of which is null (so the field exists). */
function pinsNonNull(filter: Document, field: string): boolean {
  const values = equalityValues(filter, field);
  return !!values && values.every((value) => value !== null && value !== undefined);
}

function isExistsTrue(condition: unknown): boolean {
  if (condition === null || typeof condition !== 'object') return false;
  const keys = Object.keys(condition);
  return keys.length === 1 && keys[0] === '$exists' && !!(condition as Document).$exists;
}

function isScalar(value: unknown): boolean {
  return value === null || typeof value !== 'object' || value instanceof Date;
}

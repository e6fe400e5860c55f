import type { Document } from 'bson';
import type { Query } from 'mingo';
import { ErrorCode, MongoCommandError } from '../errors';
import { compileFilter } from '../query/mingo-options';
import { canonicalKey, valuesAtPath } from './index-key';

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
  values: unknown[];
}

export const ID_INDEX_NAME = '_id_';

export function defaultIndexName(key: Document): string {
  return Object.entries(key)
    .map(([field, direction]) => `${field}_${direction}`)
    .join('_');
}

/**
 * One secondary index: canonical key -> ids of the documents holding it. A single id is stored as a
 * string (the common unique case) and only grows into a Set when a key is shared.
 */
export class SecondaryIndex {
  readonly fields: string[];
  private readonly entries = new Map<string, string | Set<string>>();
  /**
   * Compound indexes also answer equality on a leading prefix of their fields, as MongoDB's do:
   * prefixes[k - 1] maps the canonical key of the first k fields to ids (k < fields.length).
   */
  private readonly prefixes: Map<string, Set<string>>[];
  private readonly partialFilter: Query | undefined;

  constructor(readonly spec: IndexSpec) {
    this.fields = Object.keys(spec.key);
    this.prefixes = this.fields.slice(1).map(() => new Map());
    this.partialFilter = spec.partialFilterExpression
      ? compileFilter(spec.partialFilterExpression)
      : undefined;
  }

  get unique(): boolean {
    return this.spec.unique === true;
  }

  /** Sparse and partial indexes miss some documents, so they cannot answer arbitrary equality queries. */
  get coversAllDocuments(): boolean {
    return !this.spec.sparse && !this.partialFilter;
  }

  add(id: string, document: Document): void {
    const entries = this.entriesFor(document);
    for (const key of this.prefixKeys(entries)) {
      const [k, prefix] = key;
      const ids = this.prefixes[k].get(prefix);
      if (ids) ids.add(id);
      else this.prefixes[k].set(prefix, new Set([id]));
    }
    for (const entry of entries) {
      const current = this.entries.get(entry.key);
      if (current === undefined) this.entries.set(entry.key, id);
      else if (typeof current === 'string') {
        if (current !== id) this.entries.set(entry.key, new Set([current, id]));
      } else current.add(id);
    }
  }

  remove(id: string, document: Document): void {
    const entries = this.entriesFor(document);
    for (const [k, prefix] of this.prefixKeys(entries)) {
      const ids = this.prefixes[k].get(prefix);
      ids?.delete(id);
      if (ids?.size === 0) this.prefixes[k].delete(prefix);
    }
    for (const entry of entries) {
      const current = this.entries.get(entry.key);
      if (current === id) this.entries.delete(entry.key);
      else if (current instanceof Set) {
        current.delete(id);
        if (current.size === 1)
          this.entries.set(entry.key, current.values().next().value as string);
      }
    }
  }

  /** Ids stored under one canonical key. */
  lookup(key: string): Iterable<string> {
    const current = this.entries.get(key);
    if (current === undefined) return [];
    return typeof current === 'string' ? [current] : current;
  }

  /** Ids whose first `length` fields have this canonical key (1 ≤ length < fields.length). */
  lookupPrefix(length: number, key: string): Iterable<string> {
    return this.prefixes[length - 1]?.get(key) ?? [];
  }

  private prefixKeys(entries: IndexEntry[]): [number, string][] {
    if (this.prefixes.length === 0) return [];
    const keys = new Map<string, [number, string]>();
    for (const entry of entries) {
      let prefix = '';
      for (let k = 0; k < this.prefixes.length; k++) {
        prefix += canonicalKey(entry.values[k]);
        keys.set(`${k}|${prefix}`, [k, prefix]);
      }
    }
    return [...keys.values()];
  }

  /** The first key of `document` already owned by another document, if this index is unique. */
  findConflict(id: string, document: Document): IndexEntry | undefined {
    if (!this.unique) return undefined;
    for (const entry of this.entriesFor(document)) {
      for (const owner of this.lookup(entry.key)) if (owner !== id) return entry;
    }
    return undefined;
  }

  clear(): void {
    this.entries.clear();
    for (const prefix of this.prefixes) prefix.clear();
  }

  /** Index keys of a document: one per combination of multikey values; none when sparse/partial excludes it. */
  entriesFor(document: Document): IndexEntry[] {
    if (this.partialFilter && !this.partialFilter.test(document)) return [];
    const perField = this.fields.map((field) => valuesAtPath(document, field));
    if (
      this.spec.sparse &&
      perField.every((values) => values.every((value) => value === undefined))
    )
      return [];
    let combos: IndexEntry[] = [{ key: '', values: [] }];
    for (const values of perField) {
      const next: IndexEntry[] = [];
      for (const combo of combos) {
        for (const value of values)
          next.push({ key: combo.key + canonicalKey(value), values: [...combo.values, value] });
      }
      combos = next;
    }
    if (combos.length === 1) return combos;
    const unique = new Map(combos.map((combo) => [combo.key, combo]));
    return [...unique.values()];
  }

  duplicateKeyError(ns: string, values: unknown[]): MongoCommandError {
    const keyValue: Document = {};
    this.fields.forEach((field, i) => (keyValue[field] = values[i] ?? null));
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

function formatKeyValue(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  const bsonType = (value as { _bsontype?: string })._bsontype;
  if (bsonType === 'ObjectId') return `ObjectId('${String(value)}')`;
  if (typeof value === 'object' && !bsonType) return JSON.stringify(value);
  return String(value);
}

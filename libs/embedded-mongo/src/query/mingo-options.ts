import { Query } from 'mingo';
import { ObjectId, type Document } from 'bson';
import { canonicalKey } from '../storage/index-key';
import type { Options } from 'mingo/types';

export type MingoOptions = Partial<Options>;

/** Options shared by every mingo call: MongoDB-strict semantics, `_id` as the key. */
export function mingoOptions(extra: MingoOptions = {}): MingoOptions {
  return { idKey: '_id', useStrictMode: true, scriptEnabled: false, ...extra };
}

export function compileFilter(filter: Document | undefined, options?: MingoOptions): Query {
  return new Query(filter ?? {}, mingoOptions(options));
}

export interface Matcher {
  test(document: Document): boolean;
}

const isPlainScalar = (value: unknown): boolean =>
  typeof value === 'string' ||
  (typeof value === 'number' && !Number.isNaN(value)) ||
  typeof value === 'boolean' ||
  value instanceof Date ||
  value instanceof ObjectId;

/**
 * A filter test. Filters made only of top-level `field: scalar` equalities (the common case:
 * ids, foreign keys, statuses) are answered with canonical keys, exactly as the indexes compare;
 * a document holding an array in such a field, and every other filter, go to mingo. Building a mingo
 * Query copies its operator tables, which dominates short queries.
 */
export function compileMatcher(filter: Document | undefined, options: MingoOptions = {}): Matcher {
  const entries = Object.entries(filter ?? {});
  const simple =
    options.collation === undefined &&
    entries.every(
      ([field, value]) => !field.startsWith('$') && !field.includes('.') && isPlainScalar(value),
    );
  if (!simple) return compileFilter(filter, options);
  const expected = entries.map(([field, value]) => [field, canonicalKey(value)] as const);
  let fallback: Query | undefined;
  return {
    test(document: Document): boolean {
      for (const [field, key] of expected) {
        const actual = document[field];
        if (Array.isArray(actual))
          return (fallback ??= compileFilter(filter, options)).test(document);
        if (canonicalKey(actual) !== key) return false;
      }
      return true;
    },
  };
}

import type { Document } from 'bson';
import { canonicalKey } from '../storage/index-key';
import { compareStrings } from './bson-order';
import { cloneDocument } from './clone';

const SIMPLE_OPERATORS = new Set(['$set', '$unset', '$inc', '$max', '$min']);

/**
 * Fast path for the updates applications send most ($set/$unset/$inc, and $max/$min between two
 * numbers, two dates or, without a collation, two strings, on plain paths). mingo's general
 * updater rebuilds its operator tables on every call, which dominates single-document updates.
 * Returns undefined whenever the update needs mingo's full semantics: positional paths, arrays
 * along a path, `_id`, non-numeric increments or overlapping paths.
 */
export function trySimpleUpdate(
  original: Document,
  modifier: Document,
  collated = false,
): { document: Document; modified: boolean } | undefined {
  const operations: Array<[string, string, unknown]> = [];
  for (const [operator, fields] of Object.entries(modifier)) {
    if (!SIMPLE_OPERATORS.has(operator) || !fields || typeof fields !== 'object') return undefined;
    for (const [path, value] of Object.entries(fields as Document))
      operations.push([operator, path, value]);
  }
  if (!pathsAreIndependent(operations.map(([, path]) => path))) return undefined;

  const document = cloneDocument(original);
  let modified = false;
  for (const [operator, path, value] of operations) {
    const parts = path.split('.');
    const parent = parentObject(document, parts, operator !== '$unset');
    if (parent === undefined) return undefined;
    if (parent === null) continue; // $unset of a path that does not exist
    const leaf = parts[parts.length - 1];
    const exists = Object.prototype.hasOwnProperty.call(parent, leaf);
    if (operator === '$set') {
      if (!exists || canonicalKey(parent[leaf]) !== canonicalKey(value)) modified = true;
      parent[leaf] = cloneDocument(value);
    } else if (operator === '$unset') {
      if (exists) modified = true;
      delete parent[leaf];
    } else if (operator === '$inc') {
      if (typeof value !== 'number' || (exists && typeof parent[leaf] !== 'number'))
        return undefined;
      parent[leaf] = exists ? (parent[leaf] as number) + value : value;
      if (!exists || value !== 0) modified = true;
    } else {
      // $max / $min: only same-kind comparisons here; BSON cross-type order is mingo's job.
      const current = exists ? comparable(parent[leaf], collated) : undefined;
      const next = comparable(value, collated);
      if (next === undefined || (exists && current === undefined)) return undefined;
      if (exists && current!.kind !== next.kind) return undefined;
      const order = exists ? compareComparable(next, current!) : 0;
      const replace = !exists || (operator === '$max' ? order > 0 : order < 0);
      if (replace) {
        parent[leaf] = cloneDocument(value);
        modified = true;
      }
    }
  }
  return { document, modified };
}

function pathsAreIndependent(paths: string[]): boolean {
  if (
    paths.some(
      (path) => path.includes('$') || path === '_id' || path.startsWith('_id.') || path === '',
    )
  )
    return false;
  // With a '.' appended, a parent is a string prefix of its children and sorts right before
  // them ('a.' < 'a.b.'), whatever sorts between bare names ('a' < 'a-b' < 'a.b').
  const sorted = paths.map((path) => `${path}.`).sort();
  return sorted.every((path, i) => i === 0 || !path.startsWith(sorted[i - 1]));
}

/**
 * The plain object holding the last path segment. Missing levels are created when `create` is
 * set (null when not); undefined means the path crosses an array or scalar.
 */
function parentObject(
  document: Document,
  parts: string[],
  create: boolean,
): Document | null | undefined {
  let node = document;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === undefined) {
      if (!create) return null;
      node[part] = {};
    } else if (
      next === null ||
      typeof next !== 'object' ||
      Object.getPrototypeOf(next) !== Object.prototype
    ) {
      return undefined;
    }
    node = node[part] as Document;
  }
  return node;
}

type Comparable = { kind: 'number' | 'date'; value: number } | { kind: 'string'; value: string };

/**
 * Numbers and dates compare by value, strings by code point (a collation's order is mingo's
 * job); anything else goes to mingo.
 */
function comparable(value: unknown, collated: boolean): Comparable | undefined {
  if (typeof value === 'number' && !Number.isNaN(value)) return { kind: 'number', value };
  if (value instanceof Date && !Number.isNaN(value.getTime()))
    return { kind: 'date', value: value.getTime() };
  if (typeof value === 'string' && !collated) return { kind: 'string', value };
  return undefined;
}

/** Two comparables of the same kind. */
function compareComparable(a: Comparable, b: Comparable): number {
  return typeof a.value === 'string'
    ? compareStrings(a.value, String(b.value))
    : a.value - Number(b.value);
}

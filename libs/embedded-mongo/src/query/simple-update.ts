import type { Document } from 'bson';
import { canonicalKey } from '../storage/index-key';
import { compareStrings } from './bson-order';
import { cloneDocument } from './clone';
import { comparePaths, isPlainName } from './field-order';

const SIMPLE_OPERATORS = new Set(['$set', '$unset', '$inc', '$max', '$min', '$push', '$pull']);

/**
 * Fast path for the updates applications send most ($set/$unset/$inc, $max/$min between two
 * numbers, two dates or, without a collation, two strings, $push of a value or an `$each` list,
 * and $pull of scalars or `$in` a list of scalars from an array of scalars, on plain paths).
 * mingo's general updater rebuilds its operator tables on every call, which dominates
 * single-document updates. Returns undefined whenever the update needs mingo's full semantics (or
 * is an error, which the caller raises): positional paths, arrays along a path, `_id`, non-numeric
 * increments, a target of the wrong type, $push modifiers other than $each, $pull conditions on
 * documents or arrays, or overlapping paths.
 */
export function trySimpleUpdate(
  original: Document,
  modifier: Document,
  collated = false,
): { document: Document; modified: boolean } | undefined {
  const operations = simpleOperations(modifier);
  if (!operations || !pathsAreIndependent(operations)) return undefined;
  return applyOperations(original, operations, collated);
}

/**
 * An upsert's new document in one pass: `modifier` and `onInsert` (its `$setOnInsert` fields)
 * applied to the seed as the one update MongoDB makes of them (their new fields interleave in its
 * order). Undefined where either needs mingo or their paths overlap: the caller then applies them
 * one after the other.
 */
export function trySimpleUpsert(
  seed: Document,
  modifier: Document,
  onInsert: Document,
  collated = false,
): Document | undefined {
  const operations = simpleOperations(modifier);
  const inserted = simpleOperations({ $set: onInsert });
  if (!operations || !inserted) return undefined;
  operations.push(...inserted);
  if (!pathsAreIndependent(operations)) return undefined;
  return applyOperations(seed, operations, collated)?.document;
}

type Operation = [operator: string, path: string, value: unknown];

/** The operations of a modifier, in order; undefined when an operator is not a simple one. */
function simpleOperations(modifier: Document): Operation[] | undefined {
  const operations: Operation[] = [];
  for (const operator of Object.keys(modifier)) {
    const fields = modifier[operator] as unknown;
    if (!SIMPLE_OPERATORS.has(operator) || !fields || typeof fields !== 'object') return undefined;
    for (const path of Object.keys(fields)) {
      let value = (fields as Document)[path];
      if (operator === '$push') value = pushedItems(value);
      else if (operator === '$pull') value = pulledKeys(value);
      if (value === undefined) return undefined;
      operations.push([operator, path, value]);
    }
  }
  return operations;
}

/** What a $push appends: its value, or its `$each` list; undefined for any other modifier. */
function pushedItems(value: unknown): unknown[] | undefined {
  if (!isPlainObject(value)) return [value];
  const keys = Object.keys(value);
  if (!keys.some((key) => key.startsWith('$'))) return [value];
  // A document whose first field is $each is the modifier form; $slice/$sort/$position are mingo's.
  return keys.length === 1 && keys[0] === '$each' && Array.isArray(value.$each)
    ? value.$each
    : undefined;
}

/**
 * The canonical keys of the scalars a $pull removes (a scalar, or `{ $in: [scalars] }`): such a
 * condition removes the elements equal to one of them, as BSON compares (1 equals 1.0, NaN NaN).
 * Undefined for a condition on documents or arrays, a regex or another operator.
 */
function pulledKeys(condition: unknown): Set<string> | undefined {
  if (isScalar(condition)) return new Set([canonicalKey(condition)]);
  if (!isPlainObject(condition)) return undefined;
  const keys = Object.keys(condition);
  if (keys.length !== 1 || keys[0] !== '$in' || !Array.isArray(condition.$in)) return undefined;
  const scalars: unknown[] = condition.$in;
  return scalars.every(isScalar) ? new Set(scalars.map(canonicalKey)) : undefined;
}

/** Values a $pull compares by equality alone: no documents, arrays, regexes or BSON classes. */
function isScalar(value: unknown): boolean {
  const type = typeof value;
  return (
    type === 'string' ||
    type === 'number' ||
    type === 'boolean' ||
    value === null ||
    (value instanceof Date && !Number.isNaN(value.getTime()))
  );
}

function isPlainObject(value: unknown): value is Document {
  return (
    value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
  );
}

/** Applies the operations to a copy of `original`; undefined when one needs mingo. */
function applyOperations(
  original: Document,
  operations: Operation[],
  collated: boolean,
): { document: Document; modified: boolean } | undefined {
  const document = cloneDocument(original);
  let modified = false;
  for (const [operator, path, value] of inCreationOrder(original, operations)) {
    // Most paths are top-level names: no split, and the document is their parent.
    const parts = path.includes('.') ? path.split('.') : undefined;
    const creates = operator !== '$unset' && operator !== '$pull';
    const parent = parts ? parentObject(document, parts, creates) : document;
    if (parent === undefined) return undefined;
    if (parent === null) continue; // $unset or $pull of a path that does not exist
    const leaf = parts ? parts[parts.length - 1] : path;
    const exists = Object.prototype.hasOwnProperty.call(parent, leaf);
    if (operator === '$set') {
      if (!exists || !sameIndexValue(parent[leaf], value)) modified = true;
      parent[leaf] = cloneDocument(value);
    } else if (operator === '$unset') {
      if (exists) modified = true;
      delete parent[leaf];
    } else if (operator === '$push') {
      const items = value as unknown[];
      // A missing field becomes the array (an empty one for `$each: []`, as MongoDB creates it).
      if (!exists) parent[leaf] = [];
      else if (!Array.isArray(parent[leaf])) return undefined; // error 2, raised by the caller
      for (const item of items) (parent[leaf] as unknown[]).push(cloneDocument(item));
      if (!exists || items.length > 0) modified = true;
    } else if (operator === '$pull') {
      if (!exists) continue;
      const array = parent[leaf] as unknown;
      if (!Array.isArray(array)) return undefined; // error 2, raised by the caller
      // Equality on documents and arrays matches by query semantics: mingo's job.
      if (!array.every(isScalar)) return undefined;
      // Under a collation, strings compare by its rules: mingo's job too.
      if (collated && array.some((element) => typeof element === 'string')) return undefined;
      const pulled = value as Set<string>;
      const kept = array.filter((element) => !pulled.has(canonicalKey(element)));
      if (kept.length !== array.length) {
        parent[leaf] = kept;
        modified = true;
      }
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

/**
 * The operations in an order that creates fields where MongoDB does: it applies them in the order
 * of their paths (see field-order.ts), appending each field it creates. Only the order of the
 * operations that may create one (a dotted path, or a name the document lacks) matters, so only
 * those are sorted, after the others: updates of existing fields (most) pay no sort.
 */
function inCreationOrder(original: Document, operations: Operation[]): Operation[] {
  let creating = 0;
  for (let i = 0; i < operations.length; i++) if (mayCreate(original, operations[i])) creating++;
  if (creating < 2) return operations;
  const existing: Operation[] = [];
  const created: Operation[] = [];
  let plain = true;
  for (let i = 0; i < operations.length; i++) {
    const operation = operations[i];
    if (!mayCreate(original, operation)) existing.push(operation);
    else {
      created.push(operation);
      if (plain && !isPlainName(operation[1])) plain = false;
    }
  }
  created.sort(plain ? (a, b) => (a[1] < b[1] ? -1 : 1) : (a, b) => comparePaths(a[1], b[1]));
  for (let i = 0; i < created.length; i++) existing.push(created[i]);
  return existing;
}

/** Whether an operation may create a field: a dotted path, or a name `original` lacks. */
function mayCreate(original: Document, operation: Operation): boolean {
  const operator = operation[0];
  const path = operation[1];
  return (
    operator !== '$unset' &&
    operator !== '$pull' &&
    (path.includes('.') || !Object.prototype.hasOwnProperty.call(original, path))
  );
}

/**
 * Whether two values have the same canonical key (what "modified" is judged by), without building
 * the keys for strings, booleans and numbers below 2^53, whose keys are equal exactly when they
 * are (NaN aside, hence the self-comparisons).
 */
function sameIndexValue(a: unknown, b: unknown): boolean {
  const type = typeof a;
  if (type === typeof b && (type === 'string' || type === 'boolean')) return a === b;
  if (
    type === 'number' &&
    typeof b === 'number' &&
    a === a &&
    b === b &&
    Math.abs(a as number) < 2 ** 53 &&
    Math.abs(b) < 2 ** 53
  )
    return a === b;
  return canonicalKey(a) === canonicalKey(b);
}

/**
 * No path is `_id`, empty, positional, or the same as another or a parent of one. (Empty segments
 * were refused while parsing: assertParsableUpdate.)
 */
function pathsAreIndependent(operations: Operation[]): boolean {
  let dotted = false;
  for (const [, path] of operations) {
    if (path.includes('$') || path === '_id' || path.startsWith('_id.') || path === '')
      return false;
    if (path.includes('.')) dotted = true;
  }
  // Top-level names are parents of nothing here: they only need to be distinct.
  if (!dotted) return new Set(operations.map(([, path]) => path)).size === operations.length;
  // With a '.' appended, a parent is a string prefix of its children and sorts right before
  // them ('a.' < 'a.b.'), whatever sorts between bare names ('a' < 'a-b' < 'a.b').
  const sorted = operations.map(([, path]) => `${path}.`).sort();
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

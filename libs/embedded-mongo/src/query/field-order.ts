import type { Document } from 'bson';
import { compareStrings } from './bson-order';
import { isPlainObject } from './value-predicates';

/*
 * MongoDB (5.0+) applies the fields an update names in the order of its update tree: level by
 * level, names compared as `pathsupport::cmpPathsAndArrayIndexes` does (by UTF-8 bytes, except
 * that two names starting with a digit other than a leading zero compare shorter first, so
 * numeric names in numeric order), whatever operator names them. Each field it creates is
 * appended to its parent; a field that exists keeps its place.
 * https://www.mongodb.com/docs/manual/reference/operator/update/#behavior
 */

/** Two field names (one path segment each) in the order MongoDB's update tree applies them. */
export function compareFieldNames(a: string, b: string): number {
  if (a === b) return 0;
  if (startsNumber(a) && startsNumber(b) && a.length !== b.length) return a.length - b.length;
  return compareStrings(a, b);
}

/** A digit first, and not a zero followed by more: '0', '7', '42', '9a' but not '07'. */
function startsNumber(name: string): boolean {
  const first = name.charCodeAt(0);
  return first >= 0x30 && first <= 0x39 && (first !== 0x30 || name.length === 1);
}

/** Two dotted paths in the order of a depth-first walk of the update tree (parents first). */
export function comparePaths(a: string, b: string): number {
  if (!a.includes('.') && !b.includes('.')) return compareFieldNames(a, b);
  const partsA = a.split('.');
  const partsB = b.split('.');
  const length = Math.min(partsA.length, partsB.length);
  for (let i = 0; i < length; i++) {
    const order = compareFieldNames(partsA[i], partsB[i]);
    if (order !== 0) return order;
  }
  return partsA.length - partsB.length;
}

const PLAIN_NAME = /^[^0-9.][^.\ud800-\uffff]*$/;

/**
 * A top-level name with no leading digit and no UTF-16 unit from U+D800 up: such names compare in
 * comparePaths' order by the engine's string comparison (`<`), at a fraction of its cost.
 */
export const isPlainName = (path: string): boolean => PLAIN_NAME.test(path);

/** The paths an operator update creates or changes, `$rename` targets included. */
export function updatedPaths(modifier: Document): string[] {
  const paths: string[] = [];
  for (const [operator, fields] of Object.entries(modifier)) {
    if (fields === null || typeof fields !== 'object') continue;
    for (const [path, argument] of Object.entries(fields as Document)) {
      paths.push(path);
      if (operator === '$rename' && typeof argument === 'string') paths.push(argument);
    }
  }
  return paths;
}

interface PathTree {
  [name: string]: PathTree;
}

/**
 * `updated` (a copy of `original` some updater changed along `paths`) with MongoDB's field order
 * on every level those paths pass through: the fields `original` had there in their order, then
 * the new ones in update-tree order. Values the paths end at (a `$set` of a document) are kept as
 * they are. Rebuilds only the objects whose order differs; returns the (possibly new) root.
 */
export function withUpdateFieldOrder(
  original: Document,
  updated: Document,
  paths: string[],
): Document {
  const tree: PathTree = {};
  for (const path of paths) {
    let node = tree;
    for (const part of path.split('.')) node = node[part] ??= {};
  }
  return reorder(original, updated, tree) as Document;
}

function reorder(before: unknown, after: unknown, tree: PathTree): unknown {
  if (Array.isArray(after)) {
    // Array elements keep their places; only the objects inside them can gain fields. Without the
    // same elements before, there is nothing to tell new fields by.
    if (!Array.isArray(before) || before.length !== after.length) return after;
    for (const [name, subtree] of Object.entries(tree)) {
      if (Object.keys(subtree).length === 0) continue;
      const every = name === '$' || name.startsWith('$[');
      after.forEach((element, i) => {
        if (every || name === String(i)) after[i] = reorder(before[i], element, subtree);
      });
    }
    return after;
  }
  if (!isPlainObject(after)) return after;
  const previous = isPlainObject(before) ? before : {};
  let result = after;
  const ordered = [
    ...Object.keys(previous).filter((name) => Object.hasOwn(after, name)),
    ...Object.keys(after)
      .filter((name) => !Object.hasOwn(previous, name))
      .sort(compareFieldNames),
  ];
  const current = Object.keys(after);
  if (ordered.some((name, i) => name !== current[i])) {
    result = {};
    for (const name of ordered) result[name] = after[name];
  }
  for (const [name, subtree] of Object.entries(tree)) {
    if (Object.keys(subtree).length === 0 || !Object.hasOwn(result, name)) continue;
    result[name] = reorder(previous[name], result[name], subtree);
  }
  return result;
}

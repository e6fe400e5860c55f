import type { Document } from 'bson';
import { canonicalKey } from '../storage/index-key';

/**
 * mingo's `$addToSet` compares embedded documents without regard to field order, so it took
 * `{ b: 2, a: 1 }` for a copy of `{ a: 1, b: 2 }` and left it out. MongoDB compares documents
 * field by field in order (numbers by value): both are added. This computes the resulting array
 * with canonical keys (which compare that way) and hands it to the updater as a `$set` (MongoDB
 * refuses overlapping paths, so moving an operation between operators cannot change what it
 * does). Positional paths and arrays along the path stay with mingo.
 */
export function withOrderedAddToSet(document: Document, modifier: Document): Document {
  const fields = modifier.$addToSet as Document | undefined;
  if (!fields || typeof fields !== 'object') return modifier;
  const kept: Document = {};
  const set: Document = {};
  for (const [path, argument] of Object.entries(fields)) {
    const current = plainPathValue(document, path);
    if (current === NOT_PLAIN || (current !== undefined && !Array.isArray(current))) {
      kept[path] = argument; // mingo resolves it, or the update checks refused it already
      continue;
    }
    const each = eachOf(argument);
    const array = (current as unknown[] | undefined) ?? [];
    const seen = new Set(array.map((value) => canonicalKey(value)));
    const added = each.filter((value) => {
      const key = canonicalKey(value);
      return !seen.has(key) && !!seen.add(key);
    });
    if (added.length || current === undefined) set[path] = [...array, ...added];
  }
  const { $addToSet: _all, ...rest } = modifier;
  return {
    ...rest,
    ...(Object.keys(kept).length ? { $addToSet: kept } : {}),
    ...(Object.keys(set).length ? { $set: { ...(rest.$set as Document), ...set } } : {}),
  };
}

const NOT_PLAIN = Symbol('not-plain');

function eachOf(argument: unknown): unknown[] {
  const isEach =
    argument !== null &&
    typeof argument === 'object' &&
    Object.getPrototypeOf(argument) === Object.prototype &&
    Array.isArray((argument as Document).$each);
  return isEach ? ((argument as Document).$each as unknown[]) : [argument];
}

/** The value at a dotted path through plain documents only; NOT_PLAIN past an array or `$`. */
function plainPathValue(document: Document, path: string): unknown {
  if (path.includes('$')) return NOT_PLAIN;
  let node: unknown = document;
  for (const part of path.split('.')) {
    if (node === undefined || node === null) return undefined;
    if (typeof node !== 'object' || Array.isArray(node)) return NOT_PLAIN;
    node = (node as Document)[part];
  }
  return node;
}

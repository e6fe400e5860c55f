import type { Document } from 'bson';
import {
  allOf,
  anyOf,
  fieldPredicates,
  isPlainObject,
  negate,
  type Verdict,
} from './value-predicates';

/**
 * A filter judged on a decoded document: true or false when decided, undefined when mingo must
 * judge it (an array or a non-document value lies on a path the filter reads).
 */
export type NativeTest = (document: Document) => Verdict;

const UNDECIDED = Symbol('undecided');
/** Path parts that would read an object's prototype (`toString`) instead of a field. */
const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * The common filter shapes, without mingo: `$and`/`$or`/`$nor` of conditions on top-level or
 * dotted paths, each one whose every part has a value predicate (see fieldPredicates: equality,
 * `$ne`, `$in`/`$nin`, ranges, `$exists`). Undefined for any other shape (`foldsStrings`: also for
 * string operands, which a collation compares folded), so mingo takes the filter.
 */
export function compileNative(filter: Document, foldsStrings = false): NativeTest | undefined {
  const tests: NativeTest[] = [];
  for (const [field, condition] of Object.entries(filter)) {
    const test =
      field === '$and' || field === '$or' || field === '$nor'
        ? logical(field, condition, foldsStrings)
        : field.startsWith('$')
          ? undefined
          : fieldTest(field, condition, foldsStrings);
    if (!test) return undefined;
    tests.push(test);
  }
  return tests.length === 1 ? tests[0] : (document) => allOf(tests, document);
}

function logical(operator: string, branches: unknown, foldsStrings: boolean) {
  if (!Array.isArray(branches) || branches.length === 0) return undefined;
  const tests: NativeTest[] = [];
  for (const branch of branches) {
    const test = isPlainObject(branch) ? compileNative(branch, foldsStrings) : undefined;
    if (!test) return undefined;
    tests.push(test);
  }
  if (operator === '$and') return (document: Document) => allOf(tests, document);
  if (operator === '$or') return (document: Document) => anyOf(tests, document);
  return (document: Document) => negate(anyOf(tests, document));
}

function fieldTest(path: string, condition: unknown, foldsStrings: boolean) {
  const read = reader(path);
  if (!read) return undefined;
  const { predicates, complete } = fieldPredicates(condition, { foldsStrings });
  if (!complete) return undefined;
  if (predicates.length === 1) {
    const [holds] = predicates; // most conditions: no loop over one predicate
    return (document: Document) => {
      const value = read(document);
      return value === UNDECIDED ? undefined : holds(value);
    };
  }
  return (document: Document) => {
    const value = read(document);
    return value === UNDECIDED ? undefined : allOf<unknown>(predicates, value);
  };
}

/**
 * Reads a path through embedded documents: undefined when missing (also past a scalar or null),
 * UNDECIDED when an array or another object (a Date, an ObjectId...) is on the way or at its end.
 */
function reader(path: string): ((document: Document) => unknown) | undefined {
  const parts = path.split('.');
  if (parts.some((part) => part === '' || PROTOTYPE_NAMES.has(part))) return undefined;
  if (parts.length === 1)
    return (document) => {
      const value: unknown = document[path];
      return Array.isArray(value) ? UNDECIDED : value;
    };
  return (document) => {
    let value: unknown = document;
    for (let i = 0; i < parts.length; i++) {
      if (value === null || typeof value !== 'object') return undefined;
      if ((value as object).constructor !== Object) return UNDECIDED; // arrays among them
      value = (value as Document)[parts[i]];
    }
    return Array.isArray(value) ? UNDECIDED : value;
  };
}

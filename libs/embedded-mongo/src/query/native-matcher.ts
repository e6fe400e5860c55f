import { ObjectId, type Document } from 'bson';
import { canonicalKey } from '../storage/index-key';
import { bracketOf, compareBson, compareStrings } from './bson-order';

/**
 * A filter judged on a decoded document: true or false when decided, undefined when mingo must
 * judge it (an array or a non-document value lies on a path the filter reads).
 */
export type NativeTest = (document: Document) => boolean | undefined;

/** What a condition reads: the value at a path, or UNDECIDED. */
type ValueTest = (value: unknown) => boolean;

const UNDECIDED = Symbol('undecided');
const NUMBERS = bracketOf(0);
/** Path parts that would read an object's prototype (`toString`) instead of a field. */
const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * The common filter shapes, without mingo: `$and`/`$or`/`$nor` of conditions on top-level or
 * dotted paths, each a scalar or null (equality) or operators among `$eq`, `$ne`, `$in`, `$nin`
 * (of scalars and null), `$gt`/`$gte`/`$lt`/`$lte` (of a number, string or Date) and `$exists`
 * (a boolean). Scalars are strings, booleans, numbers (not NaN), Dates and ObjectIds. MongoDB's
 * rules: numbers of every type by value, strings by code point, a range only within its operand's
 * type, null equal to a missing field. Undefined for any other shape (`foldsStrings`: also for
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
  return allOf(tests);
}

function logical(operator: string, branches: unknown, foldsStrings: boolean) {
  if (!Array.isArray(branches) || branches.length === 0) return undefined;
  const tests: NativeTest[] = [];
  for (const branch of branches) {
    const test = isPlainObject(branch) ? compileNative(branch, foldsStrings) : undefined;
    if (!test) return undefined;
    tests.push(test);
  }
  if (operator === '$and') return allOf(tests);
  const any = anyOf(tests);
  return operator === '$or' ? any : (document: Document) => negate(any(document));
}

/** false if one is false, true if all are true, else undefined. */
function allOf(tests: NativeTest[]): NativeTest {
  if (tests.length === 1) return tests[0];
  return (document) => {
    let verdict: boolean | undefined = true;
    for (let i = 0; i < tests.length; i++) {
      const decided = tests[i](document);
      if (decided === false) return false;
      if (decided === undefined) verdict = undefined;
    }
    return verdict;
  };
}

/** true if one is true, false if all are false, else undefined. */
function anyOf(tests: NativeTest[]): NativeTest {
  return (document) => {
    let verdict: boolean | undefined = false;
    for (let i = 0; i < tests.length; i++) {
      const decided = tests[i](document);
      if (decided === true) return true;
      if (decided === undefined) verdict = undefined;
    }
    return verdict;
  };
}

const negate = (decided: boolean | undefined) => (decided === undefined ? undefined : !decided);

function fieldTest(path: string, condition: unknown, foldsStrings: boolean) {
  const read = reader(path);
  if (!read) return undefined;
  const tests: ValueTest[] = [];
  if (isPlainObject(condition) && Object.keys(condition).some((key) => key.startsWith('$'))) {
    for (const [operator, operand] of Object.entries(condition)) {
      const test = operatorTest(operator, operand, foldsStrings);
      if (!test) return undefined;
      tests.push(test);
    }
  } else {
    const test = equalTo(condition, foldsStrings);
    if (!test) return undefined;
    tests.push(test);
  }
  return (document: Document) => {
    const value = read(document);
    if (value === UNDECIDED) return undefined;
    for (let i = 0; i < tests.length; i++) if (!tests[i](value)) return false;
    return true;
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

function operatorTest(
  operator: string,
  operand: unknown,
  foldsStrings: boolean,
): ValueTest | undefined {
  switch (operator) {
    case '$eq':
      return equalTo(operand, foldsStrings);
    case '$ne': {
      const equal = equalTo(operand, foldsStrings);
      return equal && ((value) => !equal(value));
    }
    case '$in':
      return inList(operand, foldsStrings);
    case '$nin': {
      const inside = inList(operand, foldsStrings);
      return inside && ((value) => !inside(value));
    }
    case '$exists':
      return typeof operand === 'boolean'
        ? (value) => (value !== undefined) === operand
        : undefined;
    case '$gt':
      return range(operand, foldsStrings, (order) => order > 0);
    case '$gte':
      return range(operand, foldsStrings, (order) => order >= 0);
    case '$lt':
      return range(operand, foldsStrings, (order) => order < 0);
    case '$lte':
      return range(operand, foldsStrings, (order) => order <= 0);
    default:
      return undefined;
  }
}

const isNil = (value: unknown) => value === null || value === undefined;

function isScalar(value: unknown, foldsStrings: boolean): boolean {
  return (
    (typeof value === 'string' && !foldsStrings) ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && !Number.isNaN(value)) ||
    (value instanceof Date && !Number.isNaN(value.getTime())) ||
    value instanceof ObjectId
  );
}

/** Equality with a scalar (numbers of any type by value) or null (null or missing). */
function equalTo(expected: unknown, foldsStrings: boolean): ValueTest | undefined {
  if (expected === null) return isNil;
  if (!isScalar(expected, foldsStrings)) return undefined;
  if (typeof expected === 'string' || typeof expected === 'boolean')
    return (value) => value === expected;
  if (expected instanceof Date) {
    const time = expected.getTime();
    return (value) => value instanceof Date && value.getTime() === time;
  }
  const key = canonicalKey(expected);
  if (typeof expected === 'number')
    return (value) => value === expected || (isWrappedNumber(value) && canonicalKey(value) === key);
  return (value) => value instanceof ObjectId && canonicalKey(value) === key;
}

function inList(operand: unknown, foldsStrings: boolean): ValueTest | undefined {
  if (!Array.isArray(operand)) return undefined;
  if (!operand.every((item) => item === null || isScalar(item, foldsStrings))) return undefined;
  const primitives = new Set(operand.filter((item) => typeof item !== 'object'));
  const keys = new Set(operand.map((item) => canonicalKey(item))); // null's key is a missing field's
  return (value) =>
    value === null || value === undefined || typeof value === 'object'
      ? keys.has(canonicalKey(value))
      : primitives.has(value);
}

/** A Long past 2^53, a Decimal128...: numbers that are objects. */
const isWrappedNumber = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && bracketOf(value) === NUMBERS;

/** Only values of the operand's type bracket compare; NaN meets only `$gte`/`$lte` NaN (not an operand here). */
function range(
  operand: unknown,
  foldsStrings: boolean,
  holds: (order: number) => boolean,
): ValueTest | undefined {
  if (typeof operand === 'string' && !foldsStrings)
    return (value) => typeof value === 'string' && holds(compareStrings(value, operand));
  if (typeof operand === 'number' && !Number.isNaN(operand))
    return (value) =>
      typeof value === 'number'
        ? !Number.isNaN(value) && holds(value < operand ? -1 : value > operand ? 1 : 0)
        : isWrappedNumber(value) && String(value) !== 'NaN' && holds(compareBson(value, operand));
  if (operand instanceof Date && !Number.isNaN(operand.getTime())) {
    const bound = operand.getTime();
    return (value) => {
      if (!(value instanceof Date)) return false;
      const time = value.getTime();
      return !Number.isNaN(time) && holds(time < bound ? -1 : time > bound ? 1 : 0);
    };
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Document {
  return (
    value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
  );
}

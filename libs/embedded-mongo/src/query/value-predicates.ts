import { ObjectId, type Document } from 'bson';
import { COMPLEX } from '../storage/bson-reader';
import { canonicalKey } from '../storage/index-key';
import { bracketOf, compareBson, compareStrings } from './bson-order';

/**
 * A condition's verdict: true or false when decided, undefined when undecided and the caller must
 * hand the document on (the native matcher to mingo, the raw prefilter to a decoded document).
 */
export type Verdict = boolean | undefined;

/**
 * A condition on one field's value, with MongoDB's rules: the value at a path of a decoded document
 * (undefined when missing), or a field read from stored bytes, where COMPLEX stands for a value that
 * is present but was not decoded (an array, an embedded document, a Decimal128...): `$exists`
 * decides it, every other predicate leaves it undecided. Any other value is decided.
 */
export type ValuePredicate = (value: unknown) => Verdict;

/** What `field: condition` compiles to: its predicates, and whether they express all of it. */
export interface FieldPredicates {
  predicates: ValuePredicate[];
  complete: boolean;
}

/** A decoded value's test: total, so it never leaves a value undecided. */
type ValueTest = (value: unknown) => boolean;

const NUMBERS = bracketOf(0);

/**
 * The predicates of `field: condition`: a scalar or null (equality), or an object of operators
 * among `$eq`, `$ne`, `$in`, `$nin` (of scalars and null), `$gt`/`$gte`/`$lt`/`$lte` (of a number,
 * string or Date) and `$exists` (of any operand). Scalars are strings, booleans, numbers (not
 * NaN), Dates and ObjectIds; under a collation (`foldsStrings`) strings compare folded, so no
 * string operand is taken. Any other operand or operator leaves the condition incomplete: an object
 * mixing operators and fields (or a document to compare whole) gets no predicate at all.
 * `complexValues`: the values tested may be COMPLEX (read from bytes); decoded ones never are, and
 * their predicates skip that check.
 */
export function fieldPredicates(
  condition: unknown,
  { foldsStrings = false, complexValues = false } = {},
): FieldPredicates {
  const predicates: ValuePredicate[] = [];
  let complete = true;
  const add = (test: ValueTest | undefined, readsPresence = false) => {
    if (!test) complete = false;
    else if (complexValues && !readsPresence) predicates.push(undecidedWhenComplex(test));
    else predicates.push(test);
  };
  const operators = isPlainObject(condition) ? Object.keys(condition) : [];
  if (!operators.some((key) => key.startsWith('$'))) add(equalTo(condition, foldsStrings));
  else if (!operators.every((key) => key.startsWith('$'))) complete = false;
  else
    for (const operator of operators) {
      const operand: unknown = (condition as Document)[operator];
      if (operator === '$exists') add(exists(operand), true);
      else add(operatorTest(operator, operand, foldsStrings));
    }
  return { predicates, complete };
}

/** Only presence is known of a COMPLEX value: a test of its value leaves it undecided. */
const undecidedWhenComplex =
  (test: ValueTest): ValuePredicate =>
  (value) =>
    value === COMPLEX ? undefined : test(value);

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

export const negate = (decided: Verdict): Verdict => (decided === undefined ? undefined : !decided);

/** false if one test is false, true if all are true, else undefined. */
export function allOf<T>(tests: ReadonlyArray<(input: T) => Verdict>, input: T): Verdict {
  let verdict: Verdict = true;
  for (let i = 0; i < tests.length; i++) {
    const decided = tests[i](input);
    if (decided === false) return false;
    if (decided === undefined) verdict = undefined;
  }
  return verdict;
}

/** true if one test is true, false if all are false, else undefined. */
export function anyOf<T>(tests: ReadonlyArray<(input: T) => Verdict>, input: T): Verdict {
  let verdict: Verdict = false;
  for (let i = 0; i < tests.length; i++) {
    const decided = tests[i](input);
    if (decided === true) return true;
    if (decided === undefined) verdict = undefined;
  }
  return verdict;
}

export function isPlainObject(value: unknown): value is Document {
  return (
    value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
  );
}

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

const isNil = (value: unknown) => value === null || value === undefined;

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

/** `$exists`: present or missing as the operand's truth says (see operandTruth). */
function exists(operand: unknown): ValueTest {
  const present = operandTruth(operand);
  return (value) => (value !== undefined) === present; // COMPLEX is present
}

/**
 * An operand's truth as MongoDB reads it (BSON's trueValue): false, null, undefined and numbers
 * equal to 0 of every type are false; the rest is true, `''` and NaN included (`!!` says false).
 */
export function operandTruth(operand: unknown): boolean {
  if (operand === false || operand === null || operand === undefined) return false;
  return bracketOf(operand) !== NUMBERS || compareBson(operand, 0) !== 0;
}

/** A Long past 2^53, a Decimal128...: numbers that are objects. */
const isWrappedNumber = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && bracketOf(value) === NUMBERS;

/**
 * Only values of the operand's type bracket compare (MongoDB's type bracketing): a number range
 * never matches a date, a string, null or a missing field. NaN meets only `$gte`/`$lte` NaN (not an
 * operand here), and a Date past JavaScript's range (NaN time) meets no bound.
 */
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

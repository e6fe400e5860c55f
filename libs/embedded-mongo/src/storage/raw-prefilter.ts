import { ObjectId, type Document } from 'bson';
import { COMPLEX, FieldSet, readTopLevelFields } from './bson-reader';
import { canonicalKey } from './index-key';

/** What the stored bytes say about a document: certainly not a match, certainly one, or ask the filter. */
export enum RawVerdict {
  Reject,
  Match,
  Unknown,
}

/**
 * true/false when the field's value decides the condition; undefined when it cannot. The value is
 * a plain scalar, undefined for a missing field, or COMPLEX (arrays, documents...).
 */
type ScalarCheck = (value: unknown) => boolean | undefined;

/** Only presence is known for COMPLEX values: every value check but `$exists` leaves them undecided. */
const onScalar =
  (check: (value: unknown) => boolean): ScalarCheck =>
  (value) =>
    value === COMPLEX ? undefined : check(value);

export interface RawFilter {
  /** Reject / Match / Unknown, reading only the top-level fields the filter pins. */
  test(bytes: Buffer): RawVerdict;
}

/** A condition on the values read (by field position): decided true/false, or undefined. */
type RawCheck = (values: readonly unknown[]) => boolean | undefined;

/**
 * Evaluates a filter on a stored document's BSON so a scan can skip documents without
 * deserializing them. It reads the top-level fields pinned by the filter's conjunctive conditions
 * (`field: scalar | null | regex`, `$eq`, `$ne`, `$in`/`$nin` of scalars, `$gt/$gte/$lt/$lte` on a
 * number or a date, `$exists`, also inside `$and` and the branches of `$or`). When a field holds an
 * array, an embedded document or a value it does not decode, the verdict is Unknown and the caller
 * runs the real filter. When the filter consists only of such conditions it is complete: a Match
 * verdict is then final. Undefined: nothing to check.
 */
export function compileRawFilter(filter: Document | undefined): RawFilter | undefined {
  if (!filter) return undefined;
  const names: string[] = [];
  const position = (field: string): number => {
    const at = names.indexOf(field);
    return at >= 0 ? at : names.push(field) - 1;
  };
  const checks: RawCheck[] = [];
  const complete = collectChecks(filter, checks, position);
  if (checks.length === 0) return undefined;
  const fields = new FieldSet(names);
  const values: unknown[] = new Array(fields.size);
  return {
    test(bytes) {
      readTopLevelFields(bytes, fields, values);
      const decided = allOf(checks, values);
      if (decided === false) return RawVerdict.Reject;
      return decided && complete ? RawVerdict.Match : RawVerdict.Unknown;
    },
  };
}

/** false if a check fails, true if all hold, else undefined. */
function allOf(checks: readonly RawCheck[], values: readonly unknown[]): boolean | undefined {
  let verdict: boolean | undefined = true;
  for (let i = 0; i < checks.length; i++) {
    const decided = checks[i](values);
    if (decided === false) return false;
    if (decided === undefined) verdict = undefined;
  }
  return verdict;
}

/**
 * Adds the checks of `filter` (`position` numbers the fields they read); returns whether they
 * express all of it.
 */
function collectChecks(
  filter: Document,
  out: RawCheck[],
  position: (field: string) => number,
): boolean {
  let complete = true;
  for (const [field, condition] of Object.entries(filter)) {
    if (field === '$and' && Array.isArray(condition) && condition.length > 0) {
      for (const branch of condition)
        complete = isPlainObject(branch) && collectChecks(branch, out, position) && complete;
      continue;
    }
    if (field === '$or' && Array.isArray(condition) && condition.length > 0) {
      // Decided only when certain (see anyOfCheck), it expresses all of the `$or`.
      const check = anyOfCheck(condition, position);
      if (check) out.push(check);
      else complete = false;
      continue;
    }
    if (field.startsWith('$') || field.includes('.')) {
      complete = false;
      continue;
    }
    const add = (check: ScalarCheck) => {
      const at = position(field);
      out.push((values) => check(values[at]));
    };
    if (isPlainObject(condition)) {
      const operators = Object.entries(condition);
      if (operators.length === 0 || !operators.every(([key]) => key.startsWith('$'))) {
        complete = false; // embedded document equality
        continue;
      }
      for (const [operator, operand] of operators) {
        const check = operatorCheck(operator, operand);
        if (check) add(check);
        else complete = false;
      }
    } else {
      const check = condition instanceof RegExp ? regexCheck(condition) : equalityCheck(condition);
      if (check) add(check);
      else complete = false;
    }
  }
  return complete;
}

/**
 * `$or`: false when every branch fails, true when a branch whose checks express it all holds,
 * else undefined. No check when a branch has nothing to check: it could match any document.
 */
function anyOfCheck(
  branches: unknown[],
  position: (field: string) => number,
): RawCheck | undefined {
  // Each branch is tried first, so the fields of an `$or` that cannot be checked are not read.
  const checkable = (branch: unknown) => {
    if (!isPlainObject(branch)) return false;
    const checks: RawCheck[] = [];
    collectChecks(branch, checks, () => 0);
    return checks.length > 0;
  };
  if (!branches.every(checkable)) return undefined;
  const compiled = (branches as Document[]).map((branch) => {
    const checks: RawCheck[] = [];
    const complete = collectChecks(branch, checks, position);
    return { checks, complete };
  });
  return (values) => {
    let verdict: boolean | undefined = false;
    for (const branch of compiled) {
      const decided = allOf(branch.checks, values);
      if (decided === true && branch.complete) return true;
      if (decided !== false) verdict = undefined;
    }
    return verdict;
  };
}

function operatorCheck(operator: string, operand: unknown): ScalarCheck | undefined {
  switch (operator) {
    case '$eq':
      return equalityCheck(operand);
    case '$ne': {
      const equal = equalityCheck(operand);
      return equal && ((value) => negate(equal(value)));
    }
    case '$in':
    case '$nin': {
      if (!Array.isArray(operand)) return undefined;
      if (!operand.every((value) => value === null || isScalar(value))) return undefined;
      const keys = new Set(operand.map((value) => canonicalKey(value)));
      // Missing and null share a key, as they do for $in.
      return operator === '$in'
        ? onScalar((value) => keys.has(canonicalKey(value)))
        : onScalar((value) => !keys.has(canonicalKey(value)));
    }
    case '$exists': {
      const present = !(operand === false || operand === 0 || operand === null);
      return (value) => (value !== undefined) === present; // COMPLEX is present
    }
    case '$gt':
      return rangeCheck(operand, (a, b) => a > b);
    case '$gte':
      return rangeCheck(operand, (a, b) => a >= b);
    case '$lt':
      return rangeCheck(operand, (a, b) => a < b);
    case '$lte':
      return rangeCheck(operand, (a, b) => a <= b);
    default:
      return undefined;
  }
}

/**
 * `field: /pattern/` as mingo (and MongoDB) match it: a string the pattern finds, never a missing
 * field, null or another scalar type. Patterns with `g` or `y` keep state between tests: not read.
 */
function regexCheck(pattern: RegExp): ScalarCheck | undefined {
  if (pattern.global || pattern.sticky) return undefined;
  return onScalar((value) => typeof value === 'string' && pattern.test(value));
}

function equalityCheck(expected: unknown): ScalarCheck | undefined {
  if (expected === null) return onScalar((value) => value === null || value === undefined);
  if (!isScalar(expected)) return undefined;
  const key = canonicalKey(expected);
  return onScalar((value) => value !== undefined && value !== null && canonicalKey(value) === key);
}

const negate = (decided: boolean | undefined) => (decided === undefined ? undefined : !decided);

/**
 * Comparisons only match values of the operand's type (MongoDB's type bracketing): a number range
 * never matches a date, a string, null or a missing field. NaN is left to the real filter.
 */
function rangeCheck(
  operand: unknown,
  compare: (value: number, bound: number) => boolean,
): ScalarCheck | undefined {
  if (typeof operand === 'number' && !Number.isNaN(operand))
    return (value) =>
      typeof value === 'number'
        ? Number.isNaN(value)
          ? undefined
          : compare(value, operand)
        : value === COMPLEX
          ? undefined
          : false;
  if (operand instanceof Date && !Number.isNaN(operand.getTime())) {
    const bound = operand.getTime();
    return (value) => {
      if (value === COMPLEX) return undefined;
      if (!(value instanceof Date)) return false;
      const time = value.getTime();
      return Number.isNaN(time) ? undefined : compare(time, bound);
    };
  }
  return undefined;
}

function isScalar(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    (typeof value === 'number' && !Number.isNaN(value)) ||
    typeof value === 'boolean' ||
    (value instanceof Date && !Number.isNaN(value.getTime())) ||
    value instanceof ObjectId
  );
}

function isPlainObject(value: unknown): value is Document {
  return (
    value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
  );
}

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

/**
 * Evaluates a filter on a stored document's BSON so a scan can skip documents without
 * deserializing them. It reads the top-level fields pinned by the filter's conjunctive conditions
 * (`field: scalar | null`, `$eq`, `$ne`, `$in`/`$nin` of scalars, `$gt/$gte/$lt/$lte` on a number
 * or a date, `$exists`, also inside `$and`). When a field holds an array, an embedded document or a
 * value it does not decode, the verdict is Unknown and the caller runs the real filter. When the filter consists only of such
 * conditions it is complete: a Match verdict is then final. Undefined: nothing to check.
 */
export function compileRawFilter(filter: Document | undefined): RawFilter | undefined {
  if (!filter) return undefined;
  const checks: Array<[string, ScalarCheck]> = [];
  const complete = collectChecks(filter, checks);
  if (checks.length === 0) return undefined;
  const fields = new FieldSet(checks.map(([field]) => field));
  const slots = checks.map(([field]) => fields.indexOf(field));
  const values: unknown[] = new Array(fields.size);
  return {
    test(bytes) {
      readTopLevelFields(bytes, fields, values);
      let verdict = complete ? RawVerdict.Match : RawVerdict.Unknown;
      for (let i = 0; i < checks.length; i++) {
        const decided = checks[i][1](values[slots[i]]);
        if (decided === false) return RawVerdict.Reject;
        if (decided === undefined) verdict = RawVerdict.Unknown;
      }
      return verdict;
    },
  };
}

/** Adds the checks of `filter`; returns whether they express all of it. */
function collectChecks(filter: Document, out: Array<[string, ScalarCheck]>): boolean {
  let complete = true;
  for (const [field, condition] of Object.entries(filter)) {
    if (field === '$and' && Array.isArray(condition) && condition.length > 0) {
      for (const branch of condition)
        complete = isPlainObject(branch) && collectChecks(branch, out) && complete;
      continue;
    }
    if (field.startsWith('$') || field.includes('.')) {
      complete = false;
      continue;
    }
    if (isPlainObject(condition)) {
      const operators = Object.entries(condition);
      if (operators.length === 0 || !operators.every(([key]) => key.startsWith('$'))) {
        complete = false; // embedded document equality
        continue;
      }
      for (const [operator, operand] of operators) {
        const check = operatorCheck(operator, operand);
        if (check) out.push([field, check]);
        else complete = false;
      }
    } else {
      const check = equalityCheck(condition);
      if (check) out.push([field, check]);
      else complete = false;
    }
  }
  return complete;
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

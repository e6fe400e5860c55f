import { ObjectId, type Document } from 'bson';
import { canonicalKey } from '../storage/index-key';
import type { Bound, KeyRange } from '../storage/ordered-slots';
import { bracketOf, BracketEdge, compareBson } from './bson-order';

/**
 * Values a filter requires `field` to equal (direct equality, `$eq`, `$in`), or undefined when the
 * filter does not pin the field. Only top-level conditions and `$and` branches are considered;
 * anything the planner cannot read simply falls back to a scan.
 */
export function equalityValues(filter: Document, field: string): unknown[] | undefined {
  if (Object.prototype.hasOwnProperty.call(filter, field)) {
    const values = valuesOfCondition(filter[field]);
    if (values) return values;
  }
  if (Array.isArray(filter.$and)) {
    for (const branch of filter.$and) {
      const values =
        branch && typeof branch === 'object'
          ? equalityValues(branch as Document, field)
          : undefined;
      if (values) return values;
    }
  }
  return undefined;
}

function valuesOfCondition(condition: unknown): unknown[] | undefined {
  if (!isPlainObject(condition)) return isIndexableValue(condition) ? [condition] : undefined;
  const keys = Object.keys(condition);
  if (!keys.some((key) => key.startsWith('$'))) return [condition]; // embedded document equality
  if ('$eq' in condition && isIndexableValue(condition.$eq)) return [condition.$eq];
  if (Array.isArray(condition.$in) && condition.$in.every(isIndexableValue)) return condition.$in;
  return undefined;
}

// Arrays and regular expressions match element-wise or by pattern: the exact-key lookup cannot answer them.
function isIndexableValue(value: unknown): boolean {
  if (Array.isArray(value) || value instanceof RegExp) return false;
  if (isPlainObject(value)) return !Object.keys(value).some((key) => key.startsWith('$'));
  return true;
}

function isPlainObject(value: unknown): value is Document {
  return (
    value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
  );
}

const RANGE_OPERATORS: Record<string, { side: 'lower' | 'upper'; inclusive: boolean }> = {
  $gt: { side: 'lower', inclusive: false },
  $gte: { side: 'lower', inclusive: true },
  $lt: { side: 'upper', inclusive: false },
  $lte: { side: 'upper', inclusive: true },
};

/**
 * The range of values a filter's `$gt`/`$gte`/`$lt`/`$lte` conditions on `field` allow (top level
 * and `$and` branches, the tightest bound of each side), or undefined when there is none the
 * planner can use. Comparisons match only values of the operand's type bracket (MongoDB's type
 * bracketing), so an open side ends at the bracket's edge. Operands of different brackets, or of
 * types whose bracketing has exceptions (null, arrays, documents, regular expressions, NaN), are
 * left to a scan.
 */
export function rangeOf(filter: Document, field: string): KeyRange | undefined {
  const range: KeyRange = {};
  let bracket: number | undefined;
  const visit = (branch: Document): boolean => {
    const condition: unknown = branch[field];
    if (isPlainObject(condition)) {
      for (const [operator, operand] of Object.entries(condition)) {
        const kind = RANGE_OPERATORS[operator];
        if (!kind) continue;
        if (!isRangeOperand(operand) || (bracket ?? bracketOf(operand)) !== bracketOf(operand))
          return false;
        bracket = bracketOf(operand);
        const current = range[kind.side];
        const order = current ? compareBson(operand, current.value) : 0;
        const tighter = kind.side === 'lower' ? order > 0 : order < 0;
        if (!current || tighter || (order === 0 && !kind.inclusive))
          range[kind.side] = { value: operand, inclusive: kind.inclusive };
      }
    }
    if (!Array.isArray(branch.$and)) return true;
    return branch.$and.every((part) => !isPlainObject(part) || visit(part));
  };
  if (!visit(filter) || bracket === undefined) return undefined;
  range.lower ??= edge(bracket, false);
  range.upper ??= edge(bracket, true);
  return range;
}

const edge = (bracket: number, end: boolean): Bound => ({
  value: new BracketEdge(bracket, end),
  inclusive: false,
});

function isRangeOperand(value: unknown): boolean {
  if (typeof value === 'number') return value === value; // not NaN
  if (typeof value === 'string' || typeof value === 'bigint') return true;
  if (value instanceof Date) return !Number.isNaN(value.getTime());
  const bsonType = (value as { _bsontype?: string } | null)?._bsontype;
  return ['ObjectId', 'Long', 'Int32', 'Double'].includes(bsonType ?? '');
}

/**
 * Where a filter's matches lie in a compound key (`fields` in order): the values pinning its first
 * fields by equality, then maybe a range on the next one. `exact`: the filter holds exactly the
 * keys in it (every condition was read into the interval, and no array is among the keys).
 */
export interface KeyInterval {
  pinned: unknown[];
  range?: KeyRange;
  exact: boolean;
}

/**
 * The intervals of a compound key holding every match of `filter` (undefined when the filter
 * pins or ranges none of its leading fields): one, or one per branch of an `$or` (each branch
 * read together with the conditions beside the `$or`), as MongoDB's planner bounds an index scan.
 * The keyset cursor `{ $or: [{ t: { $lt: T } }, { t: T, _id: { $lt: I } }] }` gives two: the
 * keys before T, and those at T before I. Conditions the intervals do not read only leave them
 * inexact: readers still judge each document against the filter.
 */
export function keyIntervals(filter: Document, fields: string[]): KeyInterval[] | undefined {
  const outer = conjunctionOf(filter);
  if (!outer) return undefined;
  const whole = intervalOf(outer, fields);
  if (outer.ors.length !== 1) return whole && [whole];
  const branches: KeyInterval[] = [];
  for (const branch of outer.ors[0]) {
    const inner = conjunctionOf(branch);
    const interval =
      inner &&
      intervalOf(
        {
          conditions: [...outer.conditions, ...inner.conditions],
          ors: inner.ors,
          other: outer.other || inner.other,
        },
        fields,
      );
    if (!interval) return whole && [whole];
    branches.push(interval);
  }
  return branches;
}

/** A filter as a list of field conditions ANDed together, `$and` flattened, `$or`s set aside. */
interface Conjunction {
  conditions: Array<[string, unknown]>;
  ors: Document[][];
  /** Holds another top-level operator ($nor, $expr...): true of fewer documents than the rest says. */
  other: boolean;
}

function conjunctionOf(filter: Document): Conjunction | undefined {
  const conjunction: Conjunction = { conditions: [], ors: [], other: false };
  const visit = (part: Document): boolean =>
    Object.entries(part).every(([key, value]) => {
      if (!key.startsWith('$')) conjunction.conditions.push([key, value]);
      else if (key !== '$and' && key !== '$or') conjunction.other = true;
      else if (!Array.isArray(value) || !value.length || !value.every(isPlainObject)) return false;
      else if (key === '$or') conjunction.ors.push(value);
      else return value.every(visit);
      return true;
    });
  return visit(filter) ? conjunction : undefined;
}

function intervalOf(conjunction: Conjunction, fields: string[]): KeyInterval | undefined {
  const filter = {
    $and: conjunction.conditions.map(([field, condition]) => ({ [field]: condition })),
  };
  const pinned: unknown[] = [];
  for (const field of fields) {
    const values = equalityValues(filter, field);
    if (values?.length !== 1 || !isPinnable(values[0])) break;
    pinned.push(values[0]);
  }
  const next = fields[pinned.length];
  const range = next === undefined ? undefined : rangeOf(filter, next);
  if (!pinned.length && !range) return undefined;
  const read = (field: string, condition: unknown): boolean => {
    const at = fields.indexOf(field);
    if (at >= 0 && at < pinned.length) {
      const value = equalityOperand(condition);
      return value !== NONE && canonicalKey(value) === canonicalKey(pinned[at]);
    }
    return at === pinned.length && !!range && isExactRange(condition);
  };
  const exact =
    !conjunction.other &&
    !conjunction.ors.length &&
    conjunction.conditions.every(([field, condition]) => read(field, condition));
  return { pinned, range, exact };
}

const NONE = Symbol('none');

/** The value a condition that only tests equality (`v`, `{ $eq: v }`, `{ $in: [v] }`) compares with. */
function equalityOperand(condition: unknown): unknown {
  if (!isPlainObject(condition)) return condition;
  const entries = Object.entries(condition);
  if (entries.length !== 1) return NONE;
  const [operator, operand] = entries[0];
  if (operator === '$eq') return operand;
  return operator === '$in' && Array.isArray(operand) && operand.length === 1 ? operand[0] : NONE;
}

/** Values whose index key orders exactly as equality matches them (no documents, arrays, NaN...). */
function isPinnable(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return value === value;
  return value instanceof Date || value instanceof ObjectId;
}

/**
 * Only `$lt`/`$lte`/`$gt`/`$gte` of strings, Dates or ObjectIds: the range holds exactly their
 * matches (number ranges leave out NaN, which sorts below every number).
 */
function isExactRange(condition: unknown): boolean {
  if (!isPlainObject(condition)) return false;
  return Object.entries(condition).every(
    ([operator, operand]) =>
      operator in RANGE_OPERATORS &&
      (typeof operand === 'string' || operand instanceof Date || operand instanceof ObjectId),
  );
}

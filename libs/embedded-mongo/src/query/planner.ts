import type { Document } from 'bson';
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

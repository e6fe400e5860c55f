import type { Document } from 'bson';

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

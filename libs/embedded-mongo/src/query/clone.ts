/**
 * Deep-copies plain objects, arrays and Dates. BSON value classes (ObjectId, Decimal128, Long,
 * Binary...) are immutable in practice, so they are shared rather than copied.
 */
export function cloneDocument<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(cloneDocument) as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
    return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value))
    copy[key] = cloneDocument((value as Record<string, unknown>)[key]);
  return copy as T;
}

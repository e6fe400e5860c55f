import { ObjectId, type Document } from 'bson';

/**
 * A canonical string for a value such that values MongoDB considers equal in an index map to the
 * same string: int/double/Long of equal value, Dates and ObjectIds by value, null and missing alike.
 * Strings are length-prefixed so concatenated compound keys can never collide.
 */
export function canonicalKey(value: unknown): string {
  if (value === undefined || value === null) return 'N';
  switch (typeof value) {
    case 'number':
      return `n${value === 0 ? 0 : value};`;
    case 'string':
      return `s${value.length}:${value}`;
    case 'boolean':
      return value ? 'T' : 'F';
    case 'bigint':
      return `n${value};`;
  }
  if (value instanceof Date) return `d${value.getTime()};`;
  if (value instanceof ObjectId) return `o${value.toHexString()}`;
  if (value instanceof RegExp) return `r${value.source.length}:${value.source}/${value.flags};`;
  if (Array.isArray(value)) return `[${value.map(canonicalKey).join('')}]`;
  const bsonType = (value as { _bsontype?: string })._bsontype;
  if (bsonType) return canonicalBsonValue(bsonType, value);
  let out = '{';
  for (const [key, field] of Object.entries(value as Document))
    out += `${key.length}:${key}${canonicalKey(field)}`;
  return `${out}}`;
}

function canonicalBsonValue(bsonType: string, value: object): string {
  switch (bsonType) {
    case 'Long':
    case 'Int32':
    case 'Double':
      return `n${value.toString()};`;
    case 'Decimal128':
      // Decimal128 equal to a double (e.g. 1.5) must share its key; exotic precision falls back to text.
      return `n${Number(value.toString())};`;
    case 'Binary': {
      const text = (value as { toString(encoding: 'base64'): string }).toString('base64');
      return `x${text.length}:${text}`;
    }
    default: {
      const text = value.toString();
      return `${bsonType}${text.length}:${text}`;
    }
  }
}

/**
 * Every value stored at a dotted path, descending through arrays the way MongoDB's multikey
 * indexes do. A missing path yields [undefined].
 */
export function valuesAtPath(document: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  collect(document, path.split('.'), 0, out);
  return out.length ? out : [undefined];
}

function collect(value: unknown, parts: string[], depth: number, out: unknown[]): void {
  if (depth === parts.length) {
    if (Array.isArray(value)) {
      if (value.length === 0) out.push(undefined);
      else out.push(...value);
    } else {
      out.push(value);
    }
    return;
  }
  if (value === null || typeof value !== 'object') {
    out.push(undefined); // a path through a scalar or a missing field is indexed as null
    return;
  }
  if (Array.isArray(value)) {
    const part = parts[depth];
    if (/^\d+$/.test(part)) collect(value[Number(part)], parts, depth + 1, out);
    for (const element of value) {
      if (element !== null && typeof element === 'object' && !Array.isArray(element))
        collect(element, parts, depth, out);
    }
    return;
  }
  collect((value as Document)[parts[depth]], parts, depth + 1, out);
}

import { ObjectId, type Document } from 'bson';
import { EMPTY_ARRAY_KEY } from '../query/bson-order';
import { exactDouble, normalized, parseDecimal, sameDecimalValue } from './exact-decimal';

/**
 * A canonical string for a value such that values MongoDB considers equal in an index map to the
 * same string: int/double/Long/Decimal128 of equal (exact) value, Dates and ObjectIds by value,
 * null and missing alike (an empty array's key, BSON undefined, is another).
 * Strings are length-prefixed so concatenated compound keys can never collide.
 */
export function canonicalKey(value: unknown): string {
  if (value === undefined || value === null) return 'N';
  if (value === EMPTY_ARRAY_KEY) return 'U';
  switch (typeof value) {
    case 'number':
      return numberKey(value);
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
      return decimalKey(value.toString());
    case 'Binary': {
      // The subtype is part of the value: UUID bytes (4) differ from the same generic bytes (0).
      const binary = value as { sub_type: number; toString(encoding: 'base64'): string };
      const text = binary.toString('base64');
      return `x${binary.sub_type}:${text.length}:${text}`;
    }
    default: {
      const text = value.toString();
      return `${bsonType}${text.length}:${text}`;
    }
  }
}

function numberKey(value: number): string {
  // Past 2^53 every double is an integer, printed rounded ("4611686018427388000"): key it by its
  // exact digits, as a Long of the same value is.
  if (Math.abs(value) >= 2 ** 53 && Number.isFinite(value)) return `n${BigInt(value)};`;
  return `n${value === 0 ? 0 : value};`;
}

/**
 * A Decimal128 that is exactly a double (1.5, 2, 1E+3) shares the double's key, an integer in a
 * Long's range shares the Long's (9007199254740993), any other (0.1, 0.1000000000000000000001)
 * gets a key of its exact value.
 */
function decimalKey(text: string): string {
  const decimal = parseDecimal(text);
  if (!decimal) return numberKey(Number(text)); // NaN, Infinity, -Infinity
  const double = Number(text);
  if (Number.isFinite(double) && sameDecimalValue(decimal, exactDouble(double)))
    return numberKey(double);
  const { coefficient, exponent } = normalized(decimal);
  const integer = exponent >= 0 && exponent <= 19 ? coefficient * 10n ** BigInt(exponent) : 0n;
  if (integer !== 0n && integer >= LONG_MIN && integer <= LONG_MAX) return `n${integer};`;
  return `n~${coefficient}e${exponent};`;
}

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/**
 * Every value stored at a dotted path, descending through arrays the way MongoDB's multikey
 * indexes do. A missing path yields [undefined]; an empty array, EMPTY_ARRAY_KEY (BSON undefined,
 * as MongoDB keys it: not null).
 */
export function valuesAtPath(document: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  collect(document, path.split('.'), 0, out);
  return out.length ? out : [undefined];
}

function collect(value: unknown, parts: string[], depth: number, out: unknown[]): void {
  if (depth === parts.length) {
    if (Array.isArray(value)) {
      if (value.length === 0) out.push(EMPTY_ARRAY_KEY);
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
    if (value.length === 0) {
      out.push(EMPTY_ARRAY_KEY); // a path through an empty array, as MongoDB keys it
      return;
    }
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

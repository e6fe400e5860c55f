import type { Document } from 'bson';
import { exactDouble, parseDecimal, type ExactDecimal } from '../storage/exact-decimal';

/**
 * MongoDB's order of BSON values (its "Comparison/Sort Order"): first by type bracket, MinKey <
 * null (and missing) < numbers < strings < objects < arrays < BinData < ObjectId < booleans < Date
 * < Timestamp < regular expressions < code < MaxKey, then by value within the bracket. Numbers of
 * every type compare by value (NaN below all others), strings by code point (UTF-8 bytes), objects
 * field by field in stored order, arrays element by element. `strings` compares two strings (a
 * collation's order; by default code points).
 */
export function compareBson(a: unknown, b: unknown, strings = compareStrings): number {
  if (typeof a === 'string' && typeof b === 'string') return strings(a, b);
  if (typeof a === 'number' && typeof b === 'number' && a === a && b === b) return sign(a - b);
  if (a instanceof Date && b instanceof Date) return sign(a.getTime() - b.getTime());
  const bracket = bracketOf(a) - bracketOf(b);
  if (bracket !== 0) return sign(bracket);
  return compareWithinBracket(a, b, strings);
}

/** The rank of a value's type in MongoDB's comparison order (equal ranks compare by value). */
export function bracketOf(value: unknown): number {
  if (value === undefined || value === null) return NULL;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return NUMBER;
    case 'string':
      return STRING;
    case 'boolean':
      return BOOLEAN;
  }
  if (Array.isArray(value)) return ARRAY;
  if (value instanceof Date) return DATE;
  if (value instanceof RegExp) return REGEX;
  if (value instanceof Uint8Array) return BINARY;
  if (value instanceof BracketEdge) return value.rank;
  const bsonType = (value as { _bsontype?: string })._bsontype;
  return bsonType ? (BSON_BRACKETS[bsonType] ?? OBJECT) : OBJECT;
}

/** Sorts before (`end` false) or after (`end` true) every value of a type bracket: a range's open side. */
export class BracketEdge {
  readonly rank: number;

  constructor(bracket: number, end: boolean) {
    this.rank = bracket + (end ? 0.5 : -0.5);
  }
}

const MIN_KEY = 1;
const NULL = 2;

/**
 * BSON undefined, which MongoDB indexes an empty array as (and sorts it by): a key of its own, just
 * below null, so `[]` and a missing field are different keys in a unique index.
 */
export const EMPTY_ARRAY_KEY = new BracketEdge(NULL, false);

const NUMBER = 3;
const STRING = 4;
const OBJECT = 5;
const ARRAY = 6;
const BINARY = 7;
const OBJECT_ID = 8;
const BOOLEAN = 9;
const DATE = 10;
const TIMESTAMP = 11;
const REGEX = 12;
const CODE = 13;
const MAX_KEY = 15;

const BSON_BRACKETS: Record<string, number> = {
  MinKey: MIN_KEY,
  MaxKey: MAX_KEY,
  Int32: NUMBER,
  Double: NUMBER,
  Long: NUMBER,
  Decimal128: NUMBER,
  BSONSymbol: STRING,
  Binary: BINARY,
  ObjectId: OBJECT_ID,
  Timestamp: TIMESTAMP,
  BSONRegExp: REGEX,
  Code: CODE,
};

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

function compareWithinBracket(a: unknown, b: unknown, strings: StringOrder): number {
  switch (bracketOf(a)) {
    case NUMBER:
      return isDecimal(a) || isDecimal(b)
        ? compareDecimals(a, b)
        : compareNumbers(numeric(a), numeric(b));
    case STRING:
      return strings(String(a), String(b));
    case OBJECT:
      return compareEntries(Object.entries(a as Document), Object.entries(b as Document), strings);
    case ARRAY:
      return compareEntries(
        (a as unknown[]).map((v, i) => [String(i), v]),
        (b as unknown[]).map((v, i) => [String(i), v]),
        strings,
      );
    case BINARY:
      return compareBinaries(a, b);
    case OBJECT_ID:
      return Buffer.compare((a as { id: Uint8Array }).id, (b as { id: Uint8Array }).id);
    case BOOLEAN:
      return sign(Number(a) - Number(b));
    case DATE:
      return sign((a as Date).getTime() - (b as Date).getTime());
    case TIMESTAMP: {
      const [x, y] = [a as { t: number; i: number }, b as { t: number; i: number }];
      return sign(x.t - y.t) || sign(x.i - y.i);
    }
    case REGEX: {
      const [x, y] = [regexParts(a), regexParts(b)];
      return compareStrings(x[0], y[0]) || compareStrings(x[1], y[1]);
    }
    case CODE:
      return compareStrings((a as { code: string }).code, (b as { code: string }).code);
    default:
      return 0; // null and missing, MinKey, MaxKey: one value each
  }
}

/** A number as JS compares it exactly: Longs as bigints, Decimal128 as the nearest double. */
function numeric(value: unknown): number | bigint {
  if (typeof value === 'number' || typeof value === 'bigint') return value;
  const bsonType = (value as { _bsontype: string })._bsontype;
  if (bsonType === 'Long') return BigInt(String(value));
  if (bsonType === 'Decimal128') return Number(String(value));
  return Number((value as { valueOf(): number }).valueOf());
}

/**
 * Two numbers, one of them a Decimal128, by exact value: 0.1 is below the double 0.1
 * (0.1000000000000000055...), 1.0000000000000000000001 above 1. Their nearest doubles order them
 * when they differ (rounding keeps order); equal ones are compared exactly.
 */
function compareDecimals(a: unknown, b: unknown): number {
  const nearest = compareNumbers(Number(numeric(a)), Number(numeric(b)));
  if (nearest !== 0) return nearest;
  const [x, y] = [exactValue(a), exactValue(b)];
  if (!x && !y) return 0; // both NaN, or the same infinity
  // An infinity and a finite Decimal128 past the largest double: the infinity lies beyond.
  if (!x || !y) return (x ? -1 : 1) * Math.sign(Number(numeric(x ? b : a)));
  const exponent = Math.min(x.exponent, y.exponent);
  const scaled = ({ coefficient, exponent: e }: ExactDecimal) =>
    coefficient * 10n ** BigInt(e - exponent);
  return compareNumbers(scaled(x), scaled(y));
}

const isDecimal = (value: unknown): boolean =>
  (value as { _bsontype?: string } | null)?._bsontype === 'Decimal128';

function exactValue(value: unknown): ExactDecimal | undefined {
  if (isDecimal(value)) return parseDecimal(String(value));
  const number = numeric(value);
  if (typeof number === 'bigint') return { coefficient: number, exponent: 0 };
  return Number.isFinite(number) ? exactDouble(number) : undefined;
}

function compareNumbers(a: number | bigint, b: number | bigint): number {
  const [nanA, nanB] = [a !== a, b !== b];
  if (nanA || nanB) return Number(nanB) - Number(nanA) || 0; // NaN sorts below every number
  return a < b ? -1 : a > b ? 1 : 0;
}

export type StringOrder = (a: string, b: string) => number;

/** By code point (as MongoDB compares the UTF-8 bytes), not by UTF-16 code unit. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (U+D800-DFFF) starts a code point above U+FFFF: it sorts after U+E000-FFFF.
    const surrogate = (c: number) => c >= 0xd800 && c <= 0xdfff;
    if (x >= 0xd800 && y >= 0xd800 && surrogate(x) !== surrogate(y)) return surrogate(x) ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return sign(a.length - b.length);
}

/** Objects (and arrays, keyed "0", "1"...) field by field: type bracket, then name, then value. */
function compareEntries(
  a: Array<[string, unknown]>,
  b: Array<[string, unknown]>,
  strings: StringOrder,
): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const [nameA, valueA] = a[i];
    const [nameB, valueB] = b[i];
    const order =
      sign(bracketOf(valueA) - bracketOf(valueB)) ||
      compareStrings(nameA, nameB) ||
      compareWithinBracket(valueA, valueB, strings);
    if (order !== 0) return order;
  }
  return sign(a.length - b.length);
}

/** BinData: by length, then subtype, then bytes. */
function compareBinaries(a: unknown, b: unknown): number {
  const [x, y] = [binaryParts(a), binaryParts(b)];
  return (
    sign(x.bytes.length - y.bytes.length) ||
    sign(x.subtype - y.subtype) ||
    Buffer.compare(x.bytes, y.bytes)
  );
}

function binaryParts(value: unknown): { bytes: Uint8Array; subtype: number } {
  if (value instanceof Uint8Array) return { bytes: value, subtype: 0 };
  const binary = value as { buffer: Uint8Array; position: number; sub_type: number };
  return { bytes: binary.buffer.subarray(0, binary.position), subtype: binary.sub_type };
}

function regexParts(value: unknown): [string, string] {
  if (value instanceof RegExp) return [value.source, value.flags];
  const regex = value as { pattern: string; options: string };
  return [regex.pattern, regex.options];
}

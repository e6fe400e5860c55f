import { Decimal128, Long, type Document } from 'bson';
import { ErrorCode, MongoCommandError } from '../errors';
import { parseDecimal, type ExactDecimal } from '../storage/exact-decimal';

/*
 * mingo's $inc/$mul know JS numbers only: a Long past 2^53 or a Decimal128 made them fail (or,
 * before the update checks, do nothing). MongoDB computes them exactly. This computes those
 * results here and hands them to the updater as plain `$set`s (MongoDB refuses overlapping
 * paths, so moving an operation between operators cannot change what it does).
 */

const MAX_DECIMAL_DIGITS = 34;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

type Arithmetic = '$inc' | '$mul';

/** `modifier` with every $inc/$mul involving a Long or Decimal128 turned into a `$set`. */
export function withExactArithmetic(document: Document, modifier: Document): Document {
  let rewritten: Document | undefined;
  for (const operator of ['$inc', '$mul'] as const) {
    const fields = modifier[operator] as Document | undefined;
    if (!fields || typeof fields !== 'object') continue;
    for (const [path, argument] of Object.entries(fields)) {
      if (path.includes('$')) continue; // positional: mingo resolves the element
      const current = valueAt(document, path);
      if (!isExotic(argument) && !isExotic(current)) continue;
      rewritten ??= { ...modifier, $inc: { ...modifier.$inc }, $mul: { ...modifier.$mul } };
      delete (rewritten[operator] as Document)[path];
      rewritten.$set = {
        ...rewritten.$set,
        [path]: compute(operator, current, argument, document),
      };
    }
  }
  if (!rewritten) return modifier;
  for (const operator of ['$inc', '$mul'])
    if (Object.keys(rewritten[operator] as Document).length === 0) delete rewritten[operator];
  return rewritten;
}

const isExotic = (value: unknown): boolean => value instanceof Long || value instanceof Decimal128;

/**
 * The new value, of MongoDB's result type: a Decimal128 if either operand is one, else a double if
 * either is a fraction, else a Long (overflowing it is an error).
 */
function compute(
  operator: Arithmetic,
  current: unknown,
  argument: unknown,
  document: Document,
): unknown {
  // A missing field: $inc sets the argument, $mul a zero of the argument's type.
  if (current === undefined) return operator === '$inc' ? argument : zeroLike(argument);
  if (current instanceof Decimal128 || argument instanceof Decimal128)
    return decimalResult(operator, toDecimal(current), toDecimal(argument));
  const [x, y] = [toBigInt(current), toBigInt(argument)];
  if (x === undefined || y === undefined)
    return operator === '$inc'
      ? Number(current) + Number(argument)
      : Number(current) * Number(argument);
  const result = operator === '$inc' ? x + y : x * y;
  if (result < LONG_MIN || result > LONG_MAX)
    throw new MongoCommandError(
      ErrorCode.BadValue,
      `Failed to apply ${operator} operations to current value ((NumberLong)${x}) for document {_id: ${String(document._id)}}`,
    );
  return Long.fromBigInt(result);
}

function zeroLike(value: unknown): unknown {
  if (value instanceof Decimal128) return Decimal128.fromString('0');
  return value instanceof Long ? Long.ZERO : 0;
}

function decimalResult(operator: Arithmetic, x: ExactDecimal, y: ExactDecimal): Decimal128 {
  let coefficient: bigint;
  let exponent: number;
  if (operator === '$mul') {
    coefficient = x.coefficient * y.coefficient;
    exponent = x.exponent + y.exponent;
  } else {
    // IEEE decimal addition keeps the smaller exponent ("1.50" + 1 = "2.50").
    exponent = Math.min(x.exponent, y.exponent);
    coefficient =
      x.coefficient * 10n ** BigInt(x.exponent - exponent) +
      y.coefficient * 10n ** BigInt(y.exponent - exponent);
  }
  if ((coefficient < 0n ? -coefficient : coefficient).toString().length > MAX_DECIMAL_DIGITS)
    throw new MongoCommandError(
      ErrorCode.CommandNotSupported,
      `${operator} on Decimal128 with a result that needs rounding to 34 digits is not supported by embedded-mongo`,
    );
  return Decimal128.fromString(`${coefficient}E${exponent}`);
}

/** A numeric operand as an exact decimal; a double as MongoDB converts it (15 digits). */
function toDecimal(value: unknown): ExactDecimal {
  const text =
    typeof value === 'number' && !Number.isInteger(value) ? value.toPrecision(15) : String(value);
  const decimal = parseDecimal(text);
  if (!decimal)
    throw new MongoCommandError(
      ErrorCode.CommandNotSupported,
      `arithmetic on Decimal128 ${text} is not supported by embedded-mongo`,
    );
  return decimal;
}

/** An integer operand (number, Long) as a BigInt; undefined for a fraction. */
function toBigInt(value: unknown): bigint | undefined {
  if (value instanceof Long) return value.toBigInt();
  return typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : undefined;
}

/** The value at a plain dotted path (numeric segments index arrays); undefined if unreachable. */
function valueAt(document: Document, path: string): unknown {
  let node: unknown = document;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

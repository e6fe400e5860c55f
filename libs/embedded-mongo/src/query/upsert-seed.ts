import type { Document } from 'bson';
import { ErrorCode, MongoCommandError } from '../errors';
import { canonicalKey } from '../storage/index-key';
import { compareStrings } from './bson-order';
import { cloneDocument } from './clone';
import { isPlainObject } from './value-predicates';

/*
 * The document an upsert starts from: the fields its filter pins by equality, found as MongoDB
 * finds them in the canonical query (pathsupport::extractEqualityMatches), where `$in` of one value
 * has become an equality, a `$or` of one branch that branch, nested `$and`s one `$and`, and each
 * operator of `{ $gt: 0, $eq: 7 }` a condition of its own.
 */

type Equality = [path: string, value: unknown];

/**
 * Fields a filter pins by equality, set in the byte order of their paths, as MongoDB adds them
 * (from a map keyed by path). A replacement takes only `_id` from the filter. Two different values
 * on one path, or values on a path and its parent, leave the document undefined: error 54.
 */
export function equalityFields(filter: Document, idOnly = false): Document {
  let equalities: Equality[] = [];
  collectEqualities(filter, equalities);
  if (idOnly) equalities = equalities.filter(([path]) => path === '_id' || path.startsWith('_id.'));
  if (equalities.length > 1) assertSingleValues(equalities);
  if (!inByteOrder(equalities)) equalities.sort(([a], [b]) => compareStrings(a, b));
  const seed: Document = {};
  for (const [path, value] of equalities) setPath(seed, path, cloneDocument(value));
  return seed;
}

function collectEqualities(filter: Document, into: Equality[]): void {
  for (const [path, condition] of Object.entries(filter)) {
    if (path.startsWith('$')) {
      const branches = Array.isArray(condition) ? (condition as Document[]) : [];
      if (path === '$and' || (path === '$or' && branches.length === 1))
        for (const branch of branches) collectEqualities(branch, into);
      continue;
    }
    for (const value of equalityValues(condition)) into.push([path, value]);
  }
}

/** The values a field's condition pins it to: none, one, or (`{ $eq: 1, $in: [1] }`) several. */
function equalityValues(condition: unknown): unknown[] {
  if (!isPlainObject(condition)) return isRegex(condition) ? [] : [condition];
  const operators = Object.keys(condition);
  if (!operators.some((key) => key.startsWith('$'))) return [condition];
  const values: unknown[] = [];
  for (const operator of operators) {
    const operand = condition[operator] as unknown;
    if (operator === '$eq') values.push(operand);
    else if (operator === '$in' && Array.isArray(operand)) {
      const distinct = new Set(operand.map(canonicalKey));
      if (distinct.size === 1 && !isRegex(operand[0])) values.push(operand[0]);
    }
  }
  return values;
}

function assertSingleValues(equalities: Equality[]): void {
  for (let i = 1; i < equalities.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = equalities[i][0];
      const b = equalities[j][0];
      if (a === b) {
        if (canonicalKey(equalities[i][1]) === canonicalKey(equalities[j][1])) continue;
        throw notSingleValue(`path '${a}' is matched twice`);
      }
      const child = a.length > b.length ? a : b;
      const parent = child === a ? b : a;
      if (child.startsWith(parent) && child[parent.length] === '.')
        throw notSingleValue(`both paths '${child}' and '${parent}' are matched`);
    }
  }
}

const notSingleValue = (conflict: string) =>
  new MongoCommandError(
    ErrorCode.NotSingleValueField,
    `cannot infer query fields to set, ${conflict}`,
  );

function inByteOrder(equalities: Equality[]): boolean {
  for (let i = 1; i < equalities.length; i++)
    if (compareStrings(equalities[i - 1][0], equalities[i][0]) > 0) return false;
  return true;
}

function isRegex(value: unknown): boolean {
  return (
    value instanceof RegExp || (value as { _bsontype?: string } | null)?._bsontype === 'BSONRegExp'
  );
}

function setPath(target: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (node[part] === null || typeof node[part] !== 'object') node[part] = {};
    node = node[part] as Document;
  }
  node[parts[parts.length - 1]] = value;
}

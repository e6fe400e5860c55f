import { ObjectId, type Document } from 'bson';
import { ErrorCode, MongoCommandError } from '../errors';

/*
 * mingo's updater skips a target of the wrong type without a word ($inc on a string, $push on
 * null, $set through a scalar) and applies the update's other operators. MongoDB refuses such an
 * update whole. These checks run on the document before anything is applied, which is exact
 * because an update naming overlapping paths is refused first (as MongoDB does).
 */

/** Operators that create their path when it is missing (so a scalar in the way is an error). */
const CREATING = new Set([
  '$set',
  '$setOnInsert',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$push',
  '$addToSet',
  '$currentDate',
  '$bit',
]);
/** Operators that leave a missing or unreachable path alone but need an array where it exists. */
const ARRAY_READING = new Set(['$pull', '$pullAll', '$pop']);

/** Throws MongoDB's error if `modifier` cannot apply to `document`; returns otherwise. */
export function assertUpdateApplies(document: Document, modifier: Document): void {
  assertNoConflicts(modifier);
  for (const [operator, fields] of Object.entries(modifier)) {
    if (fields === null || typeof fields !== 'object') continue;
    for (const path of Object.keys(fields as Document))
      if (path.includes('$[')) assertArrayUpdatable(document, path);
    if (!CREATING.has(operator) && !ARRAY_READING.has(operator)) continue;
    for (const [path, argument] of Object.entries(fields as Document)) {
      assertArgument(operator, path, argument);
      const target = resolveTarget(document, path, CREATING.has(operator));
      if (target?.exists) assertTargetType(operator, target, document._id);
    }
  }
}

/**
 * A path through `$[]` or `$[id]` needs an array there, whatever the operator: a missing one is
 * not created (UpdateArrayNode::apply). Paths through another positional segment first are left
 * to mingo.
 */
function assertArrayUpdatable(document: Document, path: string): void {
  const parts = path.split('.');
  const at = parts.findIndex((part) => part.startsWith('$'));
  if (at <= 0 || !parts[at].startsWith('$[')) return;
  let node: unknown = document;
  for (const part of parts.slice(0, at)) {
    if (Array.isArray(node) && /^\d+$/.test(part)) node = node[Number(part)];
    else if (isPlainObject(node)) node = (node as Document)[part];
    else return; // a scalar in the way: the other checks' error
  }
  if (node === undefined)
    throw new MongoCommandError(
      ErrorCode.BadValue,
      `The path '${parts.slice(0, at).join('.')}' must exist in the document in order to apply array updates.`,
    );
  if (!Array.isArray(node))
    throw new MongoCommandError(
      ErrorCode.BadValue,
      `Cannot apply array updates to non-array element ${parts[at - 1]}: ${render(node)}`,
    );
}

/** Two operations on the same path, or on a path and its parent, are error 40. */
export function assertNoConflicts(modifier: Document): void {
  const named: string[] = [];
  for (const [operator, fields] of Object.entries(modifier)) {
    if (fields === null || typeof fields !== 'object') continue;
    for (const [path, argument] of Object.entries(fields as Document)) {
      assertNoConflict(named, path);
      if (operator === '$rename' && typeof argument === 'string') assertNoConflict(named, argument);
    }
  }
}

/** Adds `path` to the paths `named` so far, unless it is one of them or a parent or child of one. */
function assertNoConflict(named: string[], path: string): void {
  for (const other of named) {
    if (other !== path && !isParentPath(other, path) && !isParentPath(path, other)) continue;
    throw new MongoCommandError(
      ErrorCode.ConflictingUpdateOperators,
      `Updating the path '${path}' would create a conflict at '${other.length < path.length ? other : path}'`,
    );
  }
  named.push(path);
}

const isParentPath = (parent: string, path: string): boolean =>
  path.length > parent.length && path[parent.length] === '.' && path.startsWith(parent);

interface Target {
  /** The last path segment, as MongoDB names the field in its messages. */
  field: string;
  exists: boolean;
  value: unknown;
}

/**
 * The value a path ends at. Undefined when the path cannot be checked here (positional segments,
 * which mingo resolves) or, for operators that do not create, leads nowhere. A creating path
 * blocked by a scalar, or by an array it would name a field of, is error 28.
 */
function resolveTarget(document: Document, path: string, creates: boolean): Target | undefined {
  const parts = path.split('.');
  if (path.includes('$') && parts.some((part) => part.startsWith('$'))) return undefined;
  let node: unknown = document;
  let nodeName = '';
  for (const part of parts) {
    if (Array.isArray(node) ? !/^\d+$/.test(part) : !isPlainObject(node)) {
      if (!creates) return undefined;
      throw new MongoCommandError(
        ErrorCode.PathNotViable,
        `Cannot create field '${part}' in element {${nodeName}: ${render(node)}}`,
      );
    }
    const container = node as Record<string, unknown>;
    if (!Object.hasOwn(container, part)) return { field: part, exists: false, value: undefined };
    node = container[part];
    nodeName = part;
  }
  return { field: parts[parts.length - 1], exists: true, value: node };
}

function assertArgument(operator: string, path: string, argument: unknown): void {
  if ((operator === '$inc' || operator === '$mul') && !isNumeric(argument)) {
    const verb = operator === '$inc' ? 'increment' : 'multiply';
    throw new MongoCommandError(
      ErrorCode.TypeMismatch,
      `Cannot ${verb} with non-numeric argument: {${path}: ${render(argument)}}`,
    );
  }
}

function assertTargetType(operator: string, target: Target, id: unknown): void {
  const { field, value } = target;
  // Built only for an error: rendering values costs more than every check here.
  const type = () => bsonTypeName(value);
  const inDocument = () => `{_id: ${render(id)}}`;
  if ((operator === '$inc' || operator === '$mul') && !isNumeric(value))
    throw new MongoCommandError(
      ErrorCode.TypeMismatch,
      `Cannot apply ${operator} to a value of non-numeric type. ${inDocument()} has the field '${field}' of non-numeric type ${type()}`,
    );
  if (Array.isArray(value)) return;
  if (operator === '$push')
    throw new MongoCommandError(
      ErrorCode.BadValue,
      `The field '${field}' must be an array but is of type ${type()} in document ${inDocument()}`,
    );
  if (operator === '$addToSet')
    throw new MongoCommandError(
      ErrorCode.BadValue,
      `Cannot apply $addToSet to non-array field. Field named '${field}' has non-array type ${type()}`,
    );
  if (operator === '$pull' || operator === '$pullAll')
    throw new MongoCommandError(
      ErrorCode.BadValue,
      `Cannot apply ${operator} to a non-array value`,
    );
  if (operator === '$pop')
    throw new MongoCommandError(
      ErrorCode.TypeMismatch,
      `Path '${field}' contains an element of non-array type '${type()}'`,
    );
}

const NUMERIC_BSON_TYPES = new Set(['Long', 'Decimal128', 'Int32', 'Double']);

function bsonType(value: unknown): string | undefined {
  return (value as { _bsontype?: string } | null)?._bsontype;
}

function isNumeric(value: unknown): boolean {
  return typeof value === 'number' || NUMERIC_BSON_TYPES.has(bsonType(value) ?? '');
}

function isPlainObject(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

const BSON_TYPE_NAMES: Record<string, string> = {
  ObjectId: 'objectId',
  Long: 'long',
  Decimal128: 'decimal',
  Int32: 'int',
  Double: 'double',
  Binary: 'binData',
  Timestamp: 'timestamp',
  BSONRegExp: 'regex',
  MinKey: 'minKey',
  MaxKey: 'maxKey',
};

/** MongoDB's name for a value's type (a JS number is an int when it fits one, as it is stored). */
export function bsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return value === (value | 0) ? 'int' : 'double';
  if (value instanceof Date) return 'date';
  if (value instanceof RegExp) return 'regex';
  return BSON_TYPE_NAMES[bsonType(value) ?? ''] ?? 'object';
}

/** A value as MongoDB prints it in error messages (close enough to recognise). */
export function render(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (value instanceof ObjectId) return `ObjectId('${value.toHexString()}')`;
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (Array.isArray(value)) return value.length ? `[ ${value.map(render).join(', ')} ]` : '[]';
  if (isPlainObject(value)) {
    const entries = Object.entries(value as Document).map(([k, v]) => `${k}: ${render(v)}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  return String(value);
}

import type { Document } from 'bson';
import { ErrorCode, MongoCommandError } from '../errors';
import { assertNoConflicts, bsonTypeName, render } from './update-validation';

/*
 * What MongoDB refuses while parsing an update, before looking for documents: so also when
 * nothing matches, or the collection does not exist (the server's UpdateDriver::parse,
 * UpdateObjectNode::parseAndMerge and the field checker).
 */

const UPDATE_OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$rename',
  '$setOnInsert',
  '$currentDate',
  '$push',
  '$addToSet',
  '$pull',
  '$pullAll',
  '$pop',
  '$bit',
]);

/**
 * Throws MongoDB's parse error for `update`, if any. `applies` tells whether the update will be
 * applied (a document matched, or an upsert): only when it will not are conflicting paths checked
 * here, since applying checks them anyway and the check grows with the square of the paths.
 */
export function assertParsableUpdate(
  update: Document | Document[],
  arrayFilters: Document[] | undefined,
  applies: boolean,
): void {
  if (Array.isArray(update)) {
    if (arrayFilters?.length)
      throw new MongoCommandError(
        ErrorCode.FailedToParse,
        'arrayFilters may not be specified for pipeline-style updates',
      );
    return;
  }
  const operators = Object.keys(update);
  if (operators.length === 0 || !operators[0].startsWith('$')) return; // a replacement
  for (const operator of operators) {
    if (!UPDATE_OPERATORS.has(operator))
      throw new MongoCommandError(
        ErrorCode.FailedToParse,
        `Unknown modifier: ${operator}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    const fields = update[operator] as unknown;
    if (
      fields === null ||
      typeof fields !== 'object' ||
      Array.isArray(fields) ||
      fields instanceof Date
    )
      throw new MongoCommandError(
        ErrorCode.FailedToParse,
        `Modifiers operate on fields but we found type ${bsonTypeName(fields)} instead. For example: {$mod: {<field>: ...}} not {${operator}: ${render(fields)}}`,
      );
    // for...in: no list of entries for what is, for nearly every update, a pass of checks.
    for (const path in fields) {
      assertNoEmptyName(path);
      if (operator === '$rename') assertRenamable(path, (fields as Document)[path]);
    }
  }
  if (arrayFilters?.length) assertArrayFiltersUsed(update, arrayFilters);
  if (!applies) assertNoConflicts(update);
}

/** A path that is empty or has an empty segment ('a..b', 'a.') is error 56 (fieldchecker). */
function assertNoEmptyName(path: string): void {
  if (path === '')
    throw new MongoCommandError(ErrorCode.EmptyFieldName, 'An empty update path is not valid.');
  if (path.includes('.') && path.split('.').includes(''))
    throw new MongoCommandError(
      ErrorCode.EmptyFieldName,
      `The update path '${path}' contains an empty field name, which is not allowed.`,
    );
}

/** A $rename names a string target, neither its source nor on its source's path (RenameNode). */
function assertRenamable(from: string, to: unknown): void {
  const spec = () => `${from}: ${render(to)}`;
  if (typeof to !== 'string')
    throw new MongoCommandError(
      ErrorCode.BadValue,
      `The 'to' field for $rename must be a string: ${spec()}`,
    );
  assertNoEmptyName(to);
  if (from === to)
    throw new MongoCommandError(
      ErrorCode.BadValue,
      `The source and target field for $rename must differ: ${spec()}`,
    );
  if (to.startsWith(`${from}.`) || from.startsWith(`${to}.`))
    throw new MongoCommandError(
      ErrorCode.BadValue,
      `The source and target field for $rename must not be on the same path: ${spec()}`,
    );
}

/** Every array filter's identifier is named by a `$[identifier]` segment of some path. */
function assertArrayFiltersUsed(update: Document, arrayFilters: Document[]): void {
  const paths = Object.values(update).flatMap((fields) => Object.keys(fields as Document));
  for (const filter of arrayFilters) {
    const identifier = Object.keys(filter)[0]?.split('.')[0];
    if (identifier === undefined || paths.some((path) => path.includes(`$[${identifier}]`)))
      continue;
    throw new MongoCommandError(
      ErrorCode.FailedToParse,
      `The array filter for identifier '${identifier}' was not used in the update ${render(update)}`,
    );
  }
}

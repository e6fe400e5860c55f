import { ObjectId, type Document } from 'bson';
import { updateOne } from 'mingo';
import { ErrorCode, MongoCommandError } from '../errors';
import { canonicalKey } from '../storage/index-key';
import { withOrderedAddToSet } from './add-to-set';
import { cloneDocument } from './clone';
import { withCurrentDates } from './current-date';
import { withExactArithmetic } from './exact-arithmetic';
import { updatedPaths, withUpdateFieldOrder } from './field-order';
import { mingoOptions, type MingoOptions } from './mingo-options';
import { withResolvedPositions } from './positional-paths';
import { trySimpleUpdate, trySimpleUpsert } from './simple-update';
import { assertUpdateApplies } from './update-validation';
import { equalityFields } from './upsert-seed';

export type UpdateDocument = Document | Document[];

export interface UpdateContext {
  filter: Document;
  arrayFilters?: Document[];
  options?: MingoOptions;
}

export interface UpdateOutcome {
  document: Document;
  modified: boolean;
}

/** Produces the updated copy of `original`; the stored document itself is never touched. */
export function applyUpdate(
  original: Document,
  update: UpdateDocument,
  context: UpdateContext,
): UpdateOutcome {
  if (Array.isArray(update)) return checked(original, runPipeline(original, update, context));
  if (!isOperatorUpdate(update)) return checked(original, replacement(original, update));
  const { $setOnInsert: _ignored, ...operators } = update;
  const modifier = withCurrentDates(withoutUnchangedId(operators, original._id));
  // The fast path takes only updates that apply as they are (else it declines): no checks needed.
  const simple = trySimpleUpdate(original, modifier, collated(context));
  if (simple) return simple;
  const resolved = withResolvedPositions(original, modifier, context);
  const updated = runOperators(original, prepared(original, resolved.modifier), {
    ...context,
    arrayFilters: resolved.arrayFilters,
  });
  const paths = updatedPaths(resolved.modifier);
  return checked(original, withUpdateFieldOrder(original, updated, paths));
}

/** The document an upsert inserts: the filter's equality fields, then the update applied to them. */
export function buildUpsertDocument(update: UpdateDocument, context: UpdateContext): Document {
  const replacing = !Array.isArray(update) && !isOperatorUpdate(update);
  const seed = equalityFields(context.filter, replacing);
  let document: Document;
  if (Array.isArray(update)) document = runPipeline(seed, update, context);
  else if (replacing) {
    // The filter's _id, unless the replacement names one (a different one is error 66 below).
    document =
      update._id === undefined && seed._id !== undefined
        ? { ...update, _id: seed._id }
        : { ...update };
  } else {
    const { $setOnInsert, ...operators } = update as Document;
    const { modifier: requested, id: setId } = splitIdAssignment(withCurrentDates(operators));
    assertUpdateApplies(seed, { ...requested, $setOnInsert });
    const modifier = withOrderedAddToSet(seed, withExactArithmetic(seed, requested));
    const { modifier: onInsert, id: insertId } = splitIdAssignment({ $set: $setOnInsert });
    // Both steps in one pass (one copy of the seed) when they are simple, else one after the other.
    const inOnePass = trySimpleUpsert(
      seed,
      modifier,
      (onInsert.$set ?? {}) as Document,
      collated(context),
    );
    if (inOnePass) document = inOnePass;
    else {
      document =
        trySimpleUpdate(seed, modifier, collated(context))?.document ??
        runOperators(seed, modifier, context);
      if (onInsert.$set) {
        document =
          trySimpleUpdate(document, onInsert, collated(context))?.document ??
          runOperators(document, onInsert, context);
      }
      // MongoDB applies both as one update: their new fields interleave in its order.
      const paths = [...updatedPaths(modifier), ...updatedPaths(onInsert)];
      document = withUpdateFieldOrder(seed, document, paths);
    }
    const assignedId = insertId ?? setId;
    if (assignedId !== undefined) document._id = cloneDocument(assignedId);
  }
  if (seed._id !== undefined && canonicalKey(seed._id) !== canonicalKey(document._id))
    throw immutableId();
  const { _id = new ObjectId(), ...rest } = document;
  return { _id, ...rest };
}

const collated = (context: UpdateContext) => context.options?.collation !== undefined;

export function isOperatorUpdate(update: Document): boolean {
  const keys = Object.keys(update);
  const operators = keys.filter((key) => key.startsWith('$'));
  if (operators.length > 0 && operators.length !== keys.length) {
    throw new MongoCommandError(
      ErrorCode.FailedToParse,
      `Unknown modifier: ${keys.find((key) => !key.startsWith('$'))}. Expected a valid update modifier or pipeline-style update specified as an array`,
    );
  }
  return operators.length > 0;
}

/**
 * What mingo is given: an update MongoDB would refuse is refused here whole (mingo would skip its
 * misfits and apply the rest), Long/Decimal128 arithmetic is done exactly beforehand, and
 * `$addToSet` tells documents apart by field order.
 */
function prepared(document: Document, modifier: Document): Document {
  assertUpdateApplies(document, modifier);
  return withOrderedAddToSet(document, withExactArithmetic(document, modifier));
}

/**
 * `$set: {_id}` is allowed when it names the document's own `_id` (mongoose sends whole documents
 * as `$set`): drop it then, since mingo refuses any operator on `_id`. Another value is error 66.
 */
function withoutUnchangedId(modifier: Document, id: unknown): Document {
  const { modifier: rest, id: assigned } = splitIdAssignment(modifier);
  if (assigned !== undefined && canonicalKey(assigned) !== canonicalKey(id)) throw immutableId();
  return rest;
}

/** Splits `$set._id` off a modifier (an emptied `$set` is dropped); `id` is undefined if absent. */
function splitIdAssignment(modifier: Document): { modifier: Document; id: unknown } {
  const set = modifier.$set as unknown;
  if (set === null || typeof set !== 'object' || !Object.hasOwn(set, '_id'))
    return { modifier, id: undefined };
  const { $set: _set, ...rest } = modifier;
  const { _id: id, ...fields } = set as Document;
  return { modifier: Object.keys(fields).length ? { ...rest, $set: fields } : rest, id };
}

function runOperators(original: Document, modifier: Document, context: UpdateContext): Document {
  const copy = cloneDocument(original);
  if (Object.keys(modifier).length === 0) return copy;
  // The positional `$` operator needs the filter to find the array element; skip matching otherwise.
  const needsFilter = Object.values(modifier).some(
    (fields) => fields && Object.keys(fields).some((path) => /(^|\.)\$(\.|$)/.test(path)),
  );
  updateOne(
    [copy],
    needsFilter ? context.filter : {},
    modifier,
    { arrayFilters: context.arrayFilters },
    mingoOptions(context.options),
  );
  return copy;
}

function runPipeline(original: Document, pipeline: Document[], context: UpdateContext): Document {
  const documents = [cloneDocument(original)];
  updateOne(documents, {}, pipeline as never, {}, mingoOptions(context.options));
  return documents[0];
}

function replacement(original: Document, update: Document): Document {
  const { _id, ...fields } = update;
  if (_id !== undefined && canonicalKey(_id) !== canonicalKey(original._id)) throw immutableId();
  return { _id: original._id, ...cloneDocument(fields) };
}

function checked(original: Document, next: Document): UpdateOutcome {
  if (canonicalKey(next._id) !== canonicalKey(original._id)) throw immutableId();
  return { document: next, modified: canonicalKey(next) !== canonicalKey(original) };
}

function immutableId(): MongoCommandError {
  return new MongoCommandError(
    ErrorCode.ImmutableField,
    "Performing an update on the path '_id' would modify the immutable field '_id'",
  );
}

import { ObjectId, type Document } from 'bson';
import { ErrorCode, MongoCommandError } from '../errors';
import { cloneDocument } from '../query/clone';
import type { CommandContext } from './command-context';

interface OutputTarget {
  db: string;
  coll: string;
}

function targetOf(spec: unknown, context: CommandContext): OutputTarget {
  if (typeof spec === 'string') return { db: context.db, coll: spec };
  const { db = context.db, coll } = (spec ?? {}) as Document;
  if (typeof coll !== 'string')
    throw new MongoCommandError(
      ErrorCode.FailedToParse,
      'output collection must be a string or { db, coll }',
    );
  return { db: db as string, coll };
}

/** Applies a final $out (replace the target's documents) or $merge stage to the pipeline results. */
export function writeAggregationOutput(
  context: CommandContext,
  stage: Document,
  results: Document[],
): void {
  if ('$out' in stage) return replaceContents(context, targetOf(stage.$out, context), results);
  const spec = (
    typeof stage.$merge === 'string' ? { into: stage.$merge } : stage.$merge
  ) as Document;
  mergeInto(context, targetOf(spec.into, context), spec, results);
}

function replaceContents(context: CommandContext, target: OutputTarget, results: Document[]): void {
  const collection = context.storage.getOrCreateCollection(target.db, target.coll);
  for (const document of [...collection.all()]) collection.remove(document);
  for (const document of results) collection.insert(withId(document));
}

function mergeInto(
  context: CommandContext,
  target: OutputTarget,
  spec: Document,
  results: Document[],
): void {
  const collection = context.storage.getOrCreateCollection(target.db, target.coll);
  const onFields =
    spec.on === undefined ? ['_id'] : ([] as string[]).concat(spec.on as string | string[]);
  const whenMatched = spec.whenMatched ?? 'merge';
  const whenNotMatched = spec.whenNotMatched ?? 'insert';
  if (typeof whenMatched !== 'string')
    throw new MongoCommandError(
      ErrorCode.CommandNotSupported,
      '$merge with a whenMatched pipeline is not supported by embedded-mongo',
    );
  for (const result of results) {
    const filter: Document = {};
    for (const field of onFields) filter[field] = result[field] ?? null;
    const existing = collection.match(filter)[0];
    if (!existing) {
      if (whenNotMatched === 'insert') collection.insert(withId(result));
      else if (whenNotMatched === 'fail')
        throw new MongoCommandError(
          13113,
          '$merge could not find a matching document in the target collection for at least one document in the source collection',
        );
      continue;
    }
    if (whenMatched === 'fail') {
      throw new MongoCommandError(
        ErrorCode.DuplicateKey,
        `E11000 duplicate key error collection: ${collection.ns} (from $merge whenMatched: fail)`,
      );
    }
    if (whenMatched === 'keepExisting') continue;
    const merged =
      whenMatched === 'replace'
        ? { ...cloneDocument(result), _id: existing._id }
        : { ...cloneDocument(existing), ...cloneDocument(result), _id: existing._id };
    collection.replace(existing, merged);
  }
}

function withId(document: Document): Document {
  const copy = cloneDocument(document);
  return copy._id === undefined ? { _id: new ObjectId(), ...copy } : copy;
}

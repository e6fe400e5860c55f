import type { Document } from 'bson';
import type { MingoOptions } from '../query/mingo-options';
import { applyUpdate, buildUpsertDocument, type UpdateDocument } from '../query/update-engine';
import { assertParsableUpdate } from '../query/update-parse';
import type { Collection } from '../storage/collection';

export interface UpdateRequest {
  filter: Document;
  update: UpdateDocument;
  multi: boolean;
  upsert: boolean;
  arrayFilters?: Document[];
  options: MingoOptions;
}

export interface UpdateResult {
  matched: number;
  modified: number;
  upserted?: Document;
  /** For a single-document update: the stored document before and after. */
  before?: Document;
  after?: Document;
}

/** Updates the documents `targets` names, or upserts when there are none and upsert is asked. */
export function executeUpdate(
  collection: Collection,
  request: UpdateRequest,
  targets: Document[],
): UpdateResult {
  assertParsableUpdate(request.update, request.arrayFilters, targets.length > 0 || request.upsert);
  const context = {
    filter: request.filter,
    arrayFilters: request.arrayFilters,
    options: request.options,
  };
  if (targets.length === 0) {
    if (!request.upsert) return { matched: 0, modified: 0 };
    const document = buildUpsertDocument(request.update, context);
    collection.insert(document, 'upsert');
    return { matched: 0, modified: 0, upserted: document, after: document };
  }
  const result: UpdateResult = { matched: 0, modified: 0 };
  for (const target of request.multi ? targets : targets.slice(0, 1)) {
    const outcome = applyUpdate(target, request.update, context);
    result.matched++;
    result.before = target;
    result.after = outcome.document;
    if (!outcome.modified) continue;
    collection.replace(target, outcome.document);
    result.modified++;
  }
  return result;
}

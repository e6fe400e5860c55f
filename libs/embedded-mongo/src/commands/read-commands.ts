import type { Document } from 'bson';
import { EMPTY_ARRAY_KEY } from '../query/bson-order';
import { findDecoding } from '../query/dependencies';
import { compileFilter } from '../query/mingo-options';
import { sortDocuments } from '../query/sort-order';
import { canonicalKey, valuesAtPath } from '../storage/index-key';
import {
  collectionName,
  optionalDocument,
  type CommandContext,
  type CommandHandler,
} from './command-context';
import { commandQueryOptions } from './query-options';

/** Largest skip + limit served by selecting sort keys from stored bytes (beyond: decode and sort). */
const MAX_PAGE_WINDOW = 10_000;

function find(command: Document, context: CommandContext): Document {
  const name = collectionName(command, 'find');
  const ns = `${context.db}.${name}`;
  const collection = context.storage.getCollection(context.db, name);
  const limit = Math.abs(Number(command.limit ?? 0));
  const batchOptions = {
    batchSize: command.batchSize as number | undefined,
    singleBatch: command.singleBatch === true || Number(command.limit) < 0,
    noCursorTimeout: command.noCursorTimeout === true,
  };
  if (!collection) return context.cursors.openCursor(ns, [], batchOptions);

  const filter = optionalDocument(command.filter, 'filter') ?? {};
  const options = commandQueryOptions(command);
  const projection = optionalDocument(command.projection, 'projection') ?? {};
  const sort = optionalDocument(command.sort, 'sort');
  // A positional projection (`a.$`) needs the filter to pick the array element: mingo filters.
  // Otherwise the collection filters (deciding most documents on their stored bytes, decoding only
  // the fields a field-list projection needs) and mingo sorts, pages and projects what remains.
  const positional = Object.keys(projection).some((path) => /(^|\.)\$$/.test(path));
  const { fields, exact } = findDecoding(projection, sort);
  const mingoProjection = exact ? {} : projection;
  const skip = Math.max(0, Number(command.skip ?? 0));
  // A page (limit, maybe a sort): the store picks its documents on their bytes and decodes only them.
  const page =
    !positional && !options.collation && limit > 0 && skip + limit <= MAX_PAGE_WINDOW
      ? collection.firstSlots(filter, options, sort, skip + limit)
      : undefined;
  // Building a mingo Query (its operator tables copied) cost more than a lookup by key: none is
  // built when it has nothing left to do (the decoding applied the projection).
  const leftToProject = Object.keys(mingoProjection).length > 0;
  if (page) {
    const documents = collection.documentsAt(page.slice(skip), fields);
    const projected = leftToProject
      ? (compileFilter({}, options, mingoProjection)
          .find(documents, mingoProjection)
          .all() as Document[])
      : documents;
    return context.cursors.openCursor(ns, projected, batchOptions);
  }
  const source = positional
    ? collection.candidates(filter, !!options.collation)
    : collection.stream(filter, options, fields);
  // Sorted here in MongoDB's order (mingo's differs across types and for arrays), ties as they came.
  const all = sort && Object.keys(sort).length ? [...source] : undefined;
  const sorted = all && sortDocuments(all, sort!, options.collation);
  const input = sorted ?? all ?? source;
  if (!positional && !leftToProject && !(all && !sorted) && !command.skip && !limit)
    return context.cursors.openCursor(ns, [...input], batchOptions);
  const cursor = positional
    ? compileFilter(filter, options, projection).find(input, projection)
    : compileFilter({}, options, mingoProjection).find(input, mingoProjection);
  if (all && !sorted) cursor.sort(sort!); // a sort sortDocuments does not read ($meta)
  if (command.skip) cursor.skip(Number(command.skip));
  if (limit) cursor.limit(limit);
  return context.cursors.openCursor(ns, cursor.all() as Document[], batchOptions);
}

function getMore(command: Document, context: CommandContext): Document {
  const ns = `${context.db}.${command.collection as string}`;
  return context.cursors.getMore(
    Number(command.getMore),
    ns,
    command.batchSize as number | undefined,
  );
}

function killCursors(command: Document, context: CommandContext): Document {
  return context.cursors.kill(((command.cursors ?? []) as unknown[]).map(Number));
}

function count(command: Document, context: CommandContext): Document {
  const collection = context.storage.getCollection(context.db, collectionName(command, 'count'));
  if (!collection) return { n: 0 };
  const query = optionalDocument(command.query, 'query') ?? {};
  let n = collection.countMatches(query, commandQueryOptions(command));
  n = Math.max(0, n - Number(command.skip ?? 0));
  const limit = Math.abs(Number(command.limit ?? 0));
  return { n: limit ? Math.min(limit, n) : n };
}

function distinct(command: Document, context: CommandContext): Document {
  const collection = context.storage.getCollection(context.db, collectionName(command, 'distinct'));
  if (!collection) return { values: [] };
  const key = command.key as string;
  const seen = new Map<string, unknown>();
  const query = optionalDocument(command.query, 'query') ?? {};
  const fields = new Set([key.split('.')[0]]);
  for (const document of collection.stream(query, commandQueryOptions(command), fields)) {
    for (const value of valuesAtPath(document, key)) {
      if (value === undefined || value === EMPTY_ARRAY_KEY) continue;
      const canonical = canonicalKey(value);
      if (!seen.has(canonical)) seen.set(canonical, value);
    }
  }
  return { values: [...seen.values()] };
}

export const readCommands: Record<string, CommandHandler> = {
  find,
  getMore,
  killCursors,
  count,
  distinct,
};

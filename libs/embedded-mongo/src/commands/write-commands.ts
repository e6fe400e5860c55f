import { ObjectId, type Document } from 'bson';
import { ErrorCode, MongoCommandError, toCommandError } from '../errors';
import { compileFilter, compileMatcher } from '../query/mingo-options';
import { assertParsableUpdate } from '../query/update-parse';
import type { Collection } from '../storage/collection';
import { collectionName, type CommandContext, type CommandHandler } from './command-context';
import { commandQueryOptions } from './query-options';
import { executeUpdate } from './update-executor';

interface WriteError extends Document {
  index: number;
  code: number;
  errmsg: string;
}

/** Runs each statement; errors become writeErrors (ok: 1), and an ordered batch stops at the first. */
function runStatements<T>(
  statements: T[],
  ordered: boolean,
  run: (statement: T, index: number) => void,
): WriteError[] {
  const writeErrors: WriteError[] = [];
  for (let index = 0; index < statements.length; index++) {
    try {
      run(statements[index], index);
    } catch (error) {
      const failure = toCommandError(error);
      writeErrors.push({ index, code: failure.code, errmsg: failure.message, ...failure.extra });
      if (ordered) break;
    }
  }
  return writeErrors;
}

function withWriteErrors(reply: Document, writeErrors: WriteError[]): Document {
  return writeErrors.length ? { ...reply, writeErrors } : reply;
}

function insert(command: Document, context: CommandContext): Document {
  const collection = context.storage.getOrCreateCollection(
    context.db,
    collectionName(command, 'insert'),
  );
  const documents = (command.documents ?? []) as Document[];
  let n = 0;
  const writeErrors = runStatements(documents, command.ordered !== false, (document) => {
    collection.insert(withId(document));
    n++;
  });
  return withWriteErrors({ n }, writeErrors);
}

/**
 * Freshly decoded documents are owned by us, so they are stored as they are, but with `_id` first
 * (generated when missing), as MongoDB moves it.
 */
function withId(document: Document): Document {
  if (document._id === undefined) return { _id: new ObjectId(), ...document };
  if (Array.isArray(document._id))
    throw new MongoCommandError(ErrorCode.BadValue, "can't use an array for _id");
  // Only the first name matters: no list of them all (inserts are hot).
  for (const name in document) {
    if (name === '_id') break;
    const { _id, ...rest } = document;
    return { _id, ...rest };
  }
  return document;
}

function update(command: Document, context: CommandContext): Document {
  const name = collectionName(command, 'update');
  const statements = (command.updates ?? []) as Document[];
  let n = 0;
  let nModified = 0;
  const upserted: Document[] = [];
  const writeErrors = runStatements(statements, command.ordered !== false, (statement, index) => {
    const upsert = statement.upsert === true;
    const collection = upsert
      ? context.storage.getOrCreateCollection(context.db, name)
      : context.storage.getCollection(context.db, name);
    const arrayFilters = statement.arrayFilters as Document[] | undefined;
    // Without a collection nothing is applied, but a malformed update is still refused.
    if (!collection) return assertParsableUpdate(statement.u as Document, arrayFilters, false);
    const filter = (statement.q ?? {}) as Document;
    const options = commandQueryOptions(command, statement);
    const multi = statement.multi === true;
    const targets = multi
      ? collection.match(filter, options)
      : firstMatch(collection, filter, options, statement.sort as Document | undefined);
    const result = executeUpdate(
      collection,
      {
        filter,
        update: statement.u as Document,
        multi,
        upsert,
        arrayFilters,
        options,
      },
      targets,
    );
    n += result.matched;
    nModified += result.modified;
    if (result.upserted) {
      n++;
      upserted.push({ index, _id: result.upserted._id });
    }
  });
  return withWriteErrors({ n, nModified, ...(upserted.length ? { upserted } : {}) }, writeErrors);
}

/** The document a single-document write targets: the first in sort order, or in natural order. */
export function firstMatch(
  collection: Collection,
  filter: Document,
  options: Document,
  sort?: Document,
): Document[] {
  if (sort && Object.keys(sort).length) {
    return compileFilter(filter, options)
      .find(collection.candidates(filter, !!options.collation))
      .sort(sort)
      .limit(1)
      .all() as Document[];
  }
  const query = compileMatcher(filter, options);
  for (const document of collection.candidates(filter, !!options.collation))
    if (query.test(document)) return [document];
  return [];
}

function deleteCommand(command: Document, context: CommandContext): Document {
  const collection = context.storage.getCollection(context.db, collectionName(command, 'delete'));
  const statements = (command.deletes ?? []) as Document[];
  let n = 0;
  const writeErrors = runStatements(statements, command.ordered !== false, (statement) => {
    if (!collection) return;
    const filter = (statement.q ?? {}) as Document;
    const options = commandQueryOptions(command, statement);
    const targets =
      statement.limit === 1
        ? firstMatch(collection, filter, options)
        : collection.match(filter, options);
    for (const document of targets) collection.remove(document);
    n += targets.length;
  });
  return withWriteErrors({ n }, writeErrors);
}

function findAndModify(command: Document, context: CommandContext): Document {
  const name = (command.findAndModify ?? command.findandmodify) as string;
  const filter = (command.query ?? {}) as Document;
  const options = commandQueryOptions(command);
  const upsert = command.upsert === true;
  if (command.remove && (command.update !== undefined || upsert)) {
    throw new MongoCommandError(
      ErrorCode.FailedToParse,
      'Cannot specify both an update and remove=true',
    );
  }
  const collection = upsert
    ? context.storage.getOrCreateCollection(context.db, name)
    : context.storage.getCollection(context.db, name);
  const targets = collection
    ? firstMatch(collection, filter, options, command.sort as Document | undefined)
    : [];
  const project = (document: Document | undefined) =>
    document ? projectOne(document, command.fields as Document | undefined) : null;

  if (command.remove) {
    if (targets[0]) collection?.remove(targets[0]);
    return { lastErrorObject: { n: targets.length }, value: project(targets[0]) };
  }
  if (command.update === undefined)
    throw new MongoCommandError(
      ErrorCode.FailedToParse,
      'Either an update or remove=true must be specified',
    );
  if (!collection) {
    assertParsableUpdate(command.update as Document, command.arrayFilters as Document[], false);
    return { lastErrorObject: { n: 0, updatedExisting: false }, value: null };
  }
  const result = executeUpdate(
    collection,
    {
      filter,
      update: command.update as Document,
      multi: false,
      upsert,
      arrayFilters: command.arrayFilters as Document[] | undefined,
      options,
    },
    targets,
  );
  if (result.upserted) {
    return {
      lastErrorObject: { n: 1, updatedExisting: false, upserted: result.upserted._id },
      value: command.new ? project(result.upserted) : null,
    };
  }
  return {
    lastErrorObject: { n: result.matched, updatedExisting: result.matched > 0 },
    value: project(command.new ? result.after : result.before),
  };
}

function projectOne(document: Document, fields: Document | undefined): Document {
  if (!fields || Object.keys(fields).length === 0) return document;
  return compileFilter({}, {}, fields).find([document], fields).all()[0] as Document;
}

export const writeCommands: Record<string, CommandHandler> = {
  insert,
  update,
  delete: deleteCommand,
  findAndModify,
  findandmodify: findAndModify,
};

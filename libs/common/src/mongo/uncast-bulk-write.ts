import type { AnyBulkWriteOperation, Model, mongo, Schema } from 'mongoose';

type Update = Record<string, Record<string, unknown>>;
type UpdateStatement = { filter: Record<string, unknown>; update: Update; upsert?: boolean };

interface SchemaAdditions {
  createdAt?: string;
  updatedAt?: string;
  versionKey?: string;
  /** Paths with a default, as mongoose applies them to an upsert's insert. */
  defaults: Array<{ path: string; pieces: string[]; value: () => unknown }>;
}

const additionsBySchema = new WeakMap<Schema, SchemaAdditions>();

function additionsOf(schema: Schema): SchemaAdditions {
  let additions = additionsBySchema.get(schema);
  if (additions) return additions;
  const timestamps = (
    schema as unknown as { $timestamps?: { createdAt?: string; updatedAt?: string } }
  ).$timestamps;
  const versionKey = schema.get('versionKey') as string | false | undefined;
  const defaults: SchemaAdditions['defaults'] = [];
  schema.eachPath((path, type) => {
    if (path === '_id' || path === versionKey) return;
    const option = (type as unknown as { defaultValue?: unknown }).defaultValue;
    if (option === undefined) return;
    if (path.includes('$*')) return;
    // A fresh value per insert, cast as mongoose casts it (`Date.now` gives a number, stored as a Date).
    const cast = (made: unknown) => (type as unknown as { cast(v: unknown): unknown }).cast(made);
    const value = () => {
      const made = typeof option === 'function' ? (option as () => unknown)() : option;
      if (Array.isArray(made)) return [...(made as unknown[])];
      return made === null || made === undefined ? made : cast(made);
    };
    defaults.push({ path, pieces: path.split('.'), value });
  });
  additions = {
    createdAt: timestamps?.createdAt,
    updatedAt: timestamps?.updatedAt,
    versionKey: versionKey || undefined,
    defaults,
  };
  for (const name of [additions.createdAt, additions.updatedAt])
    if (name?.includes('.'))
      throw new Error(`uncastBulkWrite: nested timestamp ${name} unsupported`);
  additionsBySchema.set(schema, additions);
  return additions;
}

/** The fields a statement writes or pins, with their parents, for "does it set this path?" lookups. */
class WrittenPaths {
  private readonly keys = new Set<string>();
  private readonly parents = new Set<string>();

  add(field: string): void {
    this.keys.add(field);
    for (let dot = field.indexOf('.'); dot !== -1; dot = field.indexOf('.', dot + 1))
      this.parents.add(field.slice(0, dot));
  }

  /** `path`, a parent of it or a child of it is written. */
  touches(path: string, pieces: string[]): boolean {
    if (this.parents.has(path)) return true;
    let prefix = pieces[0];
    for (let i = 1; i <= pieces.length; i++) {
      if (this.keys.has(prefix)) return true;
      prefix += `.${pieces[i]}`;
    }
    return false;
  }
}

/** Filter fields pinned by equality: MongoDB copies them into an upsert's insert. */
function addPinnedFields(filter: Record<string, unknown>, written: WrittenPaths): void {
  for (const [field, condition] of Object.entries(filter)) {
    if (field.startsWith('$')) continue;
    const operators =
      condition !== null &&
      typeof condition === 'object' &&
      Object.keys(condition).some((key) => key.startsWith('$'));
    if (!operators) written.add(field);
  }
}

/** The update mongoose would send for this statement: timestamps, version key and insert defaults. */
function completeUpdate(statement: UpdateStatement, additions: SchemaAdditions, now: Date): Update {
  const update: Update = {};
  for (const [operator, fields] of Object.entries(statement.update)) {
    if (!operator.startsWith('$'))
      throw new Error('uncastBulkWrite: only operator updates ($set, $inc, …) are supported');
    update[operator] = { ...fields };
  }
  const { createdAt, updatedAt, versionKey } = additions;
  if (updatedAt && !update.$currentDate?.[updatedAt]) (update.$set ??= {})[updatedAt] = now;
  if (createdAt) {
    if (update.$set) delete update.$set[createdAt];
    if (statement.upsert) (update.$setOnInsert ??= {})[createdAt] = now;
  }
  if (!statement.upsert) return update;
  if (
    versionKey &&
    !['$set', '$inc', '$setOnInsert'].some((op) => update[op]?.[versionKey] !== undefined)
  )
    (update.$setOnInsert ??= {})[versionKey] = 0;
  const written = new WrittenPaths();
  addPinnedFields(statement.filter, written);
  for (const fields of Object.values(update)) for (const field in fields) written.add(field);
  for (const { path, pieces, value } of additions.defaults)
    if (!written.touches(path, pieces)) (update.$setOnInsert ??= {})[path] = value();
  return update;
}

/**
 * `model.bulkWrite` without mongoose's per-operation cast, for updates our own code builds with the
 * schema's types: on upsert-heavy paths (contacts, chats) the cast is a third or more of the CPU of
 * the write. What mongoose would add is added here: the schema's timestamps, the version key and,
 * on upsert, the defaults of fields the filter and the update leave unset. Only `updateOne` and
 * `updateMany` with operator updates; anything else belongs to `model.bulkWrite`. The driver's
 * result and errors are returned as they are (`upsertedIds`, `writeErrors`, as with mongoose).
 */
export function uncastBulkWrite<T extends mongo.Document>(
  model: Model<T>,
  operations: AnyBulkWriteOperation<T>[],
  options: { ordered: boolean },
) {
  const additions = additionsOf(model.schema);
  const now = new Date();
  const prepared = operations.map((operation) => {
    const op = operation as { updateOne?: UpdateStatement; updateMany?: UpdateStatement };
    const kind = op.updateOne ? 'updateOne' : op.updateMany ? 'updateMany' : undefined;
    const statement = kind && op[kind];
    if (!kind || !statement)
      throw new Error('uncastBulkWrite: only updateOne and updateMany are supported');
    return { [kind]: { ...statement, update: completeUpdate(statement, additions, now) } };
  });
  return model.collection.bulkWrite(prepared as never[], options);
}

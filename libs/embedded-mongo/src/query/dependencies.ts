import type { Document } from 'bson';

/**
 * Which top-level fields of its input documents a query or pipeline reads, so the store decodes
 * only those (as MongoDB's dependency analysis does). Every function answers undefined whenever it
 * is not sure: then the whole document is decoded.
 */

const topLevel = (path: string): string => path.split('.')[0];
const SORTING_ACCUMULATORS = new Set(['$top', '$bottom', '$topN', '$bottomN']);

/** Top-level fields a query filter reads. */
export function filterFields(filter: Document, into = new Set<string>()): Set<string> | undefined {
  for (const [key, condition] of Object.entries(filter)) {
    if (key === '$and' || key === '$or' || key === '$nor') {
      if (!Array.isArray(condition)) return undefined;
      for (const branch of condition)
        if (!isPlainObject(branch) || !filterFields(branch, into)) return undefined;
    } else if (key === '$expr') {
      if (!expressionFields(condition, into)) return undefined;
    } else if (key === '$comment') {
      continue;
    } else if (key.startsWith('$')) {
      return undefined; // $where, $text, $jsonSchema...: may read anything
    } else {
      into.add(topLevel(key));
    }
  }
  return into;
}

/** Fields an aggregation expression reads (`'$a.b'` reads `a`); undefined if it reads the whole document. */
export function expressionFields(expression: unknown, into: Set<string>): Set<string> | undefined {
  if (typeof expression === 'string') {
    if (expression.startsWith('$$')) {
      const variable = topLevel(expression.slice(2));
      return variable === 'ROOT' || variable === 'CURRENT' ? undefined : into;
    }
    if (expression.startsWith('$')) into.add(topLevel(expression.slice(1)));
    return into;
  }
  if (Array.isArray(expression)) {
    for (const item of expression) if (!expressionFields(item, into)) return undefined;
    return into;
  }
  if (!isPlainObject(expression)) return into; // numbers, dates, null...: literals
  for (const [key, value] of Object.entries(expression)) {
    if (key === '$literal') continue;
    // These name fields without a `$` prefix or default their input to the current document.
    if (key === '$getField' || key === '$setField' || key === '$unsetField') return undefined;
    if (SORTING_ACCUMULATORS.has(key) && isPlainObject(value) && isPlainObject(value.sortBy)) {
      for (const field of Object.keys(value.sortBy)) into.add(topLevel(field)); // names, not `$paths`
      const { sortBy: _sortBy, ...rest } = value;
      if (!expressionFields(rest, into)) return undefined;
      continue;
    }
    if (!expressionFields(value, into)) return undefined;
  }
  return into;
}

/**
 * Fields a pipeline reads from its input, known only when it ends its use of the input documents
 * with a stage that builds new ones ($group, $project by inclusion, $count, $replaceRoot...);
 * otherwise documents leave the pipeline whole and every field is needed.
 */
export function pipelineFields(stages: Document[]): Set<string> | undefined {
  const into = new Set<string>();
  for (const stage of stages) {
    const [name] = Object.keys(stage);
    const spec = stage[name] as unknown;
    switch (name) {
      case '$match':
        if (!isPlainObject(spec) || !filterFields(spec, into)) return undefined;
        break;
      case '$sort':
        if (!isPlainObject(spec)) return undefined;
        for (const field of Object.keys(spec)) into.add(topLevel(field));
        break;
      case '$limit':
      case '$skip':
      case '$unset':
        break;
      case '$unwind': {
        const path = typeof spec === 'string' ? spec : (spec as Document | undefined)?.path;
        if (typeof path !== 'string' || !path.startsWith('$')) return undefined;
        into.add(topLevel(path.slice(1)));
        break;
      }
      case '$addFields':
      case '$set':
        if (!isPlainObject(spec)) return undefined;
        for (const [field, value] of Object.entries(spec)) {
          into.add(topLevel(field)); // `a.b: x` keeps the rest of `a`
          if (!expressionFields(value, into)) return undefined;
        }
        break;
      case '$group':
      case '$sortByCount':
        return expressionFields(spec, into);
      case '$replaceRoot':
        return expressionFields((spec as Document | undefined)?.newRoot, into);
      case '$replaceWith':
        return expressionFields(spec, into);
      case '$count':
        return into;
      case '$project':
        return isPlainObject(spec) ? inclusionFields(spec, into) : undefined;
      default:
        return undefined;
    }
  }
  return undefined;
}

/**
 * What a find must decode besides its filter: for a projection listing plain top-level fields
 * (`{ a: 1, b: 1 }`, `_id: 0` allowed: what drivers and ODMs send for a field list) those fields
 * and the sort's. `exact` when the decoded documents already are the projected ones, so mingo only
 * sorts and pages. Other projections: whole documents (`fields` undefined), projected by mingo.
 */
export function findDecoding(
  projection: Document | undefined,
  sort: Document | undefined,
): { fields?: Set<string>; exact: boolean } {
  if (!projection || Object.keys(projection).length === 0) return { exact: true };
  const fields = new Set<string>();
  for (const [field, value] of Object.entries(projection)) {
    if (field === '_id' && (value === 0 || value === false)) continue;
    if ((value !== 1 && value !== true) || field.includes('.') || field.includes('$'))
      return { exact: false };
    fields.add(field);
  }
  if (fields.size === 0) return { exact: false }; // `{ _id: 0 }` alone excludes: every other field stays
  if (projection._id !== 0 && projection._id !== false) fields.add('_id');
  const sortFields = Object.keys(sort ?? {});
  const exact = sortFields.every((field) => fields.has(field));
  for (const field of sortFields) fields.add(topLevel(field));
  return { fields, exact };
}

/** Fields an inclusion projection keeps or computes from; undefined for exclusions and nested specs. */
function inclusionFields(spec: Document, into: Set<string>): Set<string> | undefined {
  for (const [field, value] of Object.entries(spec)) {
    if (value === 0 || value === false) {
      if (field === '_id') continue;
      return undefined;
    }
    into.add(topLevel(field));
    if (value === 1 || value === true) continue;
    if (isPlainObject(value) && !Object.keys(value).some((key) => key.startsWith('$')))
      return undefined; // nested projection spec
    if (!expressionFields(value, into)) return undefined;
  }
  if (spec._id !== 0 && spec._id !== false) into.add('_id');
  return into;
}

function isPlainObject(value: unknown): value is Document {
  return (
    value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
  );
}

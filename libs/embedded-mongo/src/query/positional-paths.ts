import type { Document } from 'bson';
import { cloneDocument } from './clone';
import { compileFilter, type MingoOptions } from './mingo-options';

/*
 * mingo refuses two paths through one positional array segment (`list.$.a` and `list.$.b`,
 * `list.$[].a` and `list.$[].b`) as a conflict at `list`, where MongoDB applies both to the same
 * elements. Such paths are resolved here into the indexes they name, judged on the document before
 * the update (as MongoDB matches `$` and array filters once): `list.1.a`, `list.1.b`.
 */

export interface PositionalContext {
  filter: Document;
  arrayFilters?: Document[];
  options?: MingoOptions;
}

/**
 * `modifier` with the positional segments that would make mingo see a conflict replaced by the
 * indexes they select in `document`, and the array filters still used; both as given when no
 * segment would, or when one cannot be resolved here (mingo then answers as before).
 */
export function withResolvedPositions(
  document: Document,
  modifier: Document,
  context: PositionalContext,
): { modifier: Document; arrayFilters?: Document[] } {
  const unchanged = { modifier, arrayFilters: context.arrayFilters };
  let current = modifier;
  // Each round resolves the first positional segment of the paths that share one.
  for (let round = 0; round < 8; round++) {
    const shared = sharedPositionalPrefixes(current);
    if (shared.size === 0) {
      if (current === modifier) return unchanged;
      return { modifier: current, arrayFilters: usedArrayFilters(current, context.arrayFilters) };
    }
    const next = resolveRound(document, current, shared, context);
    if (!next) return unchanged;
    current = next;
  }
  return unchanged;
}

/** The array filters whose identifier a path still names (MongoDB and mingo refuse unused ones). */
function usedArrayFilters(modifier: Document, arrayFilters?: Document[]): Document[] | undefined {
  if (!arrayFilters) return undefined;
  const paths = Object.values(modifier).flatMap((fields) => Object.keys(fields as Document));
  const used = (filter: Document) =>
    Object.keys(filter).some((key) => {
      const identifier = key.split('.')[0];
      return paths.some((path) => path.includes(`$[${identifier}]`));
    });
  return arrayFilters.filter(used);
}

const isPositional = (part: string) => part === '$' || part.startsWith('$[');

/** The array paths before a first positional segment that two or more paths go through. */
function sharedPositionalPrefixes(modifier: Document): Set<string> {
  const seen = new Set<string>();
  const shared = new Set<string>();
  for (const fields of Object.values(modifier)) {
    if (fields === null || typeof fields !== 'object') continue;
    for (const path of Object.keys(fields as Document)) {
      const prefix = positionalPrefix(path);
      if (prefix === undefined) continue;
      if (seen.has(prefix)) shared.add(prefix);
      seen.add(prefix);
    }
  }
  return shared;
}

function positionalPrefix(path: string): string | undefined {
  if (!path.includes('$')) return undefined;
  const parts = path.split('.');
  const index = parts.findIndex(isPositional);
  return index > 0 ? parts.slice(0, index).join('.') : undefined;
}

function resolveRound(
  document: Document,
  modifier: Document,
  shared: Set<string>,
  context: PositionalContext,
): Document | undefined {
  const resolved: Document = {};
  for (const [operator, fields] of Object.entries(modifier)) {
    if (fields === null || typeof fields !== 'object') {
      resolved[operator] = fields;
      continue;
    }
    const entries: Document = {};
    for (const [path, argument] of Object.entries(fields as Document)) {
      const prefix = positionalPrefix(path);
      if (prefix === undefined || !shared.has(prefix)) {
        entries[path] = argument;
        continue;
      }
      const segment = path.split('.')[prefix.split('.').length];
      const indexes = selectedIndexes(document, prefix, segment, context);
      if (!indexes) return undefined;
      const rest = path.slice(prefix.length + 1 + segment.length);
      for (const index of indexes) entries[`${prefix}.${index}${rest}`] = cloneDocument(argument);
    }
    // An operator left without paths (no element selected) is dropped: it changes nothing.
    if (Object.keys(entries).length > 0) resolved[operator] = entries;
  }
  return resolved;
}

/** The indexes of the array at `prefix` that `segment` ($, $[], $[id]) selects; undefined if unsure. */
function selectedIndexes(
  document: Document,
  prefix: string,
  segment: string,
  context: PositionalContext,
): number[] | undefined {
  const array = valueAt(document, prefix);
  if (!Array.isArray(array)) return undefined;
  if (segment === '$[]') return array.map((_, i) => i);
  // Each element is judged as mingo judges it: wrapped as `{ name: [element] }`.
  if (segment === '$') {
    const keys = Object.keys(context.filter).filter(
      (key) => key === prefix || key.startsWith(`${prefix}.`),
    );
    if (keys.length !== 1) return undefined;
    const query = compileFilter({ [keys[0]]: context.filter[keys[0]] }, context.options);
    const index = array.findIndex((element) => query.test({ [prefix]: [element] }));
    return index < 0 ? undefined : [index];
  }
  const identifier = segment.slice(2, -1);
  const condition: Document = {};
  for (const filter of context.arrayFilters ?? [])
    for (const [key, value] of Object.entries(filter))
      if (key === identifier || key.startsWith(`${identifier}.`)) condition[key] = value;
  if (Object.keys(condition).length === 0) return undefined;
  const query = compileFilter(condition, context.options);
  return array.flatMap((element, i) => (query.test({ [identifier]: [element] }) ? [i] : []));
}

/** The value at a dotted path of plain objects and array indexes; undefined where it leads nowhere. */
function valueAt(document: Document, path: string): unknown {
  let node: unknown = document;
  for (const part of path.split('.')) {
    if (Array.isArray(node) && /^\d+$/.test(part)) node = node[Number(part)];
    else if (node !== null && typeof node === 'object' && !Array.isArray(node))
      node = (node as Document)[part];
    else return undefined;
  }
  return node;
}

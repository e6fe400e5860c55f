import type { Document } from 'bson';
import { valuesAtPath } from '../storage/index-key';
import { compareBson, compareStrings, EMPTY_ARRAY_KEY, type StringOrder } from './bson-order';

/**
 * The value a document sorts by on `path`, as MongoDB takes it: the value itself, or for an array
 * its smallest element ascending and its largest descending (an empty array sorts before null).
 * Dotted paths reach every value through arrays, as a multikey index does.
 */
export function sortKeyOf(
  document: Document,
  path: string,
  descending: boolean,
  strings: StringOrder = compareStrings,
): unknown {
  const top: unknown = path.includes('.') ? undefined : document[path];
  if (!path.includes('.') && !Array.isArray(top)) return top;
  const values = Array.isArray(top) ? top : valuesAtPath(document, path);
  if (values.length === 0) return EMPTY_ARRAY_KEY;
  let key = values[0];
  for (let i = 1; i < values.length; i++) {
    const order = compareBson(values[i], key, strings);
    if (descending ? order > 0 : order < 0) key = values[i];
  }
  return key;
}

/**
 * `documents` sorted by a `{ path: 1 | -1 }` specification in MongoDB's order (see compareBson and
 * sortKeyOf), strings by the collation's order if one is given; ties keep their input order.
 * Undefined when the specification holds something else (`$meta`).
 */
export function sortDocuments(
  documents: Document[],
  sort: Document,
  collation?: Document,
): Document[] | undefined {
  const keys = Object.entries(sort);
  if (keys.some(([, direction]) => direction !== 1 && direction !== -1)) return undefined;
  const strings = collationOrder(collation);
  const rows = documents.map((document, seq) => ({
    document,
    seq,
    keys: keys.map(([path, direction]) => sortKeyOf(document, path, direction === -1, strings)),
  }));
  rows.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const order = compareBson(a.keys[i], b.keys[i], strings);
      if (order !== 0) return order * Number(keys[i][1]);
    }
    return a.seq - b.seq;
  });
  return rows.map((row) => row.document);
}

const STRENGTHS: Record<number, Intl.CollatorOptions['sensitivity']> = {
  1: 'base',
  2: 'accent',
  3: 'variant',
};

/** How a collation orders strings (mingo's reading of one); code points without one. */
export function collationOrder(collation: Document | undefined): StringOrder {
  if (!collation || typeof collation.locale !== 'string' || collation.locale === 'simple')
    return compareStrings;
  const options: Intl.CollatorOptions = {
    sensitivity: STRENGTHS[Number(collation.strength ?? 3)] ?? 'variant',
    caseFirst:
      collation.caseFirst === 'off'
        ? 'false'
        : (collation.caseFirst as Intl.CollatorOptions['caseFirst']),
    numeric: collation.numericOrdering === true,
    ignorePunctuation: collation.alternate === 'shifted',
  };
  if (collation.caseLevel === true)
    options.sensitivity = options.sensitivity === 'base' ? 'case' : 'variant';
  const collator = new Intl.Collator(collation.locale, options);
  return (a, b) => collator.compare(a, b);
}

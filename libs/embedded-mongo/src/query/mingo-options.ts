import type { Document } from 'bson';
import { Context } from 'mingo/core';
import * as accumulatorOperators from 'mingo/operators/accumulator';
import * as expressionOperators from 'mingo/operators/expression';
import * as pipelineOperators from 'mingo/operators/pipeline';
import * as projectionOperators from 'mingo/operators/projection';
import * as queryOperators from 'mingo/operators/query';
import * as windowOperators from 'mingo/operators/window';
import { Lazy, type Iterator } from 'mingo/lazy';
import { Query } from 'mingo/query';
import { resolve } from 'mingo/util';
import { canonicalKey } from '../storage/index-key';
import { bracketOf, compareBson, compareStrings } from './bson-order';
import { collationFold, foldStrings, type StringFold } from './collation';
import { compileNative } from './native-matcher';
import { operandTruth } from './value-predicates';
import { sortDocuments } from './sort-order';
import type { Options } from 'mingo/types';

export type MingoOptions = Partial<Options>;

/** Options shared by every mingo call: MongoDB-strict semantics, `_id` as the key. */
export function mingoOptions(extra: MingoOptions = {}): MingoOptions {
  return { idKey: '_id', useStrictMode: true, scriptEnabled: false, ...extra };
}

type QueryOperator = (
  selector: string,
  value: unknown,
  options: unknown,
) => (document: Document) => boolean;

const mingoQueryOperators = queryOperators as unknown as Record<string, QueryOperator>;

/** mingo's $type tests an array as a whole; MongoDB also matches an array holding an element of the type. */
const typeOperator: QueryOperator = (selector, value, options) => {
  const whole = mingoQueryOperators.$type(selector, value, options);
  const element = mingoQueryOperators.$type('element', value, options);
  return (document) => {
    if (whole(document)) return true;
    const found: unknown = resolve(document, selector, { unwrapArray: true });
    return Array.isArray(found) && found.some((item) => element({ element: item }));
  };
};

/** `$gte`/`$lte` of null: only null is in null's type bracket, so MongoDB reads them as `$eq: null` (missing fields match). */
const nullInclusive =
  (operator: QueryOperator): QueryOperator =>
  (selector, value, options) =>
    (value === null ? mingoQueryOperators.$eq : operator)(selector, value, options);

/**
 * Ranges as MongoDB compares within a type bracket, where mingo's differ: strings by code point (as
 * MongoDB compares UTF-8 bytes, and as sorts and index orders do; mingo compares UTF-16 code units,
 * which put U+E000-U+FFFF, fullwidth forms and U+FFFD, after emoji), and numbers by value across
 * types (mingo compares a Decimal128 or a Long past 2^53 only with its own type, by its digits as
 * text, and finds a NaN double equal to any number: `$gte: 5` matched it, as MongoDB's never do).
 * Dates and the rest stay mingo's.
 */
const NUMBERS = bracketOf(0); // the type bracket of every numeric type

const bsonRange =
  (operator: QueryOperator, holds: (order: number) => boolean): QueryOperator =>
  (selector, value, options) => {
    const items = (document: Document) => valuesAt(document, selector);
    if (typeof value === 'string')
      return (document) =>
        items(document).some(
          (item) => typeof item === 'string' && holds(compareStrings(item, value)),
        );
    if (bracketOf(value) !== NUMBERS) return operator(selector, value, options);
    // Every number by value, plain doubles too: mingo finds a NaN equal to any number.
    const byValue = (item: unknown) =>
      bracketOf(item) === NUMBERS && holdsBetweenNumbers(item, value, holds);
    return (document) => items(document).some(byValue);
  };

/**
 * Equality (`$eq`, `$in`) also holds between numbers of different types and equal value, as in
 * MongoDB and in the indexes (canonical keys); mingo tells a Decimal128 or a Long past 2^53 apart
 * from a double of the same value. `$ne` and `$nin` negate them, as mingo's do.
 */
const numericEquality =
  (operator: QueryOperator, list: boolean): QueryOperator =>
  (selector, value, options) => {
    const plain = operator(selector, value, options);
    const operands = (list && Array.isArray(value) ? value : [value]).filter(
      (operand) => bracketOf(operand) === NUMBERS,
    );
    if (!operands.length) return plain;
    const keys = new Set(operands.map((operand) => canonicalKey(operand)));
    const wrapped = operands.some(isWrapped);
    const equal = (item: unknown) =>
      bracketOf(item) === NUMBERS && (wrapped || isWrapped(item)) && keys.has(canonicalKey(item));
    return (document) => plain(document) || valuesAt(document, selector).some(equal);
  };

const negated =
  (operator: QueryOperator): QueryOperator =>
  (selector, value, options) => {
    const test = operator(selector, value, options);
    return (document) => !test(document);
  };

/** The values a condition on `selector` tests: an array's elements, or the value itself. */
function valuesAt(document: Document, selector: string): unknown[] {
  const found: unknown = resolve(document, selector, { unwrapArray: true });
  return Array.isArray(found) ? found : [found];
}

/** A Decimal128 or a Long (past 2^53): numbers mingo does not compare with others. */
const isWrapped = (value: unknown): boolean => typeof value === 'object' && value !== null;

/** NaN is only equal to NaN; every other pair compares by value. */
function holdsBetweenNumbers(a: unknown, b: unknown, holds: (order: number) => boolean): boolean {
  const [nanA, nanB] = [isNaNValue(a), isNaNValue(b)];
  if (nanA || nanB) return nanA && nanB && holds(0);
  return holds(compareBson(a, b));
}

const isNaNValue = (value: unknown): boolean =>
  typeof value === 'number' ? Number.isNaN(value) : String(value) === 'NaN';

/** `$exists` of an operand by its truth as MongoDB reads it: mingo's `!!` made `''` and NaN false. */
const $exists: QueryOperator = (selector, value, options) =>
  mingoQueryOperators.$exists(selector, operandTruth(value), options);

const $eq = numericEquality(mingoQueryOperators.$eq, false);
const $in = numericEquality(mingoQueryOperators.$in, true);

const QUERY_OPERATORS: Record<string, QueryOperator> = {
  ...mingoQueryOperators,
  $type: typeOperator,
  $exists,
  $eq,
  $ne: negated($eq),
  $in,
  $nin: negated($in),
  $gt: bsonRange(mingoQueryOperators.$gt, (order) => order > 0),
  $gte: nullInclusive(bsonRange(mingoQueryOperators.$gte, (order) => order >= 0)),
  $lt: bsonRange(mingoQueryOperators.$lt, (order) => order < 0),
  $lte: nullInclusive(bsonRange(mingoQueryOperators.$lte, (order) => order <= 0)),
};

/*
 * mingo copies every operator table of the context into each Query it builds. Filters need only
 * the query (and projection) operators; the expression table is 5x their size and is added only
 * for filters using `$expr` or projections computing values. Under bulk writes, where every
 * statement compiles a filter, the full copy was a quarter of the CPU time and most of the garbage.
 */
const MATCH_CONTEXT = Context.init({
  query: QUERY_OPERATORS as never,
  projection: projectionOperators,
});
const EXPRESSION_CONTEXT = Context.init({
  query: QUERY_OPERATORS as never,
  projection: projectionOperators,
  expression: expressionOperators,
});

function usesExpressions(filter: unknown): boolean {
  if (Array.isArray(filter)) return filter.some(usesExpressions);
  if (filter === null || typeof filter !== 'object' || filter.constructor !== Object) return false;
  for (const [key, value] of Object.entries(filter))
    if (key === '$expr' || usesExpressions(value)) return true;
  return false;
}

const computesValues = (projection: Document | undefined) =>
  !!projection && Object.values(projection).some((v) => v !== null && typeof v === 'object');

/**
 * mingo applies a collation to sorting only. Under a collation that ignores case (strength 2) or
 * also accents (1), the comparison operators (implicit equality included) compare folded strings:
 * the operand folded once, the field's value at each test. `$regex` is left as it is: MongoDB's
 * regular expressions ignore collations too. Ranges compare folded strings by code point.
 */
const COLLATED_OPERATORS = ['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$all'];
const collatedContexts = new Map<string, Context>();

function collatedContext(fold: StringFold, expressions: boolean): Context {
  const key = `${fold('É')}:${expressions}`; // one context per fold and table set
  let context = collatedContexts.get(key);
  if (context) return context;
  const collated: Record<string, QueryOperator> = { ...QUERY_OPERATORS };
  for (const name of COLLATED_OPERATORS) {
    const operator = QUERY_OPERATORS[name];
    collated[name] = (selector, value, options) => {
      const test = operator(selector, foldStrings(value, fold), options);
      const field = selector.split('.')[0];
      return (document) => test({ [field]: foldStrings(document[field], fold) });
    };
  }
  context = Context.init({
    query: collated as never,
    projection: projectionOperators,
    ...(expressions ? { expression: expressionOperators } : {}),
  });
  collatedContexts.set(key, context);
  return context;
}

/** `$sort` in MongoDB's order (see sortDocuments); mingo's own for what that does not read ($meta). */
function sortStage(input: Iterator, sort: Document, options: Options): Iterator {
  return input.transform((documents: Document[]) => {
    const sorted =
      sort && Object.keys(sort).length
        ? sortDocuments(documents, sort, options.collation)
        : undefined;
    return sorted ? Lazy(sorted) : pipelineOperators.$sort(Lazy(documents), sort, options);
  });
}

const PIPELINE_OPERATORS = { ...pipelineOperators, $sort: sortStage };

const PIPELINE_CONTEXTS = new Map<Context, Context>();

/**
 * Every operator table for an Aggregator, with this module's query operators (and the options'
 * collation) for its later `$match` stages as for filters: mingo's own entry point would merge
 * its default query operators over them.
 */
export function pipelineContext(options?: MingoOptions): Context {
  const fold = collationFold(options?.collation as Document | undefined);
  const query = fold ? collatedContext(fold, true) : EXPRESSION_CONTEXT;
  let context = PIPELINE_CONTEXTS.get(query);
  if (!context) {
    context = Context.from(
      query,
      Context.init({
        accumulator: accumulatorOperators,
        pipeline: PIPELINE_OPERATORS as never,
        window: windowOperators,
      }),
    );
    PIPELINE_CONTEXTS.set(query, context);
  }
  return context;
}

/** A mingo Query for `filter`; pass the projection it will be used with, if any. */
export function compileFilter(
  filter: Document | undefined,
  options?: MingoOptions,
  projection?: Document,
): Query {
  const expressions = usesExpressions(filter) || computesValues(projection);
  const fold = collationFold(options?.collation as Document | undefined);
  const context = fold
    ? collatedContext(fold, expressions)
    : expressions
      ? EXPRESSION_CONTEXT
      : MATCH_CONTEXT;
  return new Query(filter ?? {}, mingoOptions({ ...options, context }));
}

export interface Matcher {
  test(document: Document): boolean;
}

/**
 * A filter test. The common shapes (see compileNative: equality, `$in`, ranges and `$exists` on
 * top-level or dotted paths, under `$and`/`$or`/`$nor`) are judged without mingo, and a document
 * holding an array or another object on a path they read goes to mingo, whose Query is built only
 * then. Building a Query copies its operator tables, which dominates short queries (a chat
 * upsert's `$or`: 30-130 µs), and mingo's `$in` hashes the whole list for every document.
 */
export function compileMatcher(filter: Document | undefined, options: MingoOptions = {}): Matcher {
  const folds = collationFold(options.collation as Document | undefined) !== undefined;
  const native = compileNative(filter ?? {}, folds);
  if (!native) return compileFilter(filter, options);
  let fallback: Query | undefined;
  return {
    test: (document) =>
      native(document) ?? (fallback ??= compileFilter(filter, options)).test(document),
  };
}

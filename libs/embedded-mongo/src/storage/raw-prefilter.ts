import type { Document } from 'bson';
import {
  allOf,
  fieldPredicates,
  type FieldPredicates,
  isPlainObject,
  type ValuePredicate,
  type Verdict,
} from '../query/value-predicates';
import { COMPLEX, FieldSet, readTopLevelFields } from './bson-reader';

/** What the stored bytes say about a document: certainly not a match, certainly one, or ask the filter. */
export enum RawVerdict {
  Reject,
  Match,
  Unknown,
}

export interface RawFilter {
  /** Reject / Match / Unknown, reading only the top-level fields the filter pins. */
  test(bytes: Buffer): RawVerdict;
}

/** A condition on the values read (by field position): decided true/false, or undefined. */
type RawCheck = (values: readonly unknown[]) => Verdict;

/**
 * Evaluates a filter on a stored document's BSON so a scan can skip documents without
 * deserializing them. It reads the top-level fields pinned by the filter's conjunctive conditions
 * (the value predicates of fieldPredicates: equality, `$ne`, `$in`/`$nin`, ranges, `$exists`; and
 * `field: /regex/`), also inside `$and` and the branches of `$or`. When a field holds an array, an
 * embedded document or a value it does not decode (COMPLEX), the verdict is Unknown and the caller
 * runs the real filter. When the filter consists only of such conditions it is complete: a Match
 * verdict is then final. Undefined: nothing to check. Never used under a collation.
 */
export function compileRawFilter(filter: Document | undefined): RawFilter | undefined {
  if (!filter) return undefined;
  const names: string[] = [];
  const position = (field: string): number => {
    const at = names.indexOf(field);
    return at >= 0 ? at : names.push(field) - 1;
  };
  const checks: RawCheck[] = [];
  const complete = collectChecks(filter, checks, position);
  if (checks.length === 0) return undefined;
  const fields = new FieldSet(names);
  const values: unknown[] = new Array(fields.size);
  return {
    test(bytes) {
      readTopLevelFields(bytes, fields, values);
      const decided = allOf(checks, values);
      if (decided === false) return RawVerdict.Reject;
      return decided && complete ? RawVerdict.Match : RawVerdict.Unknown;
    },
  };
}

/**
 * Adds the checks of `filter` (`position` numbers the fields they read); returns whether they
 * express all of it.
 */
function collectChecks(
  filter: Document,
  out: RawCheck[],
  position: (field: string) => number,
): boolean {
  let complete = true;
  for (const [field, condition] of Object.entries(filter)) {
    if (field === '$and' && Array.isArray(condition) && condition.length > 0) {
      for (const branch of condition)
        complete = isPlainObject(branch) && collectChecks(branch, out, position) && complete;
      continue;
    }
    if (field === '$or' && Array.isArray(condition) && condition.length > 0) {
      // Decided only when certain (see anyOfCheck), it expresses all of the `$or`.
      const check = anyOfCheck(condition, position);
      if (check) out.push(check);
      else complete = false;
      continue;
    }
    if (field.startsWith('$') || field.includes('.')) {
      complete = false;
      continue;
    }
    const { predicates, complete: expressed } =
      condition instanceof RegExp
        ? regexPredicates(condition)
        : fieldPredicates(condition, { complexValues: true });
    for (const predicate of predicates) {
      const at = position(field);
      out.push((values) => predicate(values[at]));
    }
    complete = expressed && complete;
  }
  return complete;
}

/**
 * `$or`: false when every branch fails, true when a branch whose checks express it all holds,
 * else undefined. No check when a branch has nothing to check: it could match any document.
 */
function anyOfCheck(
  branches: unknown[],
  position: (field: string) => number,
): RawCheck | undefined {
  // Each branch is tried first, so the fields of an `$or` that cannot be checked are not read.
  const checkable = (branch: unknown) => {
    if (!isPlainObject(branch)) return false;
    const checks: RawCheck[] = [];
    collectChecks(branch, checks, () => 0);
    return checks.length > 0;
  };
  if (!branches.every(checkable)) return undefined;
  const compiled = (branches as Document[]).map((branch) => {
    const checks: RawCheck[] = [];
    const complete = collectChecks(branch, checks, position);
    return { checks, complete };
  });
  return (values) => {
    let verdict: Verdict = false;
    for (const branch of compiled) {
      const decided = allOf(branch.checks, values);
      if (decided === true && branch.complete) return true;
      if (decided !== false) verdict = undefined;
    }
    return verdict;
  };
}

/**
 * `field: /pattern/` as mingo (and MongoDB) match it on what the bytes decode: a string the
 * pattern finds, never a missing field, null or another scalar type (a stored regular expression
 * is COMPLEX). Patterns with `g` or `y` keep state between tests: not read.
 */
function regexPredicates(pattern: RegExp): FieldPredicates {
  if (pattern.global || pattern.sticky) return { predicates: [], complete: false };
  const predicate: ValuePredicate = (value) =>
    value === COMPLEX ? undefined : typeof value === 'string' && pattern.test(value);
  return { predicates: [predicate], complete: true };
}

import { deserialize, Decimal128, Long, ObjectId, serialize, type Document } from 'bson';
import { Query } from 'mingo/query';
import { compileFilter, compileMatcher, type MingoOptions } from './mingo-options';
import { compileNative } from './native-matcher';
import { seededRandom } from '../../test/seeded-random';

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function random(seed: number) {
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  return { next, pick };
}

const ids = [new ObjectId('64b000000000000000000001'), new ObjectId('64b000000000000000000002')];
const SCALARS: readonly unknown[] = [
  0,
  -0,
  1,
  2,
  2.5,
  -1,
  1e20,
  Infinity,
  NaN,
  Long.fromString('9007199254740993'),
  Decimal128.fromString('2'),
  Decimal128.fromString('2.5'),
  Decimal128.fromString('NaN'),
  '',
  'a',
  'b',
  'B',
  'ab',
  '2',
  '😀',
  '\uFF21',
  true,
  false,
  null,
  new Date(0),
  new Date(1000),
  ...ids,
];

const SUPPORTED = SCALARS.filter(
  (value) => !(value instanceof Long || value instanceof Decimal128 || Number.isNaN(value)),
);

function generators(seed: number) {
  const { next, pick } = random(seed);
  const value = (depth: number): unknown => {
    const roll = next();
    if (depth > 0 && roll < 0.15) return { x: value(depth - 1), ...(next() < 0.5 ? { y: 1 } : {}) };
    if (depth > 0 && roll < 0.22) return [value(depth - 1), value(depth - 1)];
    if (roll < 0.24) return depth > 0 && next() < 0.5 ? [] : {};
    return pick(SCALARS);
  };
  const document = (): Document => {
    const out: Document = {};
    for (const field of ['a', 'b', 'c']) if (next() < 0.85) out[field] = value(2);
    return deserialize(serialize(out)); // as the store decodes it
  };
  // Mostly operands the native path takes (not NaN, Decimal128 or Long), some it leaves to mingo.
  const operand = (): unknown =>
    next() < 0.85 ? pick(SUPPORTED) : pick([...SCALARS, { x: 1 }, [1, 2], /a/, undefined]);
  const condition = (): unknown => {
    if (next() < 0.3) return operand();
    const out: Document = {};
    for (let i = next() < 0.6 ? 1 : 2; i > 0; i--) {
      const operator = pick([
        '$eq',
        '$ne',
        '$in',
        '$nin',
        '$gt',
        '$gte',
        '$lt',
        '$lte',
        '$exists',
        '$exists',
        '$size',
      ]);
      out[operator] =
        operator === '$in' || operator === '$nin'
          ? Array.from({ length: Math.floor(next() * 4) }, operand)
          : operator === '$exists'
            ? next() < 0.8
              ? next() < 0.5
              : 1
            : operator === '$size'
              ? 2
              : operand();
    }
    return out;
  };
  const filter = (depth: number): Document => {
    if (depth > 0 && next() < 0.3) {
      const branches = Array.from({ length: 1 + Math.floor(next() * 3) }, () => filter(depth - 1));
      return { [pick(['$and', '$or', '$nor'])]: branches };
    }
    const out: Document = {};
    for (let i = next() < 0.7 ? 1 : 2; i > 0; i--)
      out[pick(['a', 'b', 'c', 'a.x', 'a.y', 'b.x.x', 'c.x'])] = condition();
    return out;
  };
  return { document, filter };
}

describe('compileNative', () => {
  it('decides as the store decides with mingo (with its MongoDB rules), on random filters and documents', () => {
    const { document, filter } = generators(31);
    const documents = Array.from({ length: 150 }, document);
    const collations: MingoOptions[] = [{}, { collation: { locale: 'en', strength: 2 } }];
    let decided = 0;
    let compared = 0;
    for (let round = 0; round < 400; round++) {
      const f = filter(2);
      const options = collations[round % 4 === 3 ? 1 : 0];
      let reference: Query;
      try {
        reference = compileFilter(f, options);
      } catch {
        expect(() => compileMatcher(f, options).test(documents[0])).toThrow();
        continue;
      }
      const native = compileNative(f, options.collation !== undefined);
      const matcher = compileMatcher(f, options);
      for (const d of documents) {
        const expected = reference.test(d);
        const verdict = native?.(d);
        if (verdict !== undefined) decided++;
        compared++;
        if (verdict !== undefined && verdict !== expected)
          throw new Error(`${JSON.stringify(f)} on ${JSON.stringify(d)}: ${verdict}`);
        expect(matcher.test(d)).toBe(expected);
      }
    }
    // Most pairs are decided natively: the comparison is not vacuous.
    expect(decided / compared).toBeGreaterThan(0.4);
  });

  it('follows MongoDB where mingo alone would not: code points, numbers across types, null', () => {
    const test = (filter: Document, document: Document) => compileNative(filter)!(document);
    expect(test({ s: { $gt: '\uFF21' } }, { s: '😀' })).toBe(true); // UTF-8 order, not UTF-16
    expect(test({ n: 2 }, { n: Decimal128.fromString('2.0') })).toBe(true);
    expect(test({ n: { $gt: 9007199254740992 } }, { n: Long.fromString('9007199254740993') })).toBe(
      true,
    );
    expect(test({ n: { $lt: 3 } }, { n: '1' })).toBe(false); // ranges stay within a type
    expect(test({ n: { $gte: 1 } }, { n: NaN })).toBe(false);
    expect(test({ 'm.k': null }, { m: 'text' })).toBe(true); // a path past a scalar is missing
    expect(test({ 'm.k': { $exists: true } }, { m: { k: null } })).toBe(true);
    expect(test({ 'm.k': { $in: ['x', null] } }, {})).toBe(true);
    expect(test({ $nor: [{ a: 1 }, { b: { $exists: true } }] }, { a: 2 })).toBe(true);
  });

  it('leaves arrays on a path, objects other than documents and other shapes to mingo', () => {
    expect(compileNative({ 'm.k': 1 })!({ m: [{ k: 1 }] })).toBeUndefined();
    expect(compileNative({ tags: 'x' })!({ tags: ['x'] })).toBeUndefined();
    expect(compileNative({ 'id.k': 1 })!({ id: ids[0] })).toBeUndefined();
    // Decided false by another condition whatever the array holds.
    expect(compileNative({ a: 1, tags: 'x' })!({ a: 2, tags: ['x'] })).toBe(false);
    for (const filter of [
      { a: /x/ },
      { a: { x: 1 } },
      { a: { $size: 1 } },
      { a: { $in: [/x/] } },
      { a: { $gt: null } },
      { $expr: { $eq: ['$a', 1] } },
      { 'a.toString': 1 },
      { a: { $gt: Decimal128.fromString('1') } },
    ])
      expect(compileNative(filter)).toBeUndefined();
    expect(compileNative({ a: 'x' }, true)).toBeUndefined(); // a collation folds strings
    expect(compileNative({ a: { $gt: 'x' } }, true)).toBeUndefined();
    expect(compileNative({ a: 1, b: { $exists: true } }, true)).toBeDefined();
  });

  it("decides $exists by its operand's truth, as MongoDB reads it", () => {
    const test = (filter: Document, document: Document) => compileNative(filter)!(document);
    expect(test({ a: { $exists: 1 } }, { a: 0 })).toBe(true);
    expect(test({ a: { $exists: 1 } }, {})).toBe(false);
    expect(test({ a: { $exists: 0 } }, {})).toBe(true);
    expect(test({ a: { $exists: -0 } }, { a: null })).toBe(false);
    expect(test({ 'a.b': { $exists: null } }, { a: { c: 1 } })).toBe(true);
    expect(test({ a: { $exists: Decimal128.fromString('0.0') } }, {})).toBe(true);
    expect(test({ a: { $exists: Long.fromNumber(2) } }, { a: 1 })).toBe(true);
    // `!!` reads these as false; MongoDB as true.
    expect(test({ a: { $exists: '' } }, { a: 1 })).toBe(true);
    expect(test({ a: { $exists: NaN } }, {})).toBe(false);
  });
});

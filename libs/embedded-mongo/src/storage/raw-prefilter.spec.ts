import { Decimal128, deserialize, Long, ObjectId, serialize, type Document } from 'bson';
import { compileFilter } from '../query/mingo-options';
import { STORED_DOCUMENT_OPTIONS } from './bson-reader';
import { compileRawFilter, RawVerdict } from './raw-prefilter';

const id = new ObjectId();
const values: unknown[] = [
  undefined,
  null,
  0,
  -0,
  1,
  1.5,
  2,
  NaN,
  Long.fromNumber(2),
  Long.fromString('9007199254740993'),
  Decimal128.fromString('2'),
  'a',
  'b',
  '',
  '😀',
  '\uFF21',
  true,
  false,
  new Date(1),
  new Date(2),
  id,
  new ObjectId(id.toHexString()),
  [1, 'a'],
  [],
  [null],
  { x: 1 },
];
const operands: unknown[] = [
  null,
  0,
  1,
  2,
  1.5,
  'a',
  '\uFF21',
  true,
  new Date(1),
  new Date(2),
  new ObjectId(id.toHexString()),
];
const filters: Document[] = [
  ...operands.map((v) => ({ f: v })),
  ...operands.map((v) => ({ f: { $eq: v } })),
  ...operands.map((v) => ({ f: { $gt: v } })),
  ...operands.map((v) => ({ f: { $gte: v } })),
  ...operands.map((v) => ({ f: { $lt: v } })),
  ...operands.map((v) => ({ f: { $lte: v } })),
  ...operands.map((v) => ({ f: { $ne: v } })),
  { f: { $nin: [1, 'a', null] } },
  { f: { $nin: [2, new Date(2)] } },
  { f: { $exists: true } },
  { f: { $exists: false } },
  { f: { $exists: 0 } },
  { f: { $exists: 1 } },
  { f: { $exists: null } },
  { f: { $exists: '' } },
  { f: { $exists: NaN } },
  { f: { $exists: Decimal128.fromString('0') } },
  { f: { $exists: 'x' } },
  { f: { $exists: true, $ne: 1 } },
  { f: { $in: [1, 'a', null] } },
  { f: { $in: [2, new Date(2)] } },
  { f: { $gte: 1, $lt: 2 } },
  { f: { $gt: new Date(0), $lte: new Date(1) } },
  { $and: [{ f: 1 }, { g: 'x' }] },
  { f: 1, g: { $ne: 'x' } },
  { $or: [{ f: 1 }, { f: 'a' }] },
  { f: { $not: { $gt: 1 } } },
  { f: /a/ },
  { f: /^A$/i },
  { f: /^$/ },
  { f: /a/g },
  { $or: [{ f: /b/ }, { g: 'x' }] },
  { $or: [{ f: /a/ }, { f: { $gt: 1 } }, { g: 'y', f: null }] },
  { $or: [{ f: 1 }, { 'f.x': 1 }] },
  { $or: [{ f: 1 }, { g: 'x', 'f.x': 1 }] },
  { $or: [{ f: 1 }, {}] },
  { $or: [{ f: { $exists: false } }, { f: { $not: { $gt: 1 } } }] },
  { g: 'x', $or: [{ f: /a/ }, { f: true }] },
  { $and: [{ $or: [{ g: 'y' }, { f: 2 }] }, { $or: [{ f: 'b' }, { f: new Date(2) }] }] },
  { $or: [{ $or: [{ f: 'a' }, { g: 'y' }] }, { f: { $in: [1, null] } }] },
];

describe('compileRawFilter', () => {
  const documents = values.flatMap((f) =>
    ['x', 'y'].map((g) => (f === undefined ? { _id: 1, g } : { _id: 1, f, g })),
  );

  it('never contradicts the filter: no Reject for a match, no Match for a non-match', () => {
    for (const filter of filters) {
      const raw = compileRawFilter(filter);
      const query = compileFilter(filter);
      for (const document of documents) {
        if (!raw) continue;
        const bytes = Buffer.from(serialize(document));
        const verdict = raw.test(bytes);
        // What the store hands out, and so what mingo judges (a Long(2) reads back as 2).
        const stored = deserialize(bytes, STORED_DOCUMENT_OPTIONS);
        const wrong = query.test(stored) ? RawVerdict.Reject : RawVerdict.Match;
        expect({ filter, document, wrong: verdict === wrong }).toEqual({
          filter,
          document,
          wrong: false,
        });
      }
    }
  });

  it('decides top-level equality, $in and ranges on the stored bytes', () => {
    const verdict = (filter: Document, document: Document) =>
      compileRawFilter(filter)!.test(Buffer.from(serialize(document)));
    expect(verdict({ f: 'a' }, { f: 'b' })).toBe(RawVerdict.Reject);
    expect(verdict({ f: { $in: [1, 2] } }, { f: 3 })).toBe(RawVerdict.Reject);
    expect(verdict({ f: { $gte: new Date(5) } }, { f: new Date(4) })).toBe(RawVerdict.Reject);
    expect(verdict({ f: { $gte: new Date(5) } }, { f: 10 })).toBe(RawVerdict.Reject);
    expect(verdict({ $and: [{ g: 1 }] }, { f: 1 })).toBe(RawVerdict.Reject);
    const window = { o: 'x', d: { $in: ['a', 'b'] }, t: { $gte: 1, $lt: 5 } };
    expect(verdict(window, { o: 'x', d: 'b', t: 4, other: [1] })).toBe(RawVerdict.Match);
    expect(verdict({ f: 'a' }, { f: ['a'] })).toBe(RawVerdict.Unknown); // arrays: left to mingo
    expect(verdict({ f: 'a', g: { $ne: 1 } }, { f: 'a' })).toBe(RawVerdict.Match);
    expect(verdict({ f: 'a', g: { $regex: /x/ } }, { f: 'a' })).toBe(RawVerdict.Unknown); // incomplete
    expect(verdict({ m: { $exists: true }, 'n.s': 'p' }, { f: 1 })).toBe(RawVerdict.Reject);
    expect(
      compileRawFilter({ $nor: [{ f: 1 }], 'a.b': 1, f: { $not: { $ne: 1 } } }),
    ).toBeUndefined();
  });

  it('decides $or and regular expressions on the stored bytes (the history search)', () => {
    const verdict = (filter: Document, document: Document) =>
      compileRawFilter(filter)!.test(Buffer.from(serialize(document)));
    const pattern = /invoice/i;
    const search = {
      o: 'x',
      $or: [{ text: pattern }, { caption: pattern }, { edited: pattern, type: { $nin: ['r'] } }],
    };
    expect(verdict(search, { o: 'x', type: 'image' })).toBe(RawVerdict.Reject);
    expect(verdict(search, { o: 'x', text: 'hello', caption: null })).toBe(RawVerdict.Reject);
    expect(verdict(search, { o: 'x', text: 'Your INVOICE' })).toBe(RawVerdict.Match);
    expect(verdict(search, { o: 'x', edited: 'invoice', type: 'text' })).toBe(RawVerdict.Match);
    expect(verdict(search, { o: 'x', edited: 'invoice', type: 'r' })).toBe(RawVerdict.Reject);
    expect(verdict(search, { o: 'y', text: 'invoice' })).toBe(RawVerdict.Reject);
    expect(verdict(search, { o: 'x', text: ['invoice'] })).toBe(RawVerdict.Unknown); // arrays: mingo
    // A branch read only in part leaves a non-match of the others undecided, never rejected.
    const partly = { $or: [{ f: 1 }, { g: 1, 'h.i': 1 }] };
    expect(verdict(partly, { f: 2, g: 1 })).toBe(RawVerdict.Unknown);
    expect(verdict(partly, { f: 2 })).toBe(RawVerdict.Reject);
    expect(verdict(partly, { f: 1 })).toBe(RawVerdict.Match);
    expect(compileRawFilter({ $or: [{ f: 1 }, { 'g.h': 1 }] })).toBeUndefined(); // nothing to read
    expect(compileRawFilter({ $or: [{ f: 1 }, {}] })).toBeUndefined(); // `{}` matches anything
    expect(compileRawFilter({ f: /a/g })).toBeUndefined(); // stateful: left to mingo
  });

  // The value predicates are shared with the native matcher (query/value-predicates.ts).
  it('decides on the bytes as the native matcher decides on the decoded document', () => {
    const verdict = (filter: Document, document: Document) =>
      compileRawFilter(filter)!.test(Buffer.from(serialize(document)));
    // Numbers by value across types; other types never equal a number.
    expect(verdict({ f: 0 }, { f: -0 })).toBe(RawVerdict.Match);
    expect(verdict({ f: 2 }, { f: Long.fromNumber(2) })).toBe(RawVerdict.Match);
    expect(verdict({ f: 1 }, { f: true })).toBe(RawVerdict.Reject);
    expect(verdict({ f: { $in: [1, 'a'] } }, { f: '1' })).toBe(RawVerdict.Reject);
    expect(verdict({ f: new Date(1) }, { f: 1 })).toBe(RawVerdict.Reject);
    expect(verdict({ f: new ObjectId(id.toHexString()) }, { f: id })).toBe(RawVerdict.Match);
    // null and $in of null match a missing field; $nin of null does not.
    expect(verdict({ f: null }, { g: 1 })).toBe(RawVerdict.Match);
    expect(verdict({ f: { $in: [null] } }, { g: 1 })).toBe(RawVerdict.Match);
    expect(verdict({ f: { $nin: [null, 1] } }, { g: 1 })).toBe(RawVerdict.Reject);
    // What the bytes do not decode is present, and undecided by every value predicate.
    const big = { f: Long.fromString('9007199254740993') };
    expect(verdict({ f: { $exists: true } }, big)).toBe(RawVerdict.Match);
    expect(verdict({ f: { $gt: 1 } }, big)).toBe(RawVerdict.Unknown);
    expect(verdict({ f: { $ne: 1 } }, { f: Decimal128.fromString('1') })).toBe(RawVerdict.Unknown);
    expect(verdict({ f: { $nin: ['a'] } }, { f: { x: 1 } })).toBe(RawVerdict.Unknown);
    expect(verdict({ f: null }, { f: [] })).toBe(RawVerdict.Unknown);
  });

  it('decides a NaN and a date past JavaScript range out of every range, as MongoDB does', () => {
    const raw = (filter: Document) => compileRawFilter(filter)!;
    expect(raw({ f: { $gte: 0 } }).test(Buffer.from(serialize({ f: NaN })))).toBe(
      RawVerdict.Reject,
    );
    expect(raw({ f: { $lt: 0 } }).test(Buffer.from(serialize({ f: NaN })))).toBe(RawVerdict.Reject);
    // A BSON date of 2^60 ms: its JavaScript Date has no time (NaN).
    const far = Buffer.from(serialize({ f: new Date(0) }));
    far.writeBigInt64LE(2n ** 60n, 7);
    expect(deserialize(far).f.getTime()).toBeNaN();
    expect(raw({ f: { $gt: new Date(0) } }).test(far)).toBe(RawVerdict.Reject);
    expect(compileFilter({ f: { $gt: new Date(0) } }).test(deserialize(far))).toBe(false);
  });

  it('decides string ranges on the bytes, by code point', () => {
    const verdict = (filter: Document, document: Document) =>
      compileRawFilter(filter)!.test(Buffer.from(serialize(document)));
    expect(verdict({ f: { $gt: '\uFF21' } }, { f: '😀' })).toBe(RawVerdict.Match); // not UTF-16 order
    expect(verdict({ f: { $lt: 'b' } }, { f: 'b' })).toBe(RawVerdict.Reject);
    expect(verdict({ f: { $gte: 'a' } }, { f: 1 })).toBe(RawVerdict.Reject); // within a type
    expect(verdict({ f: { $gte: 'a' } }, { f: ['b'] })).toBe(RawVerdict.Unknown);
  });

  it("decides $exists by its operand's truth, as MongoDB reads it", () => {
    const verdict = (filter: Document, document: Document) =>
      compileRawFilter(filter)!.test(Buffer.from(serialize(document)));
    // `!!` reads '' and NaN as false; MongoDB as true.
    expect(verdict({ f: { $exists: '' } }, { g: 1 })).toBe(RawVerdict.Reject);
    expect(verdict({ f: { $exists: NaN } }, { f: [1] })).toBe(RawVerdict.Match);
    expect(verdict({ f: { $exists: 1 } }, { g: 1 })).toBe(RawVerdict.Reject);
    expect(verdict({ f: { $exists: null } }, { g: 1 })).toBe(RawVerdict.Match);
    expect(verdict({ f: { $exists: Decimal128.fromString('0') } }, { g: 1 })).toBe(
      RawVerdict.Match,
    );
  });
});

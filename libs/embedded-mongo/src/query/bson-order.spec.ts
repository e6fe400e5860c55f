import { Binary, Decimal128, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'bson';
import { compareBson } from './bson-order';
import { sortKeyOf } from './sort-order';

describe('compareBson (MongoDB comparison/sort order)', () => {
  it('orders values of different types by type bracket, and within one by value', () => {
    const ascending = [
      new MinKey(),
      null,
      Number.NaN, // below every other number
      -Infinity,
      Long.fromString('-9007199254740993'),
      1,
      1.5,
      'B',
      'a',
      '\uffff',
      '\u{1F600}', // past U+FFFF by code point, though its UTF-16 unit sorts first
      { a: 1 },
      { a: 1, b: 0 },
      { b: 0 },
      [],
      [1, 2],
      [2],
      new Binary(Buffer.from('zz')),
      new Binary(Buffer.from('aaa')), // longer BinData sorts after, whatever its bytes
      new ObjectId('000000000000000000000001'),
      false,
      true,
      new Date(0),
      new Timestamp({ t: 1, i: 0 }),
      /a/,
      new MaxKey(),
    ];
    for (let i = 0; i < ascending.length; i++)
      for (let j = 0; j < ascending.length; j++)
        expect([i, j, compareBson(ascending[i], ascending[j])]).toEqual([i, j, Math.sign(i - j)]);
  });

  it('treats missing as null, and numbers of every type by value', () => {
    expect(compareBson(undefined, null)).toBe(0);
    expect(compareBson(Long.fromNumber(3), 3)).toBe(0);
    expect(compareBson(Long.fromString('9007199254740993'), 9007199254740992)).toBe(1);
  });

  it('compares a Decimal128 by its exact value, not the nearest double', () => {
    const decimal = (text: string) => Decimal128.fromString(text);
    expect(compareBson(decimal('1.0000000000000000000001'), 1)).toBe(1);
    expect(compareBson(1, decimal('0.9999999999999999999999'))).toBe(1);
    expect(compareBson(decimal('0.1'), 0.1)).toBe(-1); // the double 0.1 is 0.1000000000000000055...
    expect(compareBson(decimal('1.0'), 1)).toBe(0);
    expect(compareBson(decimal('1.000'), decimal('1'))).toBe(0);
    expect(compareBson(decimal('9007199254740993'), Long.fromString('9007199254740993'))).toBe(0);
    expect(compareBson(decimal('9007199254740993'), 9007199254740992)).toBe(1);
    expect(compareBson(decimal('-Infinity'), -Infinity)).toBe(0);
    expect(compareBson(decimal('1E+6144'), Infinity)).toBe(-1);
    expect(compareBson(-Infinity, decimal('-1E+6144'))).toBe(-1);
    expect(compareBson(decimal('NaN'), -Infinity)).toBe(-1);
    expect(compareBson(decimal('2'), 1.5)).toBe(1);
  });

  it('sorts an array by its smallest element ascending, its largest descending, [] before null', () => {
    expect(sortKeyOf({ v: [3, 'x', 1] }, 'v', false)).toBe(1);
    expect(sortKeyOf({ v: [3, 'x', 1] }, 'v', true)).toBe('x');
    expect(compareBson(sortKeyOf({ v: [] }, 'v', false), sortKeyOf({}, 'v', false))).toBe(-1);
    expect(sortKeyOf({ a: [{ b: 2 }, { b: 5 }] }, 'a.b', true)).toBe(5);
  });
});

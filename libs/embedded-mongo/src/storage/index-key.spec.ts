import { Binary, Decimal128, Long, ObjectId } from 'bson';
import { canonicalKey, valuesAtPath } from './index-key';

describe('canonicalKey', () => {
  it('equates numbers of equal value across BSON numeric types', () => {
    expect(canonicalKey(5)).toBe(canonicalKey(Long.fromNumber(5)));
    expect(canonicalKey(0)).toBe(canonicalKey(-0));
  });

  it('keys Decimal128 and large numbers by their exact value', () => {
    const decimal = (text: string) => canonicalKey(Decimal128.fromString(text));
    expect(decimal('0.1')).not.toBe(decimal('0.1000000000000000000001'));
    expect(decimal('0.1')).not.toBe(canonicalKey(0.1)); // the double is not exactly 0.1
    expect(decimal('0.10')).toBe(decimal('0.1'));
    expect(decimal('1.50')).toBe(canonicalKey(1.5));
    expect(decimal('1E+3')).toBe(canonicalKey(1000));
    expect(decimal('-0')).toBe(canonicalKey(0));
    expect(decimal('9007199254740993')).toBe(canonicalKey(Long.fromString('9007199254740993')));
    expect(decimal('9007199254740993')).not.toBe(canonicalKey(9007199254740992));
    expect(canonicalKey(2 ** 62)).toBe(canonicalKey(Long.fromString('4611686018427387904')));
    expect(decimal('NaN')).toBe(canonicalKey(NaN));
  });

  it('compares dates and ObjectIds by value, null and missing alike', () => {
    const id = new ObjectId();
    expect(canonicalKey(new ObjectId(id.toHexString()))).toBe(canonicalKey(id));
    expect(canonicalKey(new Date(5))).toBe(canonicalKey(new Date(5)));
    expect(canonicalKey(null)).toBe(canonicalKey(undefined));
  });

  it('keeps distinct values apart', () => {
    expect(canonicalKey('5')).not.toBe(canonicalKey(5));
    expect(canonicalKey(['a', 'b'])).not.toBe(canonicalKey(['ab']));
    expect(canonicalKey({ a: 1, b: 2 })).not.toBe(canonicalKey({ b: 2, a: 1 }));
    const bytes = Buffer.from('0123456789abcdef');
    expect(canonicalKey(new Binary(bytes, 0))).not.toBe(canonicalKey(new Binary(bytes, 4)));
  });
});

describe('valuesAtPath', () => {
  it('descends through arrays like a multikey index', () => {
    expect(valuesAtPath({ a: [{ b: 1 }, { b: [2, 3] }, {}] }, 'a.b')).toEqual([1, 2, 3, undefined]);
    expect(valuesAtPath({}, 'x.y')).toEqual([undefined]);
  });
});

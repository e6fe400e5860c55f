import { Long, ObjectId } from 'bson';
import { canonicalKey, valuesAtPath } from './index-key';

describe('canonicalKey', () => {
  it('equates numbers of equal value across BSON numeric types', () => {
    expect(canonicalKey(5)).toBe(canonicalKey(Long.fromNumber(5)));
    expect(canonicalKey(0)).toBe(canonicalKey(-0));
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
  });
});

describe('valuesAtPath', () => {
  it('descends through arrays like a multikey index', () => {
    expect(valuesAtPath({ a: [{ b: 1 }, { b: [2, 3] }, {}] }, 'a.b')).toEqual([1, 2, 3, undefined]);
    expect(valuesAtPath({}, 'x.y')).toEqual([undefined]);
  });
});

import { compareFieldNames, comparePaths, updatedPaths, withUpdateFieldOrder } from './field-order';

const sorted = (names: string[], compare: (a: string, b: string) => number) =>
  [...names].sort(compare);

describe('compareFieldNames', () => {
  it('orders names by UTF-8 bytes, and names starting with a digit (no leading zero) shorter first', () => {
    expect(sorted(['b', 'B', 'a', '_id', 'ab'], compareFieldNames)).toEqual([
      'B',
      '_id',
      'a',
      'ab',
      'b',
    ]);
    expect(sorted(['10', '9', '100', '0'], compareFieldNames)).toEqual(['0', '9', '10', '100']);
    expect(sorted(['10a', '9a', '09a', 'b'], compareFieldNames)).toEqual(['09a', '9a', '10a', 'b']);
    // A leading zero makes both compare as strings (the documentDB report of MongoDB's output).
    expect(sorted(['01', '0001', '001', '1', '02', '002', '2'], compareFieldNames)).toEqual([
      '0001',
      '001',
      '002',
      '01',
      '02',
      '1',
      '2',
    ]);
    // Code points, not UTF-16 units: U+1F600 is above U+FF61.
    expect(sorted(['\u{1F600}', '\uFF61'], compareFieldNames)).toEqual(['\uFF61', '\u{1F600}']);
  });
});

describe('comparePaths', () => {
  it('compares segment by segment, a parent before its children', () => {
    expect(sorted(['x-y', 'x.b', 'x', 'x.a.q', 'x.a', 'w'], comparePaths)).toEqual([
      'w',
      'x',
      'x.a',
      'x.a.q',
      'x.b',
      'x-y',
    ]);
    expect(sorted(['a.10', 'a.9', 'a.b'], comparePaths)).toEqual(['a.9', 'a.10', 'a.b']);
  });
});

describe('withUpdateFieldOrder', () => {
  const keys = (value: unknown): unknown =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.entries(value).map(([name, inner]) => {
          const nested = keys(inner);
          return nested === undefined ? name : { [name]: nested };
        })
      : undefined;

  it('keeps the fields a level had in their order and appends the new ones in update order', () => {
    const original = { _id: 1, z: 0, y: { q: 1 }, old: 1 };
    // As an updater might leave it: new fields in any order, a renamed field re-added at the end.
    const updated = { _id: 1, z: 0, y: { q: 1, b: 1, a: 1 }, e: { d: 1, c: 1 }, b: 1, a: 1 };
    const paths = updatedPaths({
      $set: { 'y.b': 1, 'y.a': 1, e: { d: 1, c: 1 }, b: 1 },
      $rename: { old: 'a' },
    });
    expect(paths).toEqual(['y.b', 'y.a', 'e', 'b', 'old', 'a']);
    expect(keys(withUpdateFieldOrder(original, updated, paths))).toEqual([
      '_id',
      'z',
      { y: ['q', 'a', 'b'] },
      'a',
      'b',
      { e: ['d', 'c'] }, // a value set whole keeps its own order
    ]);
  });

  it('orders the fields created inside array elements, by index or for every element', () => {
    const original = { _id: 1, list: [{ k: 1 }, { k: 2 }] };
    const updated = () => ({
      _id: 1,
      list: [
        { k: 1, b: 1, a: 1 },
        { k: 2, b: 1, a: 1 },
      ],
    });
    const byIndex = withUpdateFieldOrder(original, updated(), ['list.0.b', 'list.0.a']);
    expect(byIndex.list.map(Object.keys)).toEqual([
      ['k', 'a', 'b'],
      ['k', 'b', 'a'], // not on the paths
    ]);
    const every = withUpdateFieldOrder(original, updated(), ['list.$[].b', 'list.$[].a']);
    expect(every.list.map(Object.keys)).toEqual([
      ['k', 'a', 'b'],
      ['k', 'a', 'b'],
    ]);
  });

  it('returns the same objects when their order is already right', () => {
    const original = { _id: 1, a: { x: 1 } };
    const updated = { _id: 1, a: { x: 1, y: 1 }, b: 1 };
    const result = withUpdateFieldOrder(original, updated, ['a.y', 'b']);
    expect(result).toBe(updated);
    expect(result.a).toBe(updated.a);
  });
});

import { groupBy } from './group-by';

describe('groupBy', () => {
  it('keeps groups in first-seen order and items in input order', () => {
    const groups = groupBy(['b1', 'a1', 'b2', 'c1', 'a2'], (s) => s[0]);
    expect([...groups]).toEqual([
      ['b', ['b1', 'b2']],
      ['a', ['a1', 'a2']],
      ['c', ['c1']],
    ]);
    expect(groupBy([], String).size).toBe(0);
  });
});

import { keyIntervals } from './planner';

describe('keyIntervals', () => {
  const fields = ['org', 'at', '_id'];
  const at = new Date(Date.UTC(2026, 0, 1));

  it('reads the keyset cursor as two exact intervals: before the time, and at it before the id', () => {
    const intervals = keyIntervals(
      { org: 'a', $and: [{ $or: [{ at: { $lt: at } }, { at, _id: { $lt: 'm5' } }] }] },
      fields,
    );
    expect(intervals).toMatchObject([
      { pinned: ['a'], range: { upper: { value: at, inclusive: false } }, exact: true },
      { pinned: ['a', at], range: { upper: { value: 'm5', inclusive: false } }, exact: true },
    ]);
  });

  it('is inexact when a condition lies outside the key or its bounds', () => {
    expect(keyIntervals({ org: 'a', chat: 'c', at: { $lt: at } }, fields)).toMatchObject([
      { pinned: ['a'], exact: false },
    ]);
    // A branch bounded only by the conditions beside the $or: the whole prefix.
    expect(keyIntervals({ org: 'a', $or: [{ at: { $lt: at } }, { chat: 'c' }] }, fields)).toEqual([
      { pinned: ['a'], range: expect.anything(), exact: true },
      { pinned: ['a'], range: undefined, exact: false },
    ]);
    // Number ranges leave NaN to the filter; a pinned array or document is no single key.
    expect(keyIntervals({ org: 'a', at: { $gt: 5 } }, fields)).toMatchObject([{ exact: false }]);
    expect(keyIntervals({ org: { k: 1 }, at: { $lt: at } }, fields)).toBeUndefined();
    expect(keyIntervals({ org: 'a', at: { $lt: at, $ne: null } }, fields)).toMatchObject([
      { pinned: ['a'], exact: false },
    ]);
  });

  it('leaves filters that bound no leading field to other plans', () => {
    expect(keyIntervals({ at: at }, fields)).toBeUndefined();
    expect(keyIntervals({ $or: [{ org: 'a' }, { chat: 'c' }] }, fields)).toBeUndefined();
  });
});

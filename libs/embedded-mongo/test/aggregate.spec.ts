import type { Document } from 'mongodb';
import { startTarget, type TestTarget } from './harness';

describe('aggregation', () => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await startTarget();
    await target.db.collection('orders').insertMany([
      { _id: 1, customer: 'ann', total: 10, items: ['a', 'b'] },
      { _id: 2, customer: 'bob', total: 25, items: ['a'] },
      { _id: 3, customer: 'ann', total: 5, items: [] },
    ] as Document[]);
    await target.db.collection('customers').insertMany([
      { _id: 'ann', city: 'Oslo' },
      { _id: 'bob', city: 'Rome' },
    ] as Document[]);
  });
  afterAll(() => target.close());

  it('groups, sorts and projects', async () => {
    const result = await target.db
      .collection('orders')
      .aggregate([
        { $group: { _id: '$customer', sum: { $sum: '$total' }, n: { $sum: 1 } } },
        { $sort: { sum: -1 } },
        { $project: { _id: 0, who: '$_id', sum: 1, n: 1 } },
      ])
      .toArray();
    expect(result).toEqual([
      { who: 'bob', sum: 25, n: 1 },
      { who: 'ann', sum: 15, n: 2 },
    ]);
  });

  it('joins another collection with $lookup', async () => {
    const result = await target.db
      .collection('orders')
      .aggregate([
        { $match: { _id: 2 } },
        { $lookup: { from: 'customers', localField: 'customer', foreignField: '_id', as: 'who' } },
        { $unwind: '$who' },
        { $project: { city: '$who.city' } },
      ])
      .toArray();
    expect(result).toEqual([{ _id: 2, city: 'Rome' }]);
  });

  it('does not let $set stages touch stored documents', async () => {
    const orders = target.db.collection('orders');
    await orders.aggregate([{ $set: { total: 0, 'extra.x': 1 } }]).toArray();
    expect(await orders.findOne({ _id: 1 } as Document)).toMatchObject({ total: 10 });
    expect((await orders.findOne({ _id: 1 } as Document))?.extra).toBeUndefined();
  });

  it('counts with countDocuments (an aggregate) and unwinds arrays', async () => {
    expect(await target.db.collection('orders').countDocuments({ customer: 'ann' })).toBe(2);
    const items = await target.db
      .collection('orders')
      .aggregate([{ $unwind: '$items' }, { $sortByCount: '$items' }])
      .toArray();
    expect(items).toEqual([
      { _id: 'a', count: 2 },
      { _id: 'b', count: 1 },
    ]);
  });

  it('writes results with $out and $merge', async () => {
    await target.db
      .collection('orders')
      .aggregate([{ $group: { _id: '$customer', total: { $sum: '$total' } } }, { $out: 'totals' }])
      .toArray();
    expect(await target.db.collection('totals').find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'ann', total: 15 },
      { _id: 'bob', total: 25 },
    ]);
    await target.db
      .collection('customers')
      .aggregate([
        { $project: { city: 1 } },
        { $merge: { into: 'totals', whenMatched: 'merge', whenNotMatched: 'discard' } },
      ])
      .toArray();
    expect(await target.db.collection('totals').findOne({ _id: 'ann' } as Document)).toEqual({
      _id: 'ann',
      total: 15,
      city: 'Oslo',
    });
  });

  it('supports $facet and $bucket', async () => {
    const [facets] = await target.db
      .collection('orders')
      .aggregate([
        {
          $facet: {
            big: [{ $match: { total: { $gt: 8 } } }, { $count: 'n' }],
            buckets: [{ $bucket: { groupBy: '$total', boundaries: [0, 10, 100] } }],
          },
        },
      ])
      .toArray();
    expect(facets.big).toEqual([{ n: 2 }]);
    expect(facets.buckets).toEqual([
      { _id: 0, count: 1 },
      { _id: 10, count: 2 },
    ]);
  });

  it('counts nothing with $count as no document, also inside $facet', async () => {
    const orders = target.db.collection('orders');
    const none = { $match: { total: { $gt: 1_000 } } };
    expect(await orders.aggregate([none, { $count: 'n' }]).toArray()).toEqual([]);
    expect(
      await orders.aggregate([{ $match: { customer: 'ann' } }, { $count: 'n' }]).toArray(),
    ).toEqual([{ n: 2 }]);
    const [facets] = await orders
      .aggregate([{ $facet: { none: [none, { $count: 'n' }] } }])
      .toArray();
    expect(facets).toEqual({ none: [] });
  });

  it('matches later $match stages as a leading one: $type on arrays, the collation', async () => {
    const orders = target.db.collection('orders');
    const later = (match: Document) => [
      { $set: { seen: true } },
      { $match: match },
      { $project: { _id: 1 } },
    ];
    expect(await orders.aggregate(later({ items: { $type: 'string' } })).toArray()).toEqual([
      { _id: 1 },
      { _id: 2 },
    ]);
    const ci = { collation: { locale: 'en', strength: 2 } };
    expect(await orders.aggregate(later({ customer: 'ANN' }), ci).toArray()).toEqual([
      { _id: 1 },
      { _id: 3 },
    ]);
  });
});

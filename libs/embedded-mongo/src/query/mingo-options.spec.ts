import { ObjectId } from 'bson';
import { Query } from 'mingo/query';
import { compileFilter, compileMatcher } from './mingo-options';

describe('compileMatcher', () => {
  const id = new ObjectId();
  const docs = [
    { _id: 1, org: 'a', status: 'sent', n: 2, at: new Date(5), ref: id },
    { _id: 2, org: 'a', status: 'pending', n: 2.0, at: new Date(6) },
    { _id: 3, org: 'b', status: ['sent', 'read'] },
    { _id: 4, status: 'sent' },
  ];
  const same = (filter: object) =>
    expect(docs.filter((d) => compileMatcher(filter).test(d)).map((d) => d._id)).toEqual(
      docs.filter((d) => compileFilter(filter).test(d)).map((d) => d._id),
    );

  it('agrees with mingo on top-level scalar equality, including arrays and missing fields', () => {
    same({ org: 'a' });
    same({ org: 'a', status: 'sent' });
    same({ status: 'sent' }); // doc 3 matches through its array
    same({ n: 2 });
    same({ at: new Date(5) });
    same({ ref: new ObjectId(id.toHexString()) });
    same({ org: 'zzz' });
    same({});
  });

  it('agrees with mingo on $in lists of scalars, including arrays, mixed numbers and missing fields', () => {
    same({ status: { $in: ['sent', 'read'] } }); // doc 3 through its array
    same({ org: { $in: ['a', 'zzz'] }, n: { $in: [2, 3] } });
    same({ _id: { $in: [1, 3, 9] } });
    same({ org: { $in: [] } });
    same({ ref: { $in: [new ObjectId(id.toHexString())] } });
    same({ org: { $in: ['a', null] } }); // null also matches a missing field: mingo
    same({ org: { $in: ['a'], $ne: 'b' } }); // more than $in: mingo
  });

  it('hands operators, dotted paths and nulls to mingo', () => {
    same({ n: { $gte: 2 } });
    same({ 'x.y': 1 });
    same({ org: null });
    same({ $or: [{ org: 'b' }, { n: 2 }] });
    same({ 'x.y': { $exists: true } });
  });

  it('agrees with mingo on top-level $exists (partial indexes), arrays and nulls included', () => {
    const held = [...docs, { _id: 5, org: null, ref: [] }];
    for (const filter of [
      { ref: { $exists: true } },
      { ref: { $exists: false } },
      { org: { $exists: true } },
      { status: { $exists: true }, org: 'a' },
      { org: { $exists: false }, status: 'sent' },
    ])
      expect(held.filter((d) => compileMatcher(filter).test(d)).map((d) => d._id)).toEqual(
        held.filter((d) => compileFilter(filter).test(d)).map((d) => d._id),
      );
    // Answered without building a mingo Query.
    expect(compileMatcher({ waMessageId: { $exists: true } })).not.toBeInstanceOf(Query);
  });
});

describe('compileFilter', () => {
  const docs = [
    { _id: 1, a: 5, b: 3, tags: [{ k: 'x', v: 1 }], name: 'Mona' },
    { _id: 2, a: 1, b: 3, tags: [{ k: 'y', v: 2 }], name: 'Ali' },
  ];
  const ids = (filter: object, projection?: object) =>
    compileFilter(filter, {}, projection)
      .find(docs, projection)
      .all()
      .map((d) => (d as { _id: number })._id);

  it('evaluates query operators with the small context, and $expr (also nested) with the full one', () => {
    expect(
      ids({ tags: { $elemMatch: { k: 'x' } }, name: { $regex: '^mo', $options: 'i' } }),
    ).toEqual([1]);
    expect(ids({ $expr: { $gt: ['$a', '$b'] } })).toEqual([1]);
    expect(ids({ $or: [{ $expr: { $lt: ['$a', '$b'] } }] })).toEqual([2]);
  });

  it('computes projections that need expression operators', () => {
    expect(
      compileFilter({}, {}, { sum: { $add: ['$a', '$b'] } })
        .find(docs, { sum: { $add: ['$a', '$b'] } })
        .all(),
    ).toEqual([
      { _id: 1, sum: 8 },
      { _id: 2, sum: 4 },
    ]);
  });
});

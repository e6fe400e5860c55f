import { ObjectId } from 'bson';
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

  it('hands operators, dotted paths and nulls to mingo', () => {
    same({ n: { $gte: 2 } });
    same({ 'x.y': 1 });
    same({ org: null });
    same({ $or: [{ org: 'b' }, { n: 2 }] });
  });
});

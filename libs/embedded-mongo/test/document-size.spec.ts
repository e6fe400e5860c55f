import type { Collection, Document } from 'mongodb';
import { startTarget, type TestTarget } from './harness';

const MB = 1024 * 1024;

describe('the 16 MiB document limit', () => {
  let target: TestTarget;
  let counter = 0;
  const fresh = (): Collection<Document> => target.db.collection(`size_${counter++}`);

  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(() => target.close());

  // The driver cannot even encode a command over 17 MiB: the oversized documents stay below that.
  it('refuses an insert over the limit and stores nothing', async () => {
    const coll = fresh();
    await expect(
      coll.insertOne({ _id: 1, a: 'y'.repeat(16 * MB) } as Document),
    ).rejects.toMatchObject({
      code: 2,
      message: expect.stringContaining('object to insert too large'),
    });
    expect(await coll.countDocuments()).toBe(0);
  });

  it('refuses an update or an upsert whose result is over the limit and leaves the document', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, a: 'y'.repeat(10 * MB) } as Document);
    await expect(
      coll.updateOne({ _id: 1 } as Document, { $set: { b: 'y'.repeat(7 * MB) } }),
    ).rejects.toMatchObject({
      code: 17419,
      message: 'Resulting document after update is larger than 16777216',
    });
    await expect(
      coll.updateOne(
        { _id: 2 } as Document,
        { $set: { a: 'y'.repeat(8 * MB), b: 'y'.repeat(8 * MB) } },
        { upsert: true },
      ),
    ).rejects.toMatchObject({ code: 17420 });
    const stored = await coll.find().toArray();
    expect(stored.map((d) => [d._id, d.a.length, d.b])).toEqual([[1, 10 * MB, undefined]]);
  });

  it('answers an aggregation result over the limit with an error, and keeps serving', async () => {
    const coll = fresh();
    const chunk = 'z'.repeat(MB);
    for (let i = 0; i < 20; i++) await coll.insertOne({ i, s: chunk });
    await expect(
      coll.aggregate([{ $group: { _id: null, all: { $push: '$s' } } }]).toArray(),
    ).rejects.toMatchObject({ code: 10334 });
    // Twenty 1 MiB documents leave in batches that each fit a reply.
    const all = await coll.find({}, { projection: { _id: 0, i: 1, s: 1 } }).toArray();
    expect(all.map((d) => d.i)).toEqual([...Array(20).keys()]);
  });
});

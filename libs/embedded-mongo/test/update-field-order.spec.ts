import type { Collection, Document } from 'mongodb';
import { fieldLayout } from './field-layout';
import { startTarget, type TestTarget } from './harness';

/*
 * Where updates put the fields they create, read off the stored bytes. MongoDB (5.0+) applies the
 * fields an update names in lexicographic order of their names (a name starting with a digit and
 * no leading zero: shorter first, so numeric order), all operators together, and appends each
 * field it creates to its parent; existing fields keep their place. An upsert starts from the
 * filter's equality fields (in order of their paths), `_id` first.
 * https://www.mongodb.com/docs/manual/reference/operator/update/#behavior
 */
describe('field order of documents written by updates', () => {
  let target: TestTarget;
  let counter = 0;
  const fresh = (): Collection<Document> => target.db.collection(`order_${counter++}`);
  const layout = async (coll: Collection<Document>, filter: Document = {}) =>
    fieldLayout((await coll.findOne(filter, { raw: true })) as unknown as Uint8Array);

  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(() => target.close());

  it('stores an inserted document with its _id moved first, its other fields as given', async () => {
    const coll = fresh();
    await coll.insertOne({ b: 1, _id: 1, a: 1 } as Document);
    await coll.insertMany([{ b: 1, _id: 2, a: 1 } as Document]);
    expect(await layout(coll, { _id: 1 })).toBe('_id,b,a');
    expect(await layout(coll, { _id: 2 })).toBe('_id,b,a');
  });

  it('appends the fields a $set creates in name order, leaving existing fields in place', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, z: 0, c: 0 } as Document);
    await coll.updateOne({ _id: 1 } as Document, { $set: { b: 1, a: 1, c: 1, d: 1 } });
    expect(await layout(coll)).toBe('_id,z,c,a,b,d');
  });

  it('orders the fields of every operator together: $set, $inc, $max, $min, $push, $pull, $unset', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, z: 0, gone: 1, list: [1] } as Document);
    await coll.updateOne(
      { _id: 1 } as Document,
      {
        $push: { g: 1 },
        $set: { d: 1, b: 1 },
        $unset: { gone: '' },
        $min: { e: 1 },
        $pull: { list: 1 },
        $inc: { c: 1, a: 1 },
        $max: { f: 1 },
      } as Document,
    );
    expect(await layout(coll)).toBe('_id,z,list[],a,b,c,d,e,f,g[0]');
  });

  it('orders the fields of updates the general updater applies ($currentDate, $addToSet, $mul, $rename)', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, z: 0, old: 1 } as Document);
    await coll.updateOne({ _id: 1 } as Document, {
      $currentDate: { e: true },
      $set: { d: 1 },
      $addToSet: { c: 1 },
      $mul: { b: 2 },
      $rename: { old: 'a' },
    });
    expect(await layout(coll)).toBe('_id,z,a,b,c[0],d,e');
  });

  it('renames into an existing field in place, into a new one in name order', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, a: 1, b: 0, z: 0 } as Document);
    await coll.updateOne({ _id: 1 } as Document, { $rename: { a: 'z' }, $set: { y: 1 } });
    expect(await layout(coll)).toBe('_id,b,z,y');
    await coll.updateOne({ _id: 1 } as Document, { $rename: { b: 'x' }, $set: { w: 1 } });
    expect(await layout(coll)).toBe('_id,z,y,w,x');
  });

  it('puts a field unset and set again at the end', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, a: 1, b: 1 } as Document);
    await coll.updateOne({ _id: 1 } as Document, { $unset: { a: '' } });
    await coll.updateOne({ _id: 1 } as Document, { $set: { a: 2 } });
    expect(await layout(coll)).toBe('_id,b,a');
  });

  it('creates embedded documents in name order, level by level', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, y: { z: 0 } } as Document);
    await coll.updateOne({ _id: 1 } as Document, {
      $set: { 'x-y': 1, 'x.b': 1, 'y.b': 1, 'x.a.q': 1, 'x.a.p': 1, 'y.a': 1, w: 1 },
    });
    // 'x' sorts before 'x-y' by name, though 'x-y' < 'x.a' as whole paths
    expect(await layout(coll)).toBe('_id,y{z,a,b},w,x{a{p,q},b},x-y');
  });

  it('creates embedded documents in name order on the general updater too', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, v: { z: 0 } } as Document);
    await coll.updateOne({ _id: 1 } as Document, {
      $currentDate: { 'x.b': true, 'v.b': true },
      $set: { 'x.a': 1 },
      $mul: { 'w.b': 1, 'w.a': 1, 'v.a': 1 },
    });
    expect(await layout(coll)).toBe('_id,v{z,a,b},w{a,b},x{a,b}');
  });

  it('orders the fields created in array elements through positional paths', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, list: [{ k: 1 }, { k: 2 }] } as Document);
    await coll.updateOne({ _id: 1, 'list.k': 2 } as Document, {
      $set: { 'list.$.b': 1, 'list.$.a': 1 },
    });
    await coll.updateOne({ _id: 1 } as Document, {
      $currentDate: { 'list.$[].d': true },
      $set: { 'list.$[].c': 1 },
    });
    expect(await layout(coll)).toBe('_id,list[0{k,c,d},1{k,a,b,c,d}]');
  });

  it('orders names that start with a digit by length first, as MongoDB orders numeric names', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1 } as Document);
    await coll.updateOne({ _id: 1 } as Document, { $set: { '10a': 1, '9a': 1, '09a': 1, b: 1 } });
    expect(await layout(coll)).toBe('_id,09a,9a,10a,b');
  });

  it('keeps the fields of a value as given', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1 } as Document);
    await coll.updateOne({ _id: 1 } as Document, { $set: { v: { b: 1, a: 1 } } });
    expect(await layout(coll)).toBe('_id,v{b,a}');
  });

  it('appends the fields of a pipeline update in the order of its stage, as $addFields does', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, z: 0 } as Document);
    await coll.updateOne({ _id: 1 } as Document, [{ $set: { b: 1, a: 1, z: 1 } }]);
    expect(await layout(coll)).toBe('_id,z,b,a');
  });

  it("builds an upsert's document from the filter's equality fields in path order, then the update's fields, $setOnInsert among them", async () => {
    const coll = fresh();
    await coll.updateOne(
      { y: 3, _id: 1, x: 2 } as Document,
      {
        $set: { b: 2, d: 4 },
        $inc: { a: 1 },
        $push: { e: 5 },
        $setOnInsert: { c: 3 },
      } as Document,
      { upsert: true },
    );
    expect(await layout(coll)).toBe('_id,x,y,a,b,c,d,e[0]');
    await coll.updateOne(
      { $and: [{ 'q.b': 1 }, { 'q.a': 1 }], p: { $eq: 1 }, o: { $gt: 1 } },
      { $set: { 'q.c': 1, n: 1 }, $setOnInsert: { m: 1 } },
      { upsert: true },
    );
    expect(await layout(coll, { p: 1 })).toBe('_id,p,q{a,b,c},m,n');
  });

  it('orders the upsert of an update the general updater applies', async () => {
    const coll = fresh();
    await coll.updateOne(
      { k: 1 },
      {
        $addToSet: { d: 1 },
        $setOnInsert: { e: 1, c: 1 },
        $set: { a: 1 },
        $currentDate: { b: true },
      },
      { upsert: true },
    );
    expect(await layout(coll)).toBe('_id,k,a,b,c,d[0],e');
  });

  it('keeps the fields of a replacement as given, _id first, an upsert seeded by _id alone', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, a: 0 } as Document);
    await coll.replaceOne({ _id: 1 } as Document, { b: 1, _id: 1, a: 1 });
    expect(await layout(coll)).toBe('_id,b,a');
    await coll.replaceOne({ k: 1, _id: 2 } as Document, { b: 1, a: 1 }, { upsert: true });
    expect(await layout(coll, { _id: 2 })).toBe('_id,b,a');
  });

  it('orders the document findAndModify upserts, and returns it in that order', async () => {
    const coll = fresh();
    const returned = await coll.findOneAndUpdate(
      { k: 1 },
      { $set: { b: 1 }, $setOnInsert: { a: 1 } },
      { upsert: true, returnDocument: 'after', raw: true },
    );
    expect(fieldLayout(returned as unknown as Uint8Array)).toBe('_id,k,a,b');
    expect(await layout(coll)).toBe('_id,k,a,b');
    const updated = await coll.findOneAndUpdate(
      { k: 1 },
      { $inc: { d: 1 }, $set: { c: 1 } },
      { returnDocument: 'after', raw: true },
    );
    expect(fieldLayout(updated as unknown as Uint8Array)).toBe('_id,k,a,b,c,d');
  });
});

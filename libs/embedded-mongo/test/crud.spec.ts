import {
  Binary,
  Decimal128,
  Double,
  Long,
  ObjectId,
  Timestamp,
  type Collection,
  type Document,
} from 'mongodb';
import { startTarget, type TestTarget } from './harness';

describe('CRUD through the official driver', () => {
  let target: TestTarget;
  let counter = 0;
  const fresh = (): Collection<Document> => target.db.collection(`crud_${counter++}`);

  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(() => target.close());

  it('inserts with generated ObjectIds and reads back', async () => {
    const coll = fresh();
    const { insertedId } = await coll.insertOne({ name: 'ada', age: 36 });
    expect(insertedId).toBeInstanceOf(ObjectId);
    const many = await coll.insertMany([
      { name: 'bob', age: 20 },
      { name: 'cy', age: 50 },
    ]);
    expect(many.insertedCount).toBe(2);
    expect(await coll.findOne({ _id: insertedId })).toEqual({
      _id: insertedId,
      name: 'ada',
      age: 36,
    });
    expect(await coll.countDocuments({ age: { $gte: 30 } })).toBe(2);
    expect(await coll.estimatedDocumentCount()).toBe(3);
  });

  it('finds with projection, sort, skip and limit', async () => {
    const coll = fresh();
    await coll.insertMany(
      [5, 3, 9, 1, 7].map((n) => ({ n, tag: n % 2 ? 'odd' : 'even', extra: 'x' })),
    );
    const docs = await coll
      .find({ tag: 'odd' }, { projection: { _id: 0, n: 1 } })
      .sort({ n: -1 })
      .skip(1)
      .limit(2)
      .toArray();
    expect(docs).toEqual([{ n: 7 }, { n: 5 }]);
  });

  it('serves sorted pages that are slices of the whole sorted result, and counts alike', async () => {
    const coll = fresh();
    await coll.createIndex({ org: 1, at: -1 });
    const start = Date.UTC(2026, 0, 1);
    await coll.insertMany(
      Array.from({ length: 300 }, (_, i) => ({
        org: i % 3 ? 'a' : 'b',
        at: new Date(start + ((i * 7919) % 300) * 1000), // unique, shuffled
        n: i % 2 ? i : String(i), // numbers sort before strings
        text: `message ${i}`,
      })),
    );
    for (const [filter, sort] of [
      [{ org: 'a' }, { at: -1 }],
      [{ org: 'a', text: { $regex: '1' } }, { at: 1 }],
      [{}, { n: 1 }],
      [{ org: 'b' }, { n: -1 }],
    ] as Array<[Document, Record<string, 1 | -1>]>) {
      const all = await coll.find(filter).sort(sort).toArray();
      for (const [skip, limit] of [
        [0, 20],
        [15, 10],
        [all.length - 5, 20],
      ])
        expect(await coll.find(filter).sort(sort).skip(skip).limit(limit).toArray()).toEqual(
          all.slice(skip, skip + limit),
        );
      expect(await coll.countDocuments(filter)).toBe(all.length);
      const projected = await coll
        .find(filter, { projection: { _id: 0, at: 1 } })
        .sort(sort)
        .limit(5)
        .toArray();
      expect(projected).toEqual(all.slice(0, 5).map((d) => ({ at: d.at })));
    }
    expect(await coll.countDocuments({ org: 'none' })).toBe(0);
    expect(await coll.countDocuments({ org: 'a' }, { skip: 10, limit: 50 })).toBe(50);
  });

  it('iterates cursors across several batches', async () => {
    const coll = fresh();
    await coll.insertMany(Array.from({ length: 350 }, (_, i) => ({ i })));
    const seen = await coll.find({}, { batchSize: 100 }).sort({ i: 1 }).toArray();
    expect(seen.map((d) => d.i)).toEqual(Array.from({ length: 350 }, (_, i) => i));
    const aggregated = await coll
      .aggregate([{ $match: { i: { $lt: 250 } } }], { batchSize: 100 })
      .toArray();
    expect(aggregated).toHaveLength(250);
  });

  it('kills cursors and reports unknown ones', async () => {
    const coll = fresh();
    await coll.insertMany(Array.from({ length: 20 }, (_, i) => ({ i })));
    const cursor = coll.find({}, { batchSize: 5 });
    await cursor.next();
    await cursor.close();
    await expect(
      target.db.command({ getMore: Long.fromNumber(123456789), collection: coll.collectionName }),
    ).rejects.toMatchObject({ code: 43 });
  });

  it('updates with operators, multi and arrayFilters', async () => {
    const coll = fresh();
    await coll.insertMany([
      { k: 1, n: 1, arr: [1, 5, 9] },
      { k: 1, n: 2, arr: [2] },
      { k: 2, n: 3, arr: [] },
    ]);
    const one = await coll.updateOne({ k: 1 }, {
      $inc: { n: 10 },
      $push: { arr: 100 },
    } as Document);
    expect(one).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    const many = await coll.updateMany({ k: 1 }, { $set: { seen: true } });
    expect(many).toMatchObject({ matchedCount: 2, modifiedCount: 2 });
    await coll.updateOne(
      { n: 11 },
      { $set: { 'arr.$[big]': 0 } },
      { arrayFilters: [{ big: { $gte: 5 } }] },
    );
    expect((await coll.findOne({ n: 11 }))?.arr).toEqual([1, 0, 0, 0]);
    const unchanged = await coll.updateOne({ k: 2 }, { $set: { n: 3 } });
    expect(unchanged).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
  });

  it('applies the positional $ operator and pipeline updates', async () => {
    const coll = fresh();
    await coll.insertOne({
      _id: 1,
      items: [
        { sku: 'a', qty: 1 },
        { sku: 'b', qty: 2 },
      ],
      price: 10,
    } as Document);
    await coll.updateOne({ 'items.sku': 'b' }, { $inc: { 'items.$.qty': 5 } });
    await coll.updateOne({ _id: 1 } as Document, [
      { $set: { total: { $multiply: ['$price', 2] } } },
    ]);
    expect(await coll.findOne({ _id: 1 } as Document)).toEqual({
      _id: 1,
      items: [
        { sku: 'a', qty: 1 },
        { sku: 'b', qty: 7 },
      ],
      price: 10,
      total: 20,
    });
  });

  it('updates several fields through one positional segment ($, $[], $[id]), matched before the update', async () => {
    const coll = fresh();
    const items = () => [
      { sku: 'a', qty: 1 },
      { sku: 'b', qty: 2 },
      { sku: 'c', qty: 2 },
    ];
    await coll.insertOne({ _id: 1, items: items() } as Document);
    // The matched field itself changes too: MongoDB matched the element once, before the update.
    await coll.updateOne({ _id: 1, 'items.sku': 'b' } as Document, {
      $set: { 'items.$.sku': 'B', 'items.$.note': 'x' },
      $inc: { 'items.$.qty': 5 },
    });
    expect((await coll.findOne({ _id: 1 } as Document))?.items).toEqual([
      { sku: 'a', qty: 1 },
      { sku: 'B', qty: 7, note: 'x' },
      { sku: 'c', qty: 2 },
    ]);
    await coll.updateOne({ _id: 1 } as Document, {
      $set: { 'items.$[].seen': true },
      $inc: { 'items.$[].qty': 1 },
    });
    expect((await coll.findOne({ _id: 1 } as Document))?.items).toEqual([
      { sku: 'a', qty: 2, seen: true },
      { sku: 'B', qty: 8, note: 'x', seen: true },
      { sku: 'c', qty: 3, seen: true },
    ]);
    await coll.replaceOne({ _id: 1 } as Document, { items: items() });
    await coll.updateOne(
      { _id: 1 } as Document,
      { $set: { 'items.$[low].qty': 9, 'items.$[low].low': true } },
      { arrayFilters: [{ 'low.qty': { $lt: 2 } }] },
    );
    expect((await coll.findOne({ _id: 1 } as Document))?.items).toEqual([
      { sku: 'a', qty: 9, low: true },
      { sku: 'b', qty: 2 },
      { sku: 'c', qty: 2 },
    ]);
    const none = await coll.updateOne(
      { _id: 1 } as Document,
      { $set: { 'items.$[big].qty': 0, 'items.$[big].big': true } },
      { arrayFilters: [{ 'big.qty': { $gt: 100 } }] },
    );
    expect(none).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
  });

  it('refuses an array update ($[], $[id]) through a path that is missing or not an array', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, a: 2, o: {}, list: [{ k: 1 }] } as Document);
    const one = { _id: 1 } as Document;
    await expect(coll.updateOne(one, { $set: { 'o.items.$[].k': 1 } })).rejects.toMatchObject({
      code: 2,
      message: "The path 'o.items' must exist in the document in order to apply array updates.",
    });
    await expect(
      coll.updateOne(one, { $unset: { 'gone.$[x].k': '' } }, { arrayFilters: [{ 'x.k': 1 }] }),
    ).rejects.toMatchObject({
      code: 2,
      message: expect.stringContaining("The path 'gone' must exist"),
    });
    await expect(coll.updateOne(one, { $inc: { 'a.$[]': 1 } })).rejects.toMatchObject({
      code: 2,
      message: 'Cannot apply array updates to non-array element a: 2',
    });
    await expect(
      coll.updateOne({ k: 1 }, { $set: { 'list.$[].k': 1 } }, { upsert: true }),
    ).rejects.toMatchObject({
      code: 2,
      message: expect.stringContaining("The path 'list' must exist"),
    });
    await coll.updateOne(one, { $set: { 'list.$[].k': 2 } });
    expect(await coll.find().toArray()).toEqual([{ _id: 1, a: 2, o: {}, list: [{ k: 2 }] }]);
  });

  it('upserts with $setOnInsert and equality seed fields', async () => {
    const coll = fresh();
    const first = await coll.updateOne(
      { email: 'a@x', 'profile.tier': { $eq: 'gold' }, age: { $gt: 3 } },
      { $set: { seen: 1 }, $setOnInsert: { createdBy: 'upsert' } },
      { upsert: true },
    );
    expect(first.upsertedCount).toBe(1);
    const inserted = await coll.findOne({ _id: first.upsertedId! });
    expect(inserted).toEqual({
      _id: first.upsertedId,
      email: 'a@x',
      profile: { tier: 'gold' },
      seen: 1,
      createdBy: 'upsert',
    });
    const second = await coll.updateOne(
      { email: 'a@x' },
      { $set: { seen: 2 }, $setOnInsert: { createdBy: 'other' } },
      { upsert: true },
    );
    expect(second).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    expect((await coll.findOne({ email: 'a@x' }))?.createdBy).toBe('upsert');
    const replaced = await coll.replaceOne(
      { _id: 'fixed' } as Document,
      { v: 1 },
      { upsert: true },
    );
    expect(replaced.upsertedId).toBe('fixed');
  });

  it("seeds an upsert from the filter's equalities as MongoDB's canonical query has them: $in of one value, $or of one branch, $eq beside other operators", async () => {
    const coll = fresh();
    const { upsertedId } = await coll.updateOne(
      {
        a: { $in: [5] },
        b: { $gt: 0, $eq: 7 },
        $or: [{ c: 'x' }],
        $and: [{ $and: [{ 'd.e': { $in: [1, 1.0] } }] }],
        many: { $in: [1, 2] },
        regex: { $in: [/x/] },
        either: { $exists: true },
        $nor: [{ n: 1 }],
      },
      { $set: { w: 1 } },
      { upsert: true },
    );
    expect(await coll.findOne({ _id: upsertedId! })).toEqual({
      _id: upsertedId,
      a: 5,
      b: 7,
      c: 'x',
      d: { e: 1 },
      w: 1,
    });
    const twoBranches = await coll.updateOne(
      { $or: [{ f: 1 }, { g: 2 }] },
      { $set: { w: 2 } },
      { upsert: true },
    );
    expect(await coll.findOne({ _id: twoBranches.upsertedId! })).toEqual({
      _id: twoBranches.upsertedId,
      w: 2,
    });
  });

  it('refuses an upsert whose filter pins a path to two values or a path and its parent (54), or whose replacement names another _id (66)', async () => {
    const coll = fresh();
    const upsert = { upsert: true };
    await expect(
      coll.updateOne({ $and: [{ r: 1 }, { r: 2 }] }, { $set: { w: 1 } }, upsert),
    ).rejects.toMatchObject({ code: 54 });
    await expect(
      coll.updateOne({ r: 1, $and: [{ r: { $eq: 2 } }] }, { $set: { w: 1 } }, upsert),
    ).rejects.toMatchObject({ code: 54 });
    await expect(
      coll.updateOne({ s: { t: 1 }, 's.u': 2 }, { $set: { w: 1 } }, upsert),
    ).rejects.toMatchObject({ code: 54 });
    await expect(
      coll.updateOne({ 's.u': 2, s: { t: 1 } }, [{ $set: { w: 1 } }], upsert),
    ).rejects.toMatchObject({ code: 54 });
    // A replacement takes only _id from the filter: its other fields may conflict.
    const replaced = await coll.replaceOne({ $and: [{ r: 1 }, { r: 2 }] }, { v: 1 }, upsert);
    expect(await coll.findOne({ _id: replaced.upsertedId! })).toEqual({
      _id: replaced.upsertedId,
      v: 1,
    });
    await expect(
      coll.replaceOne({ _id: 10 } as Document, { _id: 11, v: 1 }, upsert),
    ).rejects.toMatchObject({ code: 66 });
    expect(await coll.countDocuments()).toBe(1);
  });

  it('sets $currentDate as a Date or, for $type timestamp, a BSON Timestamp of the current second', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, n: 1 } as Document);
    const before = Math.floor(Date.now() / 1000);
    await coll.updateOne(
      { _id: 1 } as Document,
      {
        $currentDate: { at: true, d: { $type: 'date' }, t: { $type: 'timestamp' } },
        $inc: { n: 1 },
      } as Document,
    );
    const updated = await coll.findOne({ _id: 1 } as Document);
    expect(updated?.at).toBeInstanceOf(Date);
    expect(updated?.d).toBeInstanceOf(Date);
    expect(updated?.t).toBeInstanceOf(Timestamp);
    expect((updated?.t as Timestamp).high).toBeGreaterThanOrEqual(before);
    expect((updated?.t as Timestamp).high).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    const upserted = await coll.updateOne(
      { k: 1 },
      { $currentDate: { t: { $type: 'timestamp' } }, $setOnInsert: { n: 0 } },
      { upsert: true },
    );
    expect((await coll.findOne({ _id: upserted.upsertedId! }))?.t).toBeInstanceOf(Timestamp);
    await expect(
      coll.updateOne({ _id: 1 } as Document, { $currentDate: { at: true }, $set: { at: 1 } }),
    ).rejects.toMatchObject({ code: 40 });
    await expect(
      coll.updateOne(
        { _id: 1 } as Document,
        { $currentDate: { at: { $type: 'day' } } } as Document,
      ),
    ).rejects.toMatchObject({ code: 2 });
  });

  it('refuses to change _id', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, v: 1 } as Document);
    await expect(
      coll.updateOne({ _id: 1 } as Document, { $set: { _id: 2 } }),
    ).rejects.toMatchObject({ code: 66 });
    await expect(coll.replaceOne({ _id: 1 } as Document, { _id: 3, v: 2 })).rejects.toMatchObject({
      code: 66,
    });
  });

  it('accepts $set of the unchanged _id, and _id in $set/$setOnInsert of an upsert insert', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, a: 1 } as Document);
    const same = await coll.updateOne({ _id: 1 } as Document, { $set: { _id: 1, a: 2 } });
    expect(same).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    const onlyId = await coll.updateOne({ _id: 1 } as Document, { $set: { _id: 1 } });
    expect(onlyId).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    expect(await coll.findOne({ _id: 1 } as Document)).toEqual({ _id: 1, a: 2 });

    await coll.updateOne({ k: 'a' }, { $setOnInsert: { _id: 'custom', v: 1 } }, { upsert: true });
    await coll.updateOne({ k: 'b' }, { $set: { _id: 'viaSet', v: 2 } }, { upsert: true });
    expect(await coll.find({ k: { $exists: true } }).toArray()).toEqual([
      { _id: 'custom', k: 'a', v: 1 },
      { _id: 'viaSet', k: 'b', v: 2 },
    ]);
    await expect(
      coll.updateOne({ _id: 7 } as Document, { $set: { _id: 8 } }, { upsert: true }),
    ).rejects.toMatchObject({ code: 66 });
  });

  it('refuses an update whose operator does not fit the document, whole, as MongoDB does', async () => {
    const coll = fresh();
    const original = { _id: 1, cnt: 0, applied: null, s: 'str', n: 7, o: { x: 5 } };
    await coll.insertOne(original as Document);
    const refused: Array<[Document, number, string]> = [
      [
        { $inc: { cnt: 1 }, $push: { applied: { $each: ['m1'] } } },
        2,
        "The field 'applied' must be an array but is of type null in document {_id: 1}",
      ],
      [
        { $inc: { s: 1 }, $set: { seen: true } },
        14,
        "Cannot apply $inc to a value of non-numeric type. {_id: 1} has the field 's' of non-numeric type string",
      ],
      [
        { $mul: { applied: 2 } },
        14,
        "Cannot apply $mul to a value of non-numeric type. {_id: 1} has the field 'applied' of non-numeric type null",
      ],
      [
        { $addToSet: { n: 1 } },
        2,
        "Cannot apply $addToSet to non-array field. Field named 'n' has non-array type int",
      ],
      [{ $pull: { n: 1 } }, 2, 'Cannot apply $pull to a non-array value'],
      [{ $set: { 's.x': 1 } }, 28, 'Cannot create field \'x\' in element {s: "str"}'],
      [{ $inc: { 'o.x.y': 1 } }, 28, "Cannot create field 'y' in element {x: 5}"],
      [{ $inc: { cnt: 'a' } }, 14, 'Cannot increment with non-numeric argument: {cnt: "a"}'],
    ];
    for (const [update, code, message] of refused)
      await expect(coll.updateOne({ _id: 1 } as Document, update)).rejects.toMatchObject({
        code,
        message,
      });
    expect(await coll.findOne({ _id: 1 } as Document)).toEqual(original);
    // Unreachable paths are left alone by the operators that do not create them.
    await coll.updateOne(
      { _id: 1 } as Document,
      { $pull: { 's.x': 1 }, $unset: { 'n.y': '' } } as Document,
    );
    expect(await coll.findOne({ _id: 1 } as Document)).toEqual(original);
  });

  it('applies $push and $pull as MongoDB does: missing fields, duplicates, nested paths', async () => {
    const coll = fresh();
    await coll.insertMany([
      { _id: 1, list: ['a'], nums: [1, new Double(1), 2, 1.5, NaN], o: { x: 1 } },
      { _id: 2, list: 'not an array', nested: null },
    ] as Document[]);
    const update = async (filter: Document, change: Document) =>
      (await coll.updateOne(filter, change)).modifiedCount;
    // A value is appended as it is, duplicates kept; a missing field (nested too) is created.
    expect(await update({ _id: 1 }, { $push: { list: 'a', 'o.seen': { status: 'sent' } } })).toBe(
      1,
    );
    expect(await update({ _id: 1 }, { $push: { list: { $each: ['b', 'a'] }, fresh: 7 } })).toBe(1);
    // An empty $each leaves an array as it is but creates a missing field.
    expect(await update({ _id: 1 }, { $push: { list: { $each: [] } } })).toBe(0);
    expect(await update({ _id: 1 }, { $push: { 'o.empty': { $each: [] } } })).toBe(1);
    // $pull removes every equal element (1 and 1.0, NaN and NaN); a missing field stays missing.
    expect(await update({ _id: 1 }, { $pull: { nums: 1, missing: 1, 'no.such': 1 } })).toBe(1);
    expect(await update({ _id: 1 }, { $pull: { list: { $in: ['a', 'zz'] }, nums: NaN } })).toBe(1);
    expect(await update({ _id: 1 }, { $pull: { list: 'zz', absent: { $in: [1] } } })).toBe(0);
    expect(await coll.findOne({ _id: 1 } as Document)).toEqual({
      _id: 1,
      list: ['b'],
      nums: [2, 1.5],
      o: { x: 1, seen: [{ status: 'sent' }], empty: [] },
      fresh: [7],
    });
    // A target that is not an array is error 2, and nothing of the update applies.
    const refused: Array<[Document, string]> = [
      [
        { $push: { list: 'x' }, $set: { touched: true } },
        "The field 'list' must be an array but is of type string in document {_id: 2}",
      ],
      [
        { $push: { nested: { $each: ['x'] } } },
        "The field 'nested' must be an array but is of type null in document {_id: 2}",
      ],
      [
        { $pull: { list: { $in: ['x'] } }, $set: { touched: true } },
        'Cannot apply $pull to a non-array value',
      ],
      [{ $pull: { nested: 'x' } }, 'Cannot apply $pull to a non-array value'],
    ];
    for (const [change, message] of refused)
      await expect(coll.updateOne({ _id: 2 } as Document, change)).rejects.toMatchObject({
        code: 2,
        message,
      });
    expect(await coll.findOne({ _id: 2 } as Document)).toEqual({
      _id: 2,
      list: 'not an array',
      nested: null,
    });
  });

  it("applies the send pipeline's $push and $pull forms (upserts, returned documents)", async () => {
    const coll = fresh();
    // The stats' marked upsert: $setOnInsert, $inc and $push $each, unless a marker is applied.
    const marked = (markers: string[]) =>
      coll.updateOne(
        { _id: 'bucket', applied: { $nin: markers } } as Document,
        {
          $setOnInsert: { day: 'd' },
          $inc: { sent: 1 },
          $push: { applied: { $each: markers } },
        } as Document,
        { upsert: true },
      );
    expect((await marked(['m1', 'm2'])).upsertedCount).toBe(1);
    expect((await marked(['m3'])).modifiedCount).toBe(1);
    await expect(marked(['m3'])).rejects.toMatchObject({ code: 11000 });
    await coll.updateOne(
      { _id: 'bucket' } as Document,
      {
        $pull: { applied: { $in: ['m1', 'm3'] } },
      } as Document,
    );
    expect(await coll.findOne({ _id: 'bucket' } as Document)).toEqual({
      _id: 'bucket',
      day: 'd',
      sent: 2,
      applied: ['m2'],
    });
    // A message state's forward move: $set of the status and a pending entry, $push of the path.
    await coll.insertOne({ _id: 'state', status: 'pending', path: ['pending'] } as Document);
    const before = await coll.findOneAndUpdate(
      { _id: 'state', status: { $in: ['pending'] } } as Document,
      { $set: { status: 'sent', 'pending.sent': {} }, $push: { path: 'sent' } } as Document,
      { returnDocument: 'before' },
    );
    expect(before).toEqual({ _id: 'state', status: 'pending', path: ['pending'] });
    expect(await coll.findOne({ _id: 'state' } as Document)).toEqual({
      _id: 'state',
      status: 'sent',
      path: ['pending', 'sent'],
      pending: { sent: {} },
    });
  });

  it('stops a multi-update and an ordered bulk write at the document that fails', async () => {
    const coll = fresh();
    await coll.insertMany([
      { _id: 1, n: 1 },
      { _id: 2, n: 'x' },
      { _id: 3, n: 3 },
    ] as Document[]);
    await expect(coll.updateMany({}, { $inc: { n: 1 } })).rejects.toMatchObject({ code: 14 });
    expect((await coll.find().toArray()).map((d) => d.n)).toEqual([2, 'x', 3]);
    const bulk = coll.bulkWrite([
      { updateOne: { filter: { _id: 1 }, update: { $inc: { n: 1 } } } },
      { updateOne: { filter: { _id: 2 }, update: { $push: { n: 1 } } } },
      { updateOne: { filter: { _id: 3 }, update: { $inc: { n: 1 } } } },
    ] as never);
    await expect(bulk).rejects.toMatchObject({
      writeErrors: [expect.objectContaining({ index: 1, code: 2 })],
    });
    expect((await coll.find().toArray()).map((d) => d.n)).toEqual([3, 'x', 3]);
  });

  it('keeps Decimal128 values exact in updates and unique indexes', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, price: Decimal128.fromString('0.1') } as Document);
    const set = await coll.updateOne({ _id: 1 } as Document, {
      $set: { price: Decimal128.fromString('0.10000000000000000001') },
    });
    expect(set.modifiedCount).toBe(1);
    expect(String((await coll.findOne({ _id: 1 } as Document))?.price)).toBe(
      '0.10000000000000000001',
    );
    const unique = fresh();
    await unique.createIndex({ d: 1 }, { unique: true });
    await unique.insertMany([
      { d: Decimal128.fromString('0.1') },
      { d: Decimal128.fromString('0.1000000000000000000001') },
    ]);
    await expect(unique.insertOne({ d: Decimal128.fromString('0.10') })).rejects.toMatchObject({
      code: 11000,
    });
  });

  it('sorts Decimal128 values by exact value among doubles', async () => {
    const coll = fresh();
    await coll.insertMany([
      { _id: 1, v: Decimal128.fromString('1.0000000000000000000001') },
      { _id: 2, v: 1 },
      { _id: 3, v: Decimal128.fromString('0.9999999999999999999999') },
      { _id: 4, v: Decimal128.fromString('0.1') },
      { _id: 5, v: 0.1 }, // exactly 0.1000000000000000055511151231257827...
    ] as Document[]);
    const sorted = await coll.find().sort({ v: 1 }).toArray();
    expect(sorted.map((d) => d._id)).toEqual([4, 5, 3, 2, 1]);
    expect(await coll.countDocuments({ v: 1 })).toBe(1);
  });

  it('matches ranges across numeric types by value: Decimal128, Longs past 2^53, doubles', async () => {
    const coll = fresh();
    await coll.insertMany([
      { _id: 1, v: Decimal128.fromString('2') },
      { _id: 2, v: 3 },
      { _id: 3, v: Decimal128.fromString('10') },
      { _id: 4, v: Long.fromString('9007199254740993') },
      { _id: 5, v: 1.5 },
      { _id: 6, v: [Decimal128.fromString('0.5'), 'x'] },
      { _id: 7, v: '5' },
    ] as Document[]);
    const ids = async (filter: Document) =>
      (await coll.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ v: { $lt: Decimal128.fromString('10') } })).toEqual([1, 2, 5, 6]);
    expect(await ids({ v: { $gt: 2 } })).toEqual([2, 3, 4]);
    expect(await ids({ v: { $gte: Decimal128.fromString('2') } })).toEqual([1, 2, 3, 4]);
    expect(await ids({ v: { $lte: 9007199254740992 } })).toEqual([1, 2, 3, 5, 6]);
    expect(await ids({ v: { $gt: Long.fromString('9007199254740992') } })).toEqual([4]);
    expect(await ids({ v: { $gt: 1, $lt: 3 } })).toEqual([1, 5]);
    expect(await coll.countDocuments({ v: { $lt: Decimal128.fromString('2.5') } })).toBe(3);
  });

  it('matches no range with a NaN but $gte/$lte NaN, a double NaN as a Decimal128 one', async () => {
    const coll = fresh();
    await coll.insertMany([
      { _id: 1, v: NaN },
      { _id: 2, v: 5 },
      { _id: 3, v: Decimal128.fromString('NaN') },
      { _id: 4, v: [NaN, 20] },
    ] as Document[]);
    const ids = async (filter: Document) =>
      (await coll.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ v: { $gte: 1 } })).toEqual([2, 4]);
    expect(await ids({ v: { $lte: 10 } })).toEqual([2]);
    expect(await ids({ v: { $lt: 100 } })).toEqual([2, 4]);
    expect(await ids({ v: { $gte: NaN } })).toEqual([1, 3, 4]);
    expect(await ids({ v: { $gt: NaN } })).toEqual([]);
    expect(await coll.countDocuments({ v: { $lte: 5 } })).toBe(1);
  });

  it('matches equality and $in across numeric types by value, whatever else the filter holds', async () => {
    const coll = fresh();
    await coll.insertMany([
      { _id: 1, v: Decimal128.fromString('1'), t: 'x' },
      { _id: 2, v: 1, t: 'x' },
      { _id: 3, v: Long.fromString('9007199254740993'), t: 'x' },
      { _id: 4, v: [Decimal128.fromString('2'), 5], t: 'x' },
      { _id: 5, v: 1.5, t: 'x' },
    ] as Document[]);
    const ids = async (filter: Document) =>
      (
        await coll
          .find({ ...filter, t: /x/ })
          .sort({ _id: 1 })
          .toArray()
      ).map((d) => d._id);
    expect(await ids({ v: 1 })).toEqual([1, 2]);
    expect(await ids({ v: { $eq: Decimal128.fromString('1.0') } })).toEqual([1, 2]);
    expect(await ids({ v: { $in: [2, Long.fromString('9007199254740993')] } })).toEqual([3, 4]);
    expect(await ids({ v: { $ne: 1 } })).toEqual([3, 4, 5]);
    expect(await ids({ v: { $nin: [Decimal128.fromString('1.5'), 1] } })).toEqual([3, 4]);
    expect(await coll.countDocuments({ v: 1, t: /x/ })).toBe(2);
  });

  it('computes $inc and $mul on Decimal128 and Long exactly', async () => {
    const coll = fresh();
    await coll.insertOne({
      _id: 1,
      d: Decimal128.fromString('1.5'),
      p: Decimal128.fromString('0.1'),
      l: Long.fromString('9007199254740995'),
      max: Long.MAX_VALUE,
    } as Document);
    await coll.updateOne({ _id: 1 } as Document, {
      $inc: { d: 1, l: 1, fresh: Decimal128.fromString('0.5') },
      $mul: { p: Decimal128.fromString('3') },
    });
    const after = await coll.findOne({ _id: 1 } as Document, { promoteLongs: false });
    expect([after?.d, after?.p, after?.l, after?.fresh].map(String)).toEqual([
      '2.5',
      '0.3',
      '9007199254740996',
      '0.5',
    ]);
    await expect(
      coll.updateOne({ _id: 1 } as Document, { $inc: { max: 1 } }),
    ).rejects.toMatchObject({ code: 2 });
  });

  it('refuses an upsert whose filter names an unknown operator, though nothing matches it', async () => {
    const coll = fresh();
    await expect(
      coll.updateOne({ a: { $foo: 1 } } as Document, { $set: { b: 1 } }, { upsert: true }),
    ).rejects.toMatchObject({ code: 2 });
    await expect(
      coll.findOneAndUpdate({ a: { $foo: 1 } } as Document, { $set: { b: 1 } }, { upsert: true }),
    ).rejects.toMatchObject({ code: 2 });
    expect(await coll.countDocuments()).toBe(0);
  });

  it('refuses an update path that is empty or has an empty field name with 56 EmptyFieldName', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, a: { b: 1 } } as Document);
    for (const update of [
      { $set: { 'a..b': 1 } },
      { $set: { 'a.': 1 } },
      { $inc: { '.a': 1 } },
      { $unset: { 'a..b': '' } },
      { $rename: { a: 'x..y' } },
    ] as Document[]) {
      await expect(
        coll.updateOne({ _id: 1 } as Document, update),
        JSON.stringify(update),
      ).rejects.toMatchObject({
        code: 56,
        message: expect.stringContaining('contains an empty field name, which is not allowed'),
      });
    }
    await expect(coll.updateOne({ _id: 1 } as Document, { $set: { '': 1 } })).rejects.toMatchObject(
      {
        code: 56,
        message: 'An empty update path is not valid.',
      },
    );
    await expect(
      coll.updateOne({ k: 1 }, { $setOnInsert: { 'a..b': 1 } }, { upsert: true }),
    ).rejects.toMatchObject({ code: 56 });
    expect(await coll.find().toArray()).toEqual([{ _id: 1, a: { b: 1 } }]);
  });

  it('refuses a malformed update while parsing it, also when nothing matches or the collection is missing', async () => {
    const coll = fresh();
    const missing = fresh();
    await coll.insertOne({ _id: 1, a: 1, o: { p: 1 }, list: [1] } as Document);
    const refused = async (
      update: Document | Document[],
      code: number,
      message: string,
      options = {},
    ) => {
      for (const [target, filter] of [
        [coll, { _id: 1 }],
        [coll, { _id: 'none' }],
        [missing, {}],
      ] as const) {
        const context = JSON.stringify({ update, filter, collection: target.collectionName });
        await expect(
          target.updateOne(filter as Document, update, options),
          context,
        ).rejects.toMatchObject({
          code,
          message: expect.stringContaining(message),
        });
      }
    };
    await refused({ $foo: { a: 1 } }, 9, 'Unknown modifier: $foo');
    await refused({ $set: 5 }, 9, 'Modifiers operate on fields but we found type int instead');
    await refused({ $set: { 'a..b': 1 } }, 56, 'contains an empty field name');
    await refused({ $rename: { a: 5 } }, 2, "The 'to' field for $rename must be a string");
    await refused(
      { $rename: { a: 'a' } },
      2,
      'The source and target field for $rename must differ',
    );
    await refused(
      { $rename: { o: 'o.q' } },
      2,
      'The source and target field for $rename must not be on the same path',
    );
    await refused({ $set: { a: 2 } }, 9, "The array filter for identifier 'x' was not used", {
      arrayFilters: [{ 'x.k': 1 }],
    });
    await refused(
      { $set: { a: 2 }, $inc: { a: 1 } },
      40,
      "Updating the path 'a' would create a conflict",
    );
    expect(await coll.findOne({ _id: 1 } as Document)).toEqual({
      _id: 1,
      a: 1,
      o: { p: 1 },
      list: [1],
    });
    await expect(
      missing.findOneAndUpdate({}, { $foo: { a: 1 } } as Document),
    ).rejects.toMatchObject({ code: 9 });
  });

  it('refuses operators on overlapping paths with 40 ConflictingUpdateOperators', async () => {
    const coll = fresh();
    await coll.insertOne({ _id: 1, p: 1, l: Long.fromString('9007199254740995') } as Document);
    for (const update of [
      { $set: { p: 2 }, $inc: { p: 1 } },
      { $set: { 'a.b': 1 }, $unset: { a: '' } },
      { $set: { l: 1 }, $inc: { l: Long.fromNumber(1) } },
      { $set: { 'a.b': 1, 'a-b': 2 }, $unset: { a: '' } },
    ])
      await expect(coll.updateOne({ _id: 1 } as Document, update)).rejects.toMatchObject({
        code: 40,
      });
    await expect(
      coll.updateOne({ k: 1 }, { $set: { v: 1 }, $setOnInsert: { v: 2 } }, { upsert: true }),
    ).rejects.toMatchObject({ code: 40 });
    expect(await coll.countDocuments()).toBe(1);
  });

  it('stores a $set that changes only the subtype of a Binary', async () => {
    const coll = fresh();
    const bytes = Buffer.from('0123456789abcdef');
    await coll.insertOne({ _id: 1, b: new Binary(bytes, 0) } as Document);
    const result = await coll.updateOne({ _id: 1 } as Document, {
      $set: { b: new Binary(bytes, 4) },
    });
    expect(result.modifiedCount).toBe(1);
    expect((await coll.findOne({ _id: 1 } as Document))?.b.sub_type).toBe(4);
  });

  it('deletes one or many', async () => {
    const coll = fresh();
    await coll.insertMany([{ k: 1 }, { k: 1 }, { k: 1 }, { k: 2 }]);
    expect((await coll.deleteOne({ k: 1 })).deletedCount).toBe(1);
    expect((await coll.deleteMany({ k: 1 })).deletedCount).toBe(2);
    expect(await coll.countDocuments()).toBe(1);
  });

  it('runs findOneAndUpdate / findOneAndDelete / findOneAndReplace', async () => {
    const coll = fresh();
    await coll.insertMany([
      { k: 'a', n: 1 },
      { k: 'b', n: 2 },
      { k: 'c', n: 3 },
    ]);
    const before = await coll.findOneAndUpdate({ k: 'a' }, { $inc: { n: 1 } });
    expect(before).toMatchObject({ k: 'a', n: 1 });
    const after = await coll.findOneAndUpdate(
      { k: 'a' },
      { $inc: { n: 1 } },
      { returnDocument: 'after', projection: { _id: 0 } },
    );
    expect(after).toEqual({ k: 'a', n: 3 });
    const highest = await coll.findOneAndDelete({}, { sort: { n: -1 } });
    expect(highest).toMatchObject({ n: 3 });
    expect(await coll.countDocuments()).toBe(2);
    const upserted = await coll.findOneAndUpdate(
      { k: 'z' },
      { $set: { n: 26 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(upserted).toMatchObject({ k: 'z', n: 26 });
    const replaced = await coll.findOneAndReplace(
      { k: 'z' },
      { k: 'zz' },
      { returnDocument: 'after' },
    );
    expect(replaced).toMatchObject({ k: 'zz' });
    expect(await coll.findOneAndUpdate({ k: 'missing' }, { $set: { n: 0 } })).toBeNull();
  });

  it('answers distinct and count', async () => {
    const coll = fresh();
    await coll.insertMany([{ t: ['a', 'b'] }, { t: 'b' }, { t: 'c' }, { x: 1 }]);
    expect((await coll.distinct('t')).sort()).toEqual(['a', 'b', 'c']);
    expect(await coll.countDocuments({ t: 'b' })).toBe(2);
  });

  it('compares strings by the collation a command names (strength 2: case, 1: also accents)', async () => {
    const coll = fresh();
    await coll.insertMany(
      ['Ann', 'ann', 'ANN', 'Bob', 'José', 'Jose'].map((name, i) => ({
        _id: i,
        name,
      })) as Document[],
    );
    const ci = { collation: { locale: 'en', strength: 2 } };
    const base = { collation: { locale: 'en', strength: 1 } };
    const ids = async (filter: Document, options = {}) =>
      (await coll.find(filter, options).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ name: 'ann' })).toEqual([1]);
    expect(await ids({ name: 'ann' }, ci)).toEqual([0, 1, 2]);
    expect(await ids({ name: { $in: ['bob', 'jose'] } }, ci)).toEqual([3, 5]);
    expect(await ids({ name: { $ne: 'ANN' } }, ci)).toEqual([3, 4, 5]);
    expect(await ids({ name: 'jose' }, base)).toEqual([4, 5]);
    expect(await ids({ name: /^A/ }, ci)).toEqual([0, 2]); // $regex ignores collations
    expect(await coll.countDocuments({ name: 'ann' }, ci)).toBe(3);
    expect(await coll.find({ name: 'ann' }, ci).limit(2).toArray()).toHaveLength(2);
    expect(
      (await coll.updateMany({ name: 'ann' }, { $set: { seen: true } }, ci)).modifiedCount,
    ).toBe(3);
    expect(await coll.findOneAndDelete({ name: 'BOB' }, ci)).toMatchObject({ _id: 3 });
  });

  it('matches $type against an array and against its elements', async () => {
    const coll = fresh();
    await coll.insertMany([
      { _id: 1, v: 'one' },
      { _id: 2, v: ['one', 2] },
      { _id: 3, v: [1, 2] },
      { _id: 4, v: [null] },
      { _id: 5, v: { w: ['x'] } },
      { _id: 6 },
    ] as Document[]);
    const ids = async (filter: Document) =>
      (await coll.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ v: { $type: 'string' } })).toEqual([1, 2]);
    expect(await ids({ v: { $type: ['null', 'object'] } })).toEqual([4, 5]);
    expect(await ids({ v: { $type: 'array' } })).toEqual([2, 3, 4]);
    expect(await ids({ 'v.w': { $type: 'string' } })).toEqual([5]);
    expect(await coll.countDocuments({ v: { $not: { $type: 'string' } } })).toBe(4);
  });

  it("reads $exists by its operand's truth: '' and NaN are true, 0 and null false", async () => {
    const coll = fresh();
    await coll.insertMany([{ _id: 1, v: 'x' }, { _id: 2 }, { _id: 3, v: [1] }] as Document[]);
    const ids = async (filter: Document) =>
      (await coll.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ v: { $exists: '' } })).toEqual([1, 3]);
    expect(await ids({ v: { $exists: NaN } })).toEqual([1, 3]);
    expect(await ids({ v: { $exists: 0 } })).toEqual([2]);
    expect(await ids({ v: { $exists: null } })).toEqual([2]);
    // One candidate (by _id) is judged on the decoded document, not on the bytes.
    expect(await ids({ _id: 1, v: { $exists: '' } })).toEqual([1]);
    expect(await ids({ _id: 3, v: { $not: { $exists: '' } } })).toEqual([]);
  });

  it('matches $gte and $lte null as equality to null (missing fields too), $gt and $lt null never', async () => {
    const coll = fresh();
    await coll.insertMany([
      { _id: 1, v: null },
      { _id: 2 },
      { _id: 3, v: 0 },
      { _id: 4, v: [null, 1] },
    ] as Document[]);
    const ids = async (filter: Document) =>
      (await coll.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ v: { $gte: null } })).toEqual([1, 2, 4]);
    expect(await ids({ v: { $lte: null } })).toEqual([1, 2, 4]);
    expect(await ids({ v: { $not: { $gte: null } } })).toEqual([3]);
    expect(await ids({ v: { $gt: null } })).toEqual([]);
    expect(await ids({ v: { $lt: null } })).toEqual([]);
  });

  it('compares strings in ranges by code point (UTF-8 bytes), as it sorts them: an emoji after U+FF21', async () => {
    const coll = fresh();
    // UTF-16 puts the emoji's surrogates (U+D83D...) before U+E000-U+FFFF; code points do not.
    await coll.insertMany([
      { _id: 1, v: 'a' },
      { _id: 2, v: '\uFF21' }, // fullwidth A
      { _id: 3, v: '😀' },
      { _id: 4, v: ['b', '😀'] },
    ] as Document[]);
    const ids = async (filter: Document) =>
      (await coll.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
    expect(await ids({ v: { $gt: '\uFF21' } })).toEqual([3, 4]);
    expect(await ids({ v: { $gte: '😀' } })).toEqual([3, 4]);
    expect(await ids({ v: { $lt: '😀' } })).toEqual([1, 2, 4]);
    expect(await ids({ v: { $lte: '\uFF21', $gt: 'a' } })).toEqual([2, 4]);
    expect(await coll.countDocuments({ v: { $lt: '😀' } })).toBe(3);
    expect((await coll.find().sort({ v: 1, _id: 1 }).toArray()).map((d) => d._id)).toEqual([
      1, 4, 2, 3,
    ]);
  });

  it('sorts mixed types in BSON order, and arrays by their smallest (ascending) or largest (descending) element', async () => {
    const coll = fresh();
    const at = new Date(Date.UTC(2026, 0, 1));
    const oid = new ObjectId('650000000000000000000000');
    // MongoDB's order: null < numbers < strings < objects < arrays < BinData < ObjectId < bool < Date < regex
    const mixed: Document[] = [
      { _id: 1, v: null },
      { _id: 2, v: -3 },
      { _id: 3, v: Long.fromNumber(7) },
      { _id: 4, v: 'abc' },
      { _id: 5, v: { b: 1, a: 2 } },
      { _id: 6, v: { b: 2 } }, // field order counts: { b: 1, a: 2 } < { b: 2 }
      { _id: 7, v: new Binary(Buffer.from('xyz')) },
      { _id: 8, v: oid },
      { _id: 9, v: false },
      { _id: 10, v: at },
      { _id: 11, v: /re/ },
    ];
    await coll.insertMany([...mixed].reverse());
    const ascending = mixed.map((doc) => doc._id);
    const ids = (docs: Document[]) => docs.map((doc) => doc._id);
    expect(ids(await coll.find().sort({ v: 1 }).toArray())).toEqual(ascending);
    expect(ids(await coll.find().sort({ v: -1 }).limit(20).toArray())).toEqual(
      [...ascending].reverse(),
    );
    expect(ids(await coll.aggregate([{ $sort: { v: 1 } }]).toArray())).toEqual(ascending);
    // Ranges match only their operand's type bracket.
    const matching = async (filter: Document) =>
      ids(await coll.find(filter).sort({ _id: 1 }).toArray());
    expect(await matching({ v: { $gt: 5 } })).toEqual([3]);
    expect(await matching({ v: { $lt: 'b' } })).toEqual([4]);
    expect(await matching({ v: { $gte: new ObjectId('000000000000000000000000') } })).toEqual([8]);
    expect(await matching({ v: { $lt: new Date(8.64e15) } })).toEqual([10]);
    expect(await matching({ v: { $gte: { a: 0 } } })).toEqual([5, 6]);

    const arrays = fresh();
    await arrays.insertMany([
      { _id: 'a', v: [1, 10] },
      { _id: 'b', v: 5 },
      { _id: 'c', v: [3, 4] },
      { _id: 'd', v: [] }, // below null and missing
      { _id: 'e' },
      { _id: 'f', v: ['x', 2] }, // a number and a string: the number is its smallest
    ] as Document[]);
    for (const page of [{}, { limit: 10 }]) {
      expect(ids(await arrays.find({}, page).sort({ v: 1 }).toArray())).toEqual([
        'd',
        'e',
        'a',
        'f',
        'c',
        'b',
      ]);
      expect(ids(await arrays.find({}, page).sort({ v: -1 }).toArray())).toEqual([
        'f',
        'a',
        'b',
        'c',
        'e',
        'd',
      ]);
    }
    expect(
      ids(
        await arrays
          .find({ v: { $gt: 3 } })
          .sort({ _id: 1 })
          .toArray(),
      ),
    ).toEqual(['a', 'b', 'c']);
    expect(ids(await arrays.aggregate([{ $sort: { v: -1 } }]).toArray())).toEqual([
      'f',
      'a',
      'b',
      'c',
      'e',
      'd',
    ]);
  });

  it('adds to a set an embedded document that differs only in field order, as MongoDB compares them', async () => {
    const coll = target.db.collection<{
      _id: number;
      set?: Array<Document | number | Long>;
      nested?: Document;
    }>(`crud_${counter++}`);
    await coll.insertOne({ _id: 1, set: [{ a: 1, b: 2 }, 1] });
    await coll.updateOne({ _id: 1 }, { $addToSet: { set: { b: 2, a: 1 } } });
    await coll.updateOne(
      { _id: 1 },
      {
        $addToSet: {
          set: { $each: [{ a: 1, b: 2 }, { c: 3 }, { c: 3 }, 1.0, Long.fromNumber(1)] },
        },
      },
    );
    const upsert = await coll.updateOne(
      { _id: 2 },
      {
        $addToSet: {
          'nested.set': {
            $each: [
              { y: 1, x: 2 },
              { x: 2, y: 1 },
            ],
          },
        },
      },
      { upsert: true },
    );
    expect(upsert.upsertedCount).toBe(1);
    const unchanged = await coll.updateOne({ _id: 1 }, { $addToSet: { set: { c: 3 } } });
    expect(unchanged.modifiedCount).toBe(0);
    // Field order is part of a document's value: compare the stored JSON, not deep equality.
    const stored = await coll.find().sort({ _id: 1 }).toArray();
    expect(JSON.stringify(stored)).toBe(
      JSON.stringify([
        { _id: 1, set: [{ a: 1, b: 2 }, 1, { b: 2, a: 1 }, { c: 3 }] },
        {
          _id: 2,
          nested: {
            set: [
              { y: 1, x: 2 },
              { x: 2, y: 1 },
            ],
          },
        },
      ]),
    );
  });

  it('round-trips BSON types', async () => {
    const coll = fresh();
    const doc = {
      _id: new ObjectId(),
      when: new Date('2024-01-02T03:04:05.678Z'),
      price: Decimal128.fromString('12.345'),
      blob: new Binary(Buffer.from([1, 2, 3]), 0),
      big: Long.fromString('9007199254740993'),
      nested: { list: [1, 'two', null, { deep: true }] },
    };
    await coll.insertOne(doc);
    const found = await coll.findOne({ _id: doc._id });
    expect(found?._id.equals(doc._id)).toBe(true);
    expect(found?.when).toEqual(doc.when);
    expect(found?.price.toString()).toBe('12.345');
    expect(Buffer.from((found?.blob as Binary).buffer)).toEqual(Buffer.from([1, 2, 3]));
    expect(String(found?.big)).toBe('9007199254740993');
    expect(found?.nested).toEqual(doc.nested);
    expect(await coll.countDocuments({ when: { $gt: new Date('2024-01-01') } })).toBe(1);
    expect(await coll.countDocuments({ _id: { $in: [new ObjectId(doc._id.toHexString())] } })).toBe(
      1,
    );
  });
});

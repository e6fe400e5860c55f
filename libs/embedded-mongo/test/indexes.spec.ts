import { ObjectId, type Document } from 'mongodb';
import { startTarget, usingRealMongo, type TestTarget } from './harness';

describe('unique and secondary indexes', () => {
  let target: TestTarget;
  let counter = 0;
  const fresh = () => target.db.collection(`idx_${counter++}`);

  beforeAll(async () => {
    target = await startTarget({ ttlMonitorIntervalMs: 200 });
  });
  afterAll(() => target.close());

  it('rejects a duplicate on a single-field unique index with E11000', async () => {
    const coll = fresh();
    await coll.createIndex({ email: 1 }, { unique: true });
    await coll.insertOne({ email: 'x@y' });
    const error = await coll.insertOne({ email: 'x@y' }).catch((e) => e);
    expect(error).toMatchObject({
      code: 11000,
      keyPattern: { email: 1 },
      keyValue: { email: 'x@y' },
    });
    expect(error.message).toContain(
      `E11000 duplicate key error collection: ${coll.dbName}.${coll.collectionName} index: email_1 dup key: { email: "x@y" }`,
    );
  });

  it('reports writeErrors for unordered bulk inserts and keeps the good ones', async () => {
    const coll = fresh();
    await coll.createIndex({ k: 1 }, { unique: true });
    const error = await coll
      .insertMany([{ k: 1 }, { k: 1 }, { k: 2 }], { ordered: false })
      .catch((e) => e);
    expect(error.code).toBe(11000);
    expect(error.writeErrors).toHaveLength(1);
    expect(await coll.countDocuments()).toBe(2);
  });

  it('rejects updates and upserts that would duplicate a key, leaving the stored document intact', async () => {
    const coll = fresh();
    await coll.createIndex({ k: 1 }, { unique: true });
    await coll.insertMany([
      { k: 1, v: 'one' },
      { k: 2, v: 'two' },
    ]);
    await expect(coll.updateOne({ k: 2 }, { $set: { k: 1, v: 'changed' } })).rejects.toMatchObject({
      code: 11000,
    });
    expect(await coll.findOne({ k: 2 }, { projection: { _id: 0 } })).toEqual({ k: 2, v: 'two' });
    await expect(
      coll.updateOne({ v: 'three' }, { $set: { k: 1 } }, { upsert: true }),
    ).rejects.toMatchObject({ code: 11000 });
    await expect(coll.findOneAndUpdate({ k: 2 }, { $set: { k: 1 } })).rejects.toMatchObject({
      code: 11000,
    });
  });

  it('enforces compound unique indexes on the combination only', async () => {
    const coll = fresh();
    await coll.createIndex({ tenant: 1, email: 1 }, { unique: true });
    await coll.insertMany([
      { tenant: 'a', email: 'x' },
      { tenant: 'b', email: 'x' },
    ]);
    const error = await coll.insertOne({ tenant: 'a', email: 'x' }).catch((e) => e);
    expect(error).toMatchObject({ code: 11000, keyValue: { tenant: 'a', email: 'x' } });
  });

  it('enforces partial unique indexes only inside the filter', async () => {
    const coll = fresh();
    await coll.createIndex(
      { phone: 1 },
      { unique: true, partialFilterExpression: { active: true } },
    );
    await coll.insertMany([
      { phone: '1', active: false },
      { phone: '1', active: false },
      { phone: '1', active: true },
    ]);
    await expect(coll.insertOne({ phone: '1', active: true })).rejects.toMatchObject({
      code: 11000,
    });
  });

  it('enforces a unique index by its collation: case-insensitive, or also accent-insensitive', async () => {
    const coll = fresh();
    await coll.createIndex(
      { tenant: 1, email: 1 },
      { unique: true, collation: { locale: 'en', strength: 2 } },
    );
    await coll.insertMany([
      { _id: 1, tenant: 't', email: 'Ann@x.io' },
      { _id: 2, tenant: 't', email: 'bob@x.io' },
      { _id: 3, tenant: 'u', email: 'ann@x.io' }, // another tenant: no duplicate
    ] as Document[]);
    await expect(coll.insertOne({ tenant: 't', email: 'ann@X.IO' })).rejects.toMatchObject({
      code: 11000,
    });
    await expect(
      coll.updateOne({ _id: 2 } as Document, { $set: { email: 'ANN@x.io' } }),
    ).rejects.toMatchObject({ code: 11000 });
    // A query without the collation compares as usual, through the index or not.
    expect(await coll.countDocuments({ tenant: 't', email: 'Ann@x.io' })).toBe(1);
    expect(await coll.countDocuments({ tenant: 't', email: 'ann@x.io' })).toBe(0);

    const accents = fresh();
    await accents.createIndex(
      { name: 1 },
      { unique: true, collation: { locale: 'fr', strength: 1 } },
    );
    await accents.insertOne({ name: 'José' });
    await expect(accents.insertOne({ name: 'jose' })).rejects.toMatchObject({ code: 11000 });
  });

  it('lets sparse unique indexes hold many documents without the field', async () => {
    const coll = fresh();
    await coll.createIndex({ nick: 1 }, { unique: true, sparse: true });
    await coll.insertMany([{ a: 1 }, { a: 2 }, { nick: 'n' }]);
    await expect(coll.insertOne({ nick: 'n' })).rejects.toMatchObject({ code: 11000 });
    const plain = fresh();
    await plain.createIndex({ nick: 1 }, { unique: true });
    await plain.insertOne({ a: 1 });
    await expect(plain.insertOne({ a: 2 })).rejects.toMatchObject({ code: 11000 }); // missing = null
  });

  it('keys an empty array as undefined in a unique index: not null or missing, but one [] per key', async () => {
    const coll = fresh();
    await coll.createIndex({ tags: 1 }, { unique: true });
    await coll.insertMany([{ tags: [] }, {}]); // [] is keyed undefined, a missing field null
    const error = await coll.insertOne({ tags: [] }).catch((e) => e);
    expect(error).toMatchObject({ code: 11000, keyPattern: { tags: 1 } });
    expect(error.message).toContain('dup key: { tags: undefined }');
    await coll.insertOne({ tags: ['x'] });
    expect(await coll.countDocuments({ tags: null })).toBe(1);

    const sparse = fresh(); // a sparse index holds [] (the field is there)
    await sparse.createIndex({ 'a.b': 1 }, { unique: true, sparse: true });
    await sparse.insertMany([{ a: [] }, { c: 1 }, { c: 2 }]);
    expect((await sparse.insertOne({ a: [] }).catch((e) => e)).code).toBe(11000);
  });

  it('treats numbers of equal value as the same key', async () => {
    const coll = fresh();
    await coll.createIndex({ n: 1 }, { unique: true });
    await coll.insertOne({ n: 1 });
    await expect(coll.insertOne({ n: 1.0 })).rejects.toMatchObject({ code: 11000 });
  });

  it('refuses to build a unique index over existing duplicates', async () => {
    const coll = fresh();
    await coll.insertMany([{ d: 1 }, { d: 1 }]);
    await expect(coll.createIndex({ d: 1 }, { unique: true })).rejects.toMatchObject({
      code: 11000,
    });
  });

  it('turns 20 concurrent upserts on a unique key into one document', async () => {
    const coll = fresh();
    await coll.createIndex({ key: 1 }, { unique: true });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        coll.updateOne({ key: 'same' }, { $set: { last: i }, $inc: { hits: 1 } }, { upsert: true }),
      ),
    );
    expect(await coll.countDocuments()).toBe(1);
    expect((await coll.findOne({ key: 'same' }))?.hits).toBe(20);
  });

  it('answers indexed equality and $in queries correctly', async () => {
    const coll = fresh();
    await coll.createIndex({ tag: 1 });
    await coll.insertMany(
      Array.from({ length: 200 }, (_, i) => ({ i, tag: `t${i % 10}`, tags: [`a${i % 3}`, 'all'] })),
    );
    await coll.createIndex({ tags: 1 });
    expect(await coll.countDocuments({ tag: 't3' })).toBe(20);
    expect(await coll.countDocuments({ tag: { $in: ['t1', 't2'] }, i: { $lt: 100 } })).toBe(20);
    expect(await coll.countDocuments({ tags: 'a1' })).toBe(67);
    await coll.updateMany({ tag: 't3' }, { $set: { tag: 'moved' } });
    expect(await coll.countDocuments({ tag: 't3' })).toBe(0);
    expect(await coll.countDocuments({ tag: 'moved' })).toBe(20);
    await coll.deleteMany({ tag: 'moved' });
    expect(await coll.countDocuments({ tag: 'moved' })).toBe(0);
  });

  it('pages by an _id cursor, within the cursor type bracket, through writes between pages', async () => {
    const coll = target.db.collection<{ _id: ObjectId | number | string; session: string }>(
      `idx_${counter++}`,
    );
    await coll.createIndex({ session: 1, status: 1 });
    const at = (i: number, n = 0) =>
      new ObjectId((1_700_000_000 + i).toString(16) + n.toString(16).padStart(16, '0'));
    let stored = Array.from({ length: 300 }, (_, i) => ({ _id: at(i), session: `s${i % 3}` }));
    await coll.insertMany(stored.map((doc) => ({ ...doc })));
    await coll.insertMany([
      { _id: 7, session: 's1' }, // other types: outside an ObjectId range
      { _id: 'x', session: 's1' },
    ]);
    const pageBefore = async (cursor: ObjectId) =>
      (
        await coll
          .find({ session: 's1', _id: { $lt: cursor } })
          .sort({ _id: -1 })
          .limit(20)
          .toArray()
      ).map((doc) => (doc._id as ObjectId).toHexString());
    const expected = (cursor: ObjectId) =>
      stored
        .filter((doc) => doc.session === 's1' && doc._id.toHexString() < cursor.toHexString())
        .map((doc) => doc._id.toHexString())
        .sort()
        .reverse()
        .slice(0, 20);
    const first = await pageBefore(at(200));
    expect(first).toEqual(expected(at(200)));
    // Writes after the first page: the next one sees them.
    await coll.deleteOne({ _id: at(139) });
    await coll.insertOne({ _id: at(138, 1), session: 's1' });
    stored = [
      ...stored.filter((doc) => !doc._id.equals(at(139))),
      { _id: at(138, 1), session: 's1' },
    ];
    const cursor = new ObjectId(first[first.length - 1]);
    expect(await pageBefore(cursor)).toEqual(expected(cursor));
    expect(await coll.countDocuments({ _id: { $gt: at(10), $lte: at(20) } })).toBe(10);
    expect(await coll.find({ _id: { $gte: 7 } }).toArray()).toEqual([{ _id: 7, session: 's1' }]);
  });

  it('pages newest first by a (time, _id) keyset cursor with its count, ties and other types included', async () => {
    const coll = target.db.collection<{ _id: string; org: string; at?: unknown }>(
      `idx_${counter++}`,
    );
    await coll.createIndex({ org: 1, at: -1, _id: -1 });
    const day = Date.UTC(2026, 0, 1);
    // 1,200 messages of org 'a' over 40 distinct seconds (ties), ids out of time order.
    const stored = Array.from({ length: 1500 }, (_, i) => ({
      _id: `${((i * 7919) % 1500).toString(36).padStart(3, '0')}-${i}`,
      org: i % 5 === 0 ? 'b' : 'a',
      at: new Date(day + ((i * 31) % 40) * 1000),
    }));
    await coll.insertMany(stored.map((doc) => ({ ...doc })));
    // Times of other types: outside the cursor's Date bracket.
    await coll.insertMany([
      { _id: 'n', org: 'a', at: 5 },
      { _id: 'm', org: 'a' },
    ]);
    const newestFirst = (a: { _id: string; at: Date }, b: { _id: string; at: Date }) =>
      b.at.getTime() - a.at.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0);
    const ofA = stored.filter((doc) => doc.org === 'a').sort(newestFirst);
    const olderThan = (anchor: { _id: string; at: Date }) => ({
      org: 'a',
      $and: [{ $or: [{ at: { $lt: anchor.at } }, { at: anchor.at, _id: { $lt: anchor._id } }] }],
    });
    let anchor = ofA[0];
    for (let page = 0; page < 3; page++) {
      const filter = olderThan(anchor);
      const items = await coll.find(filter).sort({ at: -1, _id: -1 }).limit(50).toArray();
      const from = ofA.indexOf(anchor) + 1;
      expect(items).toEqual(ofA.slice(from, from + 50));
      expect(await coll.countDocuments(filter)).toBe(ofA.length - from);
      anchor = ofA[from + 49 + page * 300];
    }
  });

  it('expires documents through a TTL index', async () => {
    if (usingRealMongo) return; // mongod's TTL monitor runs only once a minute
    const coll = fresh();
    await coll.createIndex({ createdAt: 1 }, { expireAfterSeconds: 1 });
    await coll.insertMany([
      { createdAt: new Date(Date.now() - 5_000) },
      { createdAt: new Date(Date.now() + 60_000) },
      { createdAt: 'not a date' } as Document,
    ]);
    await vi.waitFor(async () => expect(await coll.countDocuments()).toBe(2), {
      timeout: 3_000,
      interval: 100,
    });
  });

  it('expires through a partial TTL index only the documents its filter holds', async () => {
    if (usingRealMongo) return; // mongod's TTL monitor runs only once a minute
    const coll = fresh();
    await coll.createIndex(
      { createdAt: 1 },
      { expireAfterSeconds: 1, partialFilterExpression: { verified: false } },
    );
    const old = new Date(Date.now() - 5_000);
    await coll.insertMany([
      { _id: 'unverified', createdAt: old, verified: false },
      { _id: 'verified', createdAt: old, verified: true },
      { _id: 'no flag', createdAt: old },
    ] as Document[]);
    await vi.waitFor(async () => expect(await coll.countDocuments({ verified: false })).toBe(0), {
      timeout: 3_000,
      interval: 100,
    });
    expect(await coll.distinct('_id')).toEqual(['verified', 'no flag']);
  });
});

import { startTarget, usingRealMongo, type TestTarget } from './harness';

describe('server and admin commands', () => {
  let target: TestTarget;
  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(() => target.close());

  it('answers the handshake family', async () => {
    const admin = target.client.db('admin');
    const hello = await admin.command({ hello: 1 });
    expect(hello).toMatchObject({
      isWritablePrimary: true,
      ok: 1,
      logicalSessionTimeoutMinutes: 30,
    });
    expect(hello.topologyVersion).toBeUndefined();
    expect(hello.maxBsonObjectSize).toBe(16 * 1024 * 1024);
    expect(await admin.command({ ping: 1 })).toMatchObject({ ok: 1 });
    expect((await admin.command({ buildInfo: 1 })).version).toMatch(/^\d+\.\d+/);
    expect(await admin.command({ serverStatus: 1 })).toMatchObject({ ok: 1 });
    expect(await admin.command({ connectionStatus: 1 })).toMatchObject({ ok: 1 });
    expect(await admin.command({ getParameter: 1, featureCompatibilityVersion: 1 })).toMatchObject({
      ok: 1,
    });
  });

  it('counts operations in serverStatus.opcounters as mongod does', async () => {
    const opcounters = async () =>
      (await target.client.db('admin').command({ serverStatus: 1 })).opcounters as Record<
        string,
        number
      >;
    const before = await opcounters();
    const items = target.db.collection('opcounted');
    await items.insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await items.bulkWrite([
      { updateOne: { filter: { n: 1 }, update: { $set: { seen: true } } } },
      { updateOne: { filter: { n: 9 }, update: { $set: { seen: true } }, upsert: true } },
    ]);
    await items.find({ n: { $gt: 0 } }).toArray();
    await items.deleteOne({ n: 2 });
    await items.findOneAndUpdate({ n: 3 }, { $set: { seen: true } });
    const after = await opcounters();
    // Documents inserted, update and delete statements, finds; findAndModify is a command.
    expect(after.insert - before.insert).toBe(3);
    expect(after.update - before.update).toBe(2);
    expect(after.delete - before.delete).toBe(1);
    expect(after.query - before.query).toBe(1);
    expect(after.command - before.command).toBeGreaterThanOrEqual(2); // findAndModify, serverStatus
  });

  it('counts requests in serverStatus.network.numRequests as mongod does: one per command, whatever it holds', async () => {
    const requests = async () =>
      (await target.client.db('admin').command({ serverStatus: 1 })).network.numRequests as number;
    const before = await requests();
    const items = target.db.collection('requests_counted');
    await items.insertMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await items.bulkWrite(
      [1, 2, 3].map((n) => ({ updateOne: { filter: { n }, update: { $set: { seen: true } } } })),
    );
    await items.findOne({ n: 1 });
    await expect(target.db.command({ definitelyNotACommand: 1 })).rejects.toThrow();
    // Four requests and the second serverStatus; a real server may also count its monitors' hellos.
    expect((await requests()) - before).toBeGreaterThanOrEqual(5);
    expect((await requests()) - before).toBeLessThan(20);
  });

  it('rejects unknown commands with code 59', async () => {
    await expect(target.db.command({ definitelyNotACommand: 1 })).rejects.toMatchObject({
      code: 59,
      codeName: 'CommandNotFound',
    });
  });

  it('reports unsupported query operators and stages instead of guessing', async () => {
    const coll = target.db.collection('bad_ops');
    await coll.insertOne({ a: 1 });
    await expect(coll.find({ a: { $notAnOperator: 1 } }).toArray()).rejects.toMatchObject({
      code: 2,
    });
    await expect(coll.aggregate([{ $notAStage: {} }]).toArray()).rejects.toMatchObject({
      code: 40324,
    });
  });

  it('creates, lists and drops collections and databases', async () => {
    await target.db.createCollection('made');
    await expect(target.db.createCollection('made')).rejects.toMatchObject({
      code: 48,
      codeName: 'NamespaceExists',
    });
    const names = (await target.db.listCollections().toArray()).map((c) => c.name);
    expect(names).toContain('made');
    expect(
      (await target.db.listCollections({ name: 'made' }, { nameOnly: true }).toArray()).map(
        (c) => c.name,
      ),
    ).toEqual(['made']);
    expect(await target.db.collection('made').drop()).toBe(true);
    await expect(target.db.command({ drop: 'made' })).rejects.toMatchObject({ code: 26 });
    const other = target.client.db(`${target.db.databaseName}_other`);
    await other.collection('x').insertOne({ a: 1 });
    const { databases } = await target.client.db('admin').admin().listDatabases();
    expect(databases.map((d) => d.name)).toContain(other.databaseName);
    expect(await other.dropDatabase()).toBe(true);
    expect(
      (await target.client.db('admin').admin().listDatabases()).databases.map((d) => d.name),
    ).not.toContain(other.databaseName);
  });

  it('creates, lists and drops indexes', async () => {
    const coll = target.db.collection('indexed');
    expect(await coll.createIndex({ email: 1 }, { unique: true })).toBe('email_1');
    expect(await coll.createIndex({ a: 1, b: -1 }, { name: 'ab' })).toBe('ab');
    const indexes = await coll.listIndexes().toArray();
    expect(indexes.map((i) => i.name)).toEqual(['_id_', 'email_1', 'ab']);
    expect(indexes[1]).toMatchObject({ key: { email: 1 }, unique: true });
    await coll.dropIndex('ab');
    await expect(coll.dropIndex('nope')).rejects.toMatchObject({ code: 27 });
    await coll.dropIndexes();
    expect((await coll.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
    await expect(
      target.db.collection('never_created').listIndexes().toArray(),
    ).rejects.toMatchObject({ code: 26 });
  });

  it('refuses transactions like a standalone does', async () => {
    if (usingRealMongo) return; // a replica-set MONGODB_URI would accept the transaction
    const session = target.client.startSession();
    try {
      session.startTransaction();
      // The driver rewrites mongod's code 20 reply into this hint, keeping the original error.
      const error = await target.db
        .collection('txn')
        .insertOne({ a: 1 }, { session })
        .catch((e) => e);
      expect(error.originalError).toMatchObject({ code: 20, codeName: 'IllegalOperation' });
      expect(error.message).toMatch(/does not support retryable writes/);
    } finally {
      await session.endSession();
    }
  });

  it('keeps a busy connection healthy past the 10 s heartbeat', async () => {
    const coll = target.db.collection('heartbeat');
    const deadline = Date.now() + 12_500;
    let operations = 0;
    while (Date.now() < deadline) {
      await coll.insertOne({ at: Date.now() });
      await coll.findOne({}, { sort: { at: -1 } });
      operations++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(operations).toBeGreaterThan(100);
    expect(await coll.countDocuments()).toBe(operations);
  }, 30_000);
});

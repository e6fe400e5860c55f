import mongoose, { Schema, type Connection } from 'mongoose';
import { startTarget, type TestTarget } from './harness';

interface Contact {
  owner: string;
  phone: string;
  name?: string;
  visits?: number;
}

describe('mongoose model layer', () => {
  let target: TestTarget;
  let connection: Connection;

  beforeAll(async () => {
    target = await startTarget();
    connection = await mongoose
      .createConnection(target.uri, { dbName: target.db.databaseName, autoIndex: true })
      .asPromise();
  });
  afterAll(async () => {
    await connection.close();
    await target.close();
  });

  const contactSchema = new Schema<Contact>(
    {
      owner: { type: String, required: true },
      phone: { type: String, required: true },
      name: String,
      visits: Number,
    },
    { timestamps: true },
  );
  contactSchema.index({ owner: 1, phone: 1 }, { unique: true });

  it('builds indexes and rejects a duplicate save with code 11000', async () => {
    const Contacts = connection.model<Contact>('Contact', contactSchema);
    await Contacts.init();
    await Contacts.create({ owner: 'o1', phone: '+1' });
    await expect(Contacts.create({ owner: 'o1', phone: '+1' })).rejects.toMatchObject({
      code: 11000,
    });
    await Contacts.create({ owner: 'o2', phone: '+1' });
    expect(await Contacts.countDocuments({ phone: '+1' })).toBe(2);
    expect(await Contacts.estimatedDocumentCount()).toBe(2);
  });

  it('upserts with findOneAndUpdate and aggregates', async () => {
    const Contacts = connection.model<Contact>('Contact');
    const created = await Contacts.findOneAndUpdate(
      { owner: 'o3', phone: '+3' },
      { $set: { name: 'Cat' }, $inc: { visits: 1 } },
      { upsert: true, returnDocument: 'after' },
    ).lean();
    expect(created).toMatchObject({ owner: 'o3', phone: '+3', name: 'Cat', visits: 1 });
    await Contacts.findOneAndUpdate(
      { owner: 'o3', phone: '+3' },
      { $inc: { visits: 1 } },
      { upsert: true },
    );
    const byOwner = await Contacts.aggregate<{ _id: string; visits: number }>([
      { $group: { _id: '$owner', visits: { $sum: { $ifNull: ['$visits', 0] } } } },
      { $sort: { _id: 1 } },
    ]);
    expect(byOwner).toEqual([
      { _id: 'o1', visits: 0 },
      { _id: 'o2', visits: 0 },
      { _id: 'o3', visits: 2 },
    ]);
    const found = await Contacts.find({ owner: 'o3' }).lean();
    expect(found[0].visits).toBe(2);
    expect(found[0]).toHaveProperty('createdAt');
    await Contacts.deleteMany({ owner: 'o3' });
    expect(await Contacts.exists({ owner: 'o3' })).toBeNull();
  });

  it('updates with a whole document (its _id included) as mongoose sends it', async () => {
    const Contacts = connection.model<Contact>('Contact');
    const created = await Contacts.create({ owner: 'o4', phone: '+4', visits: 1 });
    const whole = { ...created.toObject(), visits: 2 };
    expect(await Contacts.updateOne({ _id: created._id }, whole)).toMatchObject({
      matchedCount: 1,
      modifiedCount: 1,
    });
    const after = await Contacts.findOneAndUpdate(
      { _id: created._id },
      { ...whole, visits: 3 },
      { returnDocument: 'after', upsert: true },
    ).lean();
    expect(after).toMatchObject({ _id: created._id, visits: 3 });
  });
});
